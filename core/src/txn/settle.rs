//! After a transaction is applied beside a running gateway: make the gateway reload, then prove
//! the change settled — the files and rows still hold what was written, and the gateway's own
//! view (`models.authStatus` -> `profileOrder`) is the explicit order OpenClaw reads from
//! the state on disk — once right away and once more a few seconds later (a gateway that writes an
//! old in-memory copy back does so within seconds). The result is data: the caller shows it
//! and records it in the journal (`Journal::record_settle`).

use crate::context::Context;
use crate::error::Result;
use crate::layout::gateway::Gateway;
use crate::live::Client;
use crate::model::resolve::{self, Inputs, ModelScope};
use crate::model::State;
use crate::txn::docio;
use crate::txn::engine::{standing, Standing};
use crate::txn::plan::Plan;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long to wait before the second check (`CLAWAUTH_SETTLE_SECONDS`).
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Reload {
    pub agent: String,
    /// The method that made it reload, when one did.
    pub method: Option<String>,
    pub error: Option<String>,
}

/// `(expected from the state on disk, what the gateway serves)`.
pub type OrderDiff = (Vec<String>, Vec<String>);

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Check {
    /// Milliseconds after the reload.
    pub after_ms: u64,
    /// Changes no longer on disk as written (`<document> <pointer>`).
    pub files_changed: Vec<String>,
    /// Per agent and provider where the gateway's order differs: `(expected, gateway)`.
    pub gateway_differs: BTreeMap<String, BTreeMap<String, OrderDiff>>,
    /// Why the gateway's view could not be read, if it could not.
    pub gateway_error: Option<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.files_changed.is_empty() && self.gateway_differs.is_empty() && self.gateway_error.is_none()
    }

    /// Each disagreement this check found, one sentence each (untrusted text inside: the
    /// caller sanitizes).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.files_changed.iter().map(|f| format!("no longer as written: {f}")).collect();
        for (agent, providers) in &self.gateway_differs {
            for (p, (want, got)) in providers {
                out.push(format!(
                    "the gateway's {p} order for agent {agent} is [{}], the state on disk gives [{}]",
                    got.join(", "),
                    want.join(", ")
                ));
            }
        }
        out.extend(self.gateway_error.iter().map(|e| format!("could not ask the gateway: {e}")));
        out
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Settle {
    pub gateway_pid: i64,
    pub gateway_port: u16,
    pub gateway_version: Option<String>,
    /// Whether the gateway was asked to reload (not with `--no-reload`).
    pub reload_requested: bool,
    pub reloads: Vec<Reload>,
    pub checks: Vec<Check>,
    /// The gateway cannot be asked by a token-only client (a JSON-era release: no
    /// `models.authRefresh`, and its scopes are stripped without a paired device): only the
    /// files are checked; such a gateway re-reads changed stores by itself.
    #[serde(default)]
    pub reload_unsupported: bool,
    /// Every reload worked (or cannot be asked for) and every check agreed.
    pub settled: bool,
}

impl Settle {
    /// What a person should do when it did not settle.
    pub fn way_out(&self, txn: i64) -> Option<String> {
        if self.settled {
            return None;
        }
        let reload_failed = self.reloads.iter().any(|r| r.method.is_none());
        let token = self.reloads.iter().any(|r| r.error.as_deref().is_some_and(|e| e.contains("AUTH_TOKEN")));
        if token {
            return Some(
                "the gateway refused clawauth's token: clawauth sends `gateway.auth.token` from openclaw.json, else OPENCLAW_GATEWAY_TOKEN; set the gateway's token and run `clawauth undo` / re-apply, or `openclaw gateway restart`".into(),
            );
        }
        let files = self.checks.iter().any(|c| !c.files_changed.is_empty());
        Some(if files {
            format!(
                "something wrote over transaction {txn} after it was applied (the gateway's in-memory copy?): see `clawauth show {txn}`; re-apply the repair, or `clawauth undo {txn}`, or stop the gateway (`openclaw gateway stop`), repair, and start it again"
            )
        } else if reload_failed || !self.reload_requested {
            "the gateway still serves what it read before: run `openclaw gateway restart` so it reads the repaired state".to_string()
        } else {
            format!(
                "the gateway's view differs from the state on disk: run `openclaw gateway restart`, then `clawauth status`; `clawauth undo {txn}` takes the change back"
            )
        })
    }
}

pub fn recheck_delay(ctx: &Context) -> Duration {
    ctx.var("CLAWAUTH_SETTLE_SECONDS")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_RECHECK)
}

/// The explicit order OpenClaw reads, per agent and provider, from the state on disk.
fn expected_orders(state: &State, agents: &[String]) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for a in state.agents.iter().filter(|a| agents.contains(&a.paths.id)) {
        let rules = a.rules_override.unwrap_or_else(|| crate::model::release::Rules::of(a.detect_release().release));
        let inp = Inputs::new(a, state.install.config.as_ref(), rules, state.now_ms);
        let provider = a.provider_under(rules);
        let trace = resolve::resolve_order(&inp, &provider, &ModelScope::Unscoped);
        // `models.authStatus` reports the explicit order (stored, else configured), as
        // `resolveExplicitAuthOrderSelection` gives it; none when there is none
        out.entry(a.paths.id.clone())
            .or_insert_with(BTreeMap::new)
            .insert(provider, trace.explicit.unwrap_or_default());
    }
    out
}

