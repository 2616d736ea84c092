//! Talking to the running gateway: make it reload what a transaction wrote, and ask what it
//! now serves (spec section 8). OpenClaw's own CLI does the same after `models auth order set`:
//!
//! 1. WebSocket `ws://127.0.0.1:<port>`; the server sends the event `connect.challenge`;
//! 2. `connect` with protocol 3–4, client `cli`, role `operator`, scope `operator.admin` and the
//!    gateway token (`gateway.auth.token` in the config, else `OPENCLAW_GATEWAY_TOKEN`) ->
//!    `hello-ok`;
//! 3. `models.authRefresh {operation: "update", agentId}` -> `{refreshed: true}`; a gateway
//!    without that method ("unknown method") gets `models.authStatus {refresh: true}` instead;
//! 4. the settle check asks `models.authStatus {agentId}` (no refresh) for `profileOrder`.
//!
//! Everything read from the gateway is untrusted: errors quote its message capped, and the
//! caller sanitizes before printing. The token is sent and never shown.

use crate::layout::gateway::Gateway;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// How long one call may take, connect included (`CLAWAUTH_GATEWAY_TIMEOUT`, seconds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    ws: WebSocket<TcpStream>,
    next: u64,
    deadline: Duration,
    /// The release the gateway says it runs (`hello-ok.server.version`).
    pub server_version: Option<String>,
    /// The methods it offers (`hello-ok.features.methods`), when it lists them.
    methods: Option<Vec<String>>,
}

/// A failed call: what the gateway (or the network) said, capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn err(message: impl Into<String>) -> CallError {
    CallError { code: None, message: crate::text::shorten(&message.into(), 300) }
}

/// The token OpenClaw's CLI would send: `gateway.auth.token` (a string, or `${ENV}`), else
/// `OPENCLAW_GATEWAY_TOKEN`.
pub fn token(config: Option<&Value>, ctx: &crate::context::Context) -> Option<String> {
    let from_config = config
        .and_then(|c| c.get("gateway")?.get("auth")?.get("token")?.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| match s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            Some(var) => ctx.var(var).map(str::to_owned),
            None => Some(s.to_owned()),
        });
    from_config.or_else(|| ctx.var("OPENCLAW_GATEWAY_TOKEN").map(str::to_owned)).filter(|s| !s.is_empty())
}

pub fn timeout(ctx: &crate::context::Context) -> Duration {
    ctx.var("CLAWAUTH_GATEWAY_TIMEOUT")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

impl Client {
    /// Connect and authenticate as OpenClaw's CLI does.
    pub fn connect(gw: &Gateway, token: Option<&str>, deadline: Duration) -> Result<Client, CallError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], gw.port));
        let stream = TcpStream::connect_timeout(&addr, deadline)
            .map_err(|e| err(format!("cannot reach the gateway at {}: {e}", gw.url())))?;
        stream.set_read_timeout(Some(deadline)).ok();
        stream.set_write_timeout(Some(deadline)).ok();
        stream.set_nodelay(true).ok();
        let (ws, _) = tungstenite::client::client(gw.url(), stream)
            .map_err(|e| err(format!("WebSocket handshake with {} failed: {e}", gw.url())))?;
        let mut c = Client { ws, next: 0, deadline, server_version: None, methods: None };
        // the server speaks first: the challenge
        let t0 = Instant::now();
        loop {
            let f = c.frame(t0)?;
            if f["type"] == "event" && f["event"] == "connect.challenge" {
                break;
            }
        }
        let mut auth = serde_json::Map::new();
        if let Some(t) = token {
            auth.insert("token".into(), json!(t));
        }
        let hello = c.call(
            "connect",
            json!({
                "minProtocol": 3,
                "maxProtocol": 4,
                "client": {"id": "cli", "version": env!("CARGO_PKG_VERSION"), "platform": std::env::consts::OS, "mode": "cli"},
                "auth": auth,
                "role": "operator",
                "scopes": ["operator.admin"],
            }),
        )?;
        c.server_version = hello.pointer("/server/version").and_then(Value::as_str).map(str::to_owned);
        c.methods = hello
            .pointer("/features/methods")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect());
        Ok(c)
    }

    fn frame(&mut self, t0: Instant) -> Result<Value, CallError> {
        loop {
            if t0.elapsed() > self.deadline {
                return Err(err(format!("the gateway did not answer within {:.0}s", self.deadline.as_secs_f64())));
            }
            let m = self.ws.read().map_err(|e| err(format!("reading from the gateway: {e}")))?;
            match m {
                Message::Text(t) => {
                    return serde_json::from_str(t.as_str())
                        .map_err(|e| err(format!("the gateway sent a frame that is not JSON: {e}")))
                }
                Message::Close(_) => return Err(err("the gateway closed the connection")),
                _ => continue,
            }
        }
    }

    /// One request; its `payload` on success.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, CallError> {
        self.next += 1;
        let id = format!("clawauth-{}", self.next);
        let req = json!({"type": "req", "id": id, "method": method, "params": params});
        self.ws.send(Message::text(req.to_string())).map_err(|e| err(format!("sending {method}: {e}")))?;
        let t0 = Instant::now();
        loop {
            let f = self.frame(t0)?;
            if f["type"] != "res" || f["id"] != json!(id) {
                continue; // events, ticks
            }
            if f["ok"] == json!(true) {
                return Ok(f.get("payload").cloned().unwrap_or(Value::Null));
            }
            let e = f.get("error").cloned().unwrap_or(Value::Null);
            let code = e
                .pointer("/details/code")
                .or_else(|| e.get("code"))
                .and_then(Value::as_str)
                .map(|s| crate::text::shorten(s, 60));
            let message = e.get("message").and_then(Value::as_str).unwrap_or("no message").to_string();
            return Err(CallError { code, message: crate::text::shorten(&message, 300) });
        }
    }

    fn offers(&self, method: &str) -> Option<bool> {
        self.methods.as_ref().map(|m| m.iter().any(|x| x == method))
    }

    /// Ask the gateway to re-read the auth state of `agent`. Returns the method that worked.
    pub fn reload(&mut self, agent: &str) -> Result<&'static str, CallError> {
        if self.offers("models.authRefresh") != Some(false) {
            match self.call("models.authRefresh", json!({"operation": "update", "agentId": agent})) {
                Ok(_) => return Ok("models.authRefresh"),
                Err(e) if !e.message.contains("unknown method") => return Err(e),
                Err(_) => {}
            }
        }
        self.call("models.authStatus", json!({"refresh": true, "agentId": agent})).map(|_| "models.authStatus refresh")
    }

    /// The explicit order the gateway now reads, per provider (`models.authStatus`); empty when
    /// this release does not report it.
    pub fn profile_order(&mut self, agent: &str) -> Result<BTreeMap<String, Vec<String>>, CallError> {
        let v = self.call("models.authStatus", json!({"agentId": agent}))?;
        let mut out = BTreeMap::new();
        // does this release report `profileOrder` at all? (2026.9 does, with `profileOrderStored`
        // beside it; 2026.7 has neither)
        let reports_order = self.offers("models.authRefresh").unwrap_or(true)
            || v.get("providers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| p.get("profileOrder").is_some());
        if !reports_order {
            return Ok(out);
        }
        for p in v.get("providers").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = p.get("provider").and_then(Value::as_str) else { continue };
            let order: Vec<String> = p
                .get("profileOrder")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            out.insert(name.to_owned(), order);
        }
        Ok(out)
    }
}