fn check(
    state_dir: &std::path::Path,
    t0: Instant,
    plan: &Plan,
    client: Option<&mut Client>,
    agents: &[String],
    reread: &mut dyn FnMut() -> Result<State>,
) -> Check {
    let mut files_changed = vec![];
    for s in &plan.steps {
        match docio::read(&s.location, None) {
            Ok(doc) => {
                for c in &s.changes {
                    if !matches!(standing(&s.location, &doc, c), Ok(Standing::After)) {
                        files_changed.push(format!("{} {}", s.location.display(state_dir), c.pointer));
                    }
                }
            }
            Err(e) => files_changed.push(format!("{}: {e}", s.location.display(state_dir))),
        }
    }
    let mut gateway_differs = BTreeMap::new();
    let mut gateway_error = None;
    match (client, reread()) {
        (None, _) => gateway_error = Some("not connected".into()),
        (_, Err(e)) => gateway_error = Some(format!("re-reading the state: {e}")),
        (Some(c), Ok(state)) => {
            for (agent, providers) in expected_orders(&state, agents) {
                match c.profile_order(&agent) {
                    // a gateway that does not report its order (2026.7) is not compared
                    Ok(seen) if seen.is_empty() => {}
                    Ok(seen) => {
                        for (p, want) in providers {
                            let got = seen.get(&p).cloned().unwrap_or_default();
                            if got != want {
                                gateway_differs
                                    .entry(agent.clone())
                                    .or_insert_with(BTreeMap::new)
                                    .insert(p, (want, got));
                            }
                        }
                    }
                    Err(e) => gateway_error = Some(format!("models.authStatus for agent {agent}: {e}")),
                }
            }
        }
    }
    Check { after_ms: t0.elapsed().as_millis() as u64, files_changed, gateway_differs, gateway_error }
}

/// The gateway a transaction was applied beside.
pub struct Beside<'a> {
    pub state_dir: &'a std::path::Path,
    pub gateway: &'a Gateway,
    /// The token to connect with (`live::token`).
    pub token: Option<&'a str>,
}

/// Reload (unless `reload` is false) and check twice. `reread` loads the state from disk.
pub fn settle(
    ctx: &Context,
    beside: &Beside,
    plan: &Plan,
    agents: &[String],
    reload: bool,
    reread: &mut dyn FnMut() -> Result<State>,
) -> Settle {
    let (state_dir, gw, token) = (beside.state_dir, beside.gateway, beside.token);
    let deadline = crate::live::timeout(ctx);
    let mut client = Client::connect(gw, token, deadline);
    let mut reloads = vec![];
    if reload {
        for a in agents {
            reloads.push(match &mut client {
                Ok(c) => match c.reload(a) {
                    Ok(m) => Reload { agent: a.clone(), method: Some(m.into()), error: None },
                    Err(e) => Reload { agent: a.clone(), method: None, error: Some(e.to_string()) },
                },
                Err(e) => Reload { agent: a.clone(), method: None, error: Some(e.to_string()) },
            });
        }
    }
    let version = client.as_ref().ok().and_then(|c| c.server_version.clone());
    let t0 = Instant::now();
    let mut checks = vec![check(state_dir, t0, plan, client.as_mut().ok(), agents, reread)];
    if let Err(e) = &client {
        checks[0].gateway_error = Some(e.to_string());
    }
    std::thread::sleep(recheck_delay(ctx));
    // a fresh connection: the gateway may have dropped an idle one
    let mut again = Client::connect(gw, token, deadline);
    let mut second = check(state_dir, t0, plan, again.as_mut().ok(), agents, reread);
    if let Err(e) = &again {
        second.gateway_error = Some(e.to_string());
    }
    checks.push(second);
    // a gateway that refuses the calls for want of a scope or the method cannot be asked at
    // all: the files are what can be proven
    let refusal = |e: &str| e.contains("missing scope") || e.contains("unknown method");
    let reload_unsupported = !reloads.is_empty()
        && reloads.iter().all(|r| r.method.is_none() && r.error.as_deref().is_some_and(refusal))
        && checks.iter().all(|c| c.gateway_error.as_deref().is_some_and(refusal) && c.gateway_differs.is_empty());
    let settled = reload
        && (reload_unsupported || reloads.iter().all(|r| r.method.is_some()))
        && checks.iter().all(|c| if reload_unsupported { c.files_changed.is_empty() } else { c.ok() });
    Settle {
        gateway_pid: gw.pid,
        gateway_port: gw.port,
        gateway_version: version,
        reload_requested: reload,
        reloads,
        checks,
        reload_unsupported,
        settled,
    }
}
