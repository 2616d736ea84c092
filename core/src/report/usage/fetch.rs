//! Asking the usage API: one request per profile with that profile's own token and account
//! id on a bounded pool with per-request timeouts, and parsing the `wham/usage` answer.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// parsing the answer

/// `5h` / `day` / `week` for the windows Codex has, else the shortest exact unit.
pub fn window_label(secs: Option<i64>) -> String {
    match secs {
        None => "window".into(),
        Some(18_000) => "5h".into(),
        Some(86_400) => "day".into(),
        Some(604_800) => "week".into(),
        Some(s) if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        Some(s) if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        Some(s) if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        Some(s) => format!("{s}s"),
    }
}

pub(super) fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|x| x.as_i64().or_else(|| x.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)))
}

pub(super) fn parse_window(name: &str, w: &Value, now_ms: i64) -> UsageWindow {
    let secs = int(w, "limit_window_seconds");
    let used = w.get("used_percent").and_then(Value::as_f64).filter(|f| f.is_finite());
    let (reset_at, from) = match (int(w, "reset_at").filter(|r| *r > 0), int(w, "reset_after_seconds")) {
        (Some(r), _) => (Some(r), Some("reset_at")),
        (None, Some(after)) => (Some(now_ms / 1000 + after), Some("reset_after_seconds")),
        (None, None) => (None, None),
    };
    UsageWindow {
        name: name.to_string(),
        label: window_label(secs),
        limit_window_seconds: secs,
        used_percent: used,
        percent_left: used.map(|u| (100.0 - u).clamp(0.0, 100.0)),
        reset_at,
        reset_at_rfc3339: reset_at.map(|r| rfc3339_ms(r.saturating_mul(1000))),
        reset_from: from.map(str::to_owned),
    }
}

pub(super) fn parse_limits(v: Option<&Value>, now_ms: i64) -> Option<Limits> {
    let m = v?.as_object()?;
    // primary and secondary first, in that order; any other `*_window` a later API adds after
    let mut names: Vec<&String> = m.keys().filter(|k| k.ends_with("_window")).collect();
    names.sort_by_key(|k| match k.as_str() {
        "primary_window" => 0,
        "secondary_window" => 1,
        _ => 2,
    });
    let windows = names
        .into_iter()
        .filter_map(|k| m.get(k).filter(|w| w.is_object()).map(|w| parse_window(k, w, now_ms)))
        .collect();
    Some(Limits {
        allowed: m.get("allowed").and_then(Value::as_bool),
        limit_reached: m.get("limit_reached").and_then(Value::as_bool),
        windows,
    })
}

/// Parse a `wham/usage` body. Lenient about missing fields (they are shown as absent), strict
/// about the body being a JSON object.
pub fn parse_answer(body: &str, now_ms: i64) -> std::result::Result<Answer, FetchError> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| FetchError::new("bad_response", format!("the answer is not JSON ({} bytes)", body.len())))?;
    if !v.is_object() {
        return Err(FetchError::new(
            "bad_response",
            format!("the answer is JSON {} instead of an object", json_kind(&v)),
        ));
    }
    Ok(Answer {
        user_id: str_field(&v, "user_id"),
        account_id: str_field(&v, "account_id"),
        email: str_field(&v, "email"),
        plan_type: str_field(&v, "plan_type"),
        rate_limit: parse_limits(v.get("rate_limit"), now_ms),
        code_review_rate_limit: parse_limits(v.get("code_review_rate_limit"), now_ms),
    })
}

/// The most of one identity field of an answer that is kept (real ones are short ids).
const FIELD_CAP: usize = 256;

/// Make an answer's identity fields safe to show: a known secret inside one becomes its
/// fingerprint, and a field longer than `FIELD_CAP` characters is shortened with its length.
pub fn scrub(ans: &mut Answer, secrets: &[String]) {
    for f in [&mut ans.user_id, &mut ans.account_id, &mut ans.email, &mut ans.plan_type].into_iter().flatten() {
        for s in secrets {
            if f.contains(s.as_str()) {
                *f = f.replace(s.as_str(), &crate::model::token::fingerprint(s));
            }
        }
        if f.chars().count() > FIELD_CAP {
            let len = f.len();
            *f = format!("{}…({len} bytes)", f.chars().take(FIELD_CAP).collect::<String>());
        }
    }
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    crate::model::json_type(v)
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Validated endpoint base, without a trailing slash. Plain http would send bearer tokens in
/// clear text, so it is accepted only towards this machine (the tests' local server).
pub fn check_endpoint(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let (scheme, rest) =
        u.split_once("://").ok_or_else(|| Error::Usage(format!("--endpoint '{u}' is not an http(s) URL")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(Error::Usage(format!("--endpoint '{u}' needs a host and no user info")));
    }
    let host = if let Some(h) = authority.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority)
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(u.to_string()),
        "http" if matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(u.to_string()),
        "http" => Err(Error::Usage(format!(
            "--endpoint '{u}': plain http would send access tokens unencrypted; only loopback hosts may use http"
        ))),
        other => Err(Error::Usage(format!("--endpoint '{u}': scheme '{other}' is not http or https"))),
    }
}

/// Where requests go: the endpoint's host (named in every network error) and the proxy they
/// go through, if any.
#[derive(Clone)]
pub struct Route {
    pub host: String,
    /// `host:port` of the proxy (never its credentials) and ureq's own proxy for it.
    pub proxy: Option<(String, ureq::Proxy)>,
}

impl Route {
    /// `chatgpt.com`, or `chatgpt.com through proxy 10.0.0.1:3128`: how errors name the way.
    pub fn describe(&self) -> String {
        match &self.proxy {
            Some((p, _)) => format!("{} through proxy {p}", self.host),
            None => self.host.clone(),
        }
    }
}

/// The endpoint's `host[:port]` part of a URL `check_endpoint` accepted, and its host alone.
fn authority_of(url: &str) -> (String, String) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
    let host = if let Some(h) = authority.strip_prefix('[') {
        h.split(']').next().unwrap_or("").to_string()
    } else {
        authority.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_else(|| authority.clone())
    };
    (authority, host)
}

/// `NO_PROXY` as curl reads it: `*`, or a comma list of hosts, each matching itself and its
/// subdomains (a leading `.` optional), an optional `:port` compared when given.
pub fn no_proxy_matches(no_proxy: &str, authority: &str, host: &str) -> bool {
    no_proxy.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).any(|e| {
        if e == "*" {
            return true;
        }
        let (name, port) = match e.rsplit_once(':') {
            Some((n, p)) if p.chars().all(|c| c.is_ascii_digit()) && !n.contains(':') => (n.to_string(), Some(p)),
            _ => (e.clone(), None),
        };
        if let Some(p) = port {
            if !authority.ends_with(&format!(":{p}")) {
                return false;
            }
        }
        let name = name.trim_start_matches('.');
        host == name || host.ends_with(&format!(".{name}"))
    })
}

/// The route for `endpoint` under the environment's proxy settings, read the way curl does:
/// `HTTPS_PROXY`/`https_proxy` for https (`HTTP_PROXY`/`http_proxy` for http), else
/// `ALL_PROXY`/`all_proxy`; `NO_PROXY`/`no_proxy` exempts hosts. The CONNECT tunnel itself is
/// ureq's. A proxy URL that cannot be used is a usage error naming the variable.
pub fn route(endpoint: &str, var: impl Fn(&str) -> Option<String>) -> Result<Route> {
    let (authority, host) = authority_of(endpoint);
    let https = endpoint.to_ascii_lowercase().starts_with("https://");
    let names: &[&str] = if https {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    let no_proxy = var("NO_PROXY").or_else(|| var("no_proxy")).unwrap_or_default();
    let found = names.iter().find_map(|n| var(n).filter(|v| !v.trim().is_empty()).map(|v| (*n, v)));
    let proxy = match found {
        Some(_) if no_proxy_matches(&no_proxy, &authority, &host) => None,
        Some((name, url)) => {
            let (p_authority, _) = authority_of(url.trim());
            let shown = p_authority.rsplit_once('@').map(|(_, h)| h.to_string()).unwrap_or(p_authority);
            let p = ureq::Proxy::new(url.trim())
                .map_err(|_| Error::Usage(format!("{name} is not a proxy URL clawauth can use (http://HOST:PORT)")))?;
            Some((shown, p))
        }
        None => None,
    };
    Ok(Route { host, proxy })
}

/// One request: the credential is owned by the job and only ever becomes a header.
pub(super) struct Job {
    pub(super) access: String,
    pub(super) account_id: String,
}

pub(super) type Outcome = (std::result::Result<Answer, FetchError>, u64);

pub(super) fn io_kind_in(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = x.source();
    }
    None
}

pub(super) fn is_timeout(k: Option<std::io::ErrorKind>) -> bool {
    matches!(k, Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock))
}

pub(super) fn timeout_error(timeout: Duration, route: &Route) -> FetchError {
    FetchError::new("timeout", format!("no answer from {} within {}", route.describe(), crate::text::secs(timeout)))
}

/// Our own message for a transport failure: the kind of failure and the OS error kind, never
/// the client's text (which can include the URL).
pub(super) fn transport_error(t: &ureq::Transport, timeout: Duration, route: &Route) -> FetchError {
    use ureq::ErrorKind as K;
    let io = io_kind_in(t);
    if is_timeout(io) {
        return timeout_error(timeout, route);
    }
    let why = io.map(|k| format!(": {k}")).unwrap_or_default();
    let to = route.describe();
    let proxy = route.proxy.as_ref().map(|(p, _)| p.as_str()).unwrap_or("the proxy");
    match t.kind() {
        K::Dns => FetchError::new("connection", format!("cannot resolve the host name ({to})")),
        K::ConnectionFailed => FetchError::new("connection", format!("cannot connect to {to}{why}")),
        K::Io => FetchError::new("connection", format!("connection to {to} failed{why}")),
        K::ProxyConnect => FetchError::new("connection", format!("proxy {proxy} refused the tunnel to {}", route.host)),
        K::ProxyUnauthorized => {
            FetchError::new("connection", format!("proxy {proxy} wants credentials for the tunnel to {}", route.host))
        }
        K::BadStatus | K::BadHeader | K::HTTP => {
            FetchError::new("protocol", format!("{to} did not answer valid HTTP (or a header could not be sent)"))
        }
        K::TooManyRedirects => FetchError::new("http_status", format!("{to} redirected")),
        _ => FetchError::new("connection", format!("the request to {to} could not be made")),
    }
}

pub(super) fn fetch_one(
    agent: &ureq::Agent,
    url: &str,
    job: &Job,
    timeout: Duration,
    now_ms: i64,
    route: &Route,
) -> Outcome {
    let t0 = Instant::now();
    let res = agent
        .get(url)
        .set("Authorization", &format!("Bearer {}", job.access))
        .set("ChatGPT-Account-Id", &job.account_id)
        .set("Accept", "application/json")
        .call();
    let out = match res {
        Ok(r) if (200..300).contains(&r.status()) => match r.into_string() {
            Ok(body) => parse_answer(&body, now_ms),
            Err(e) if is_timeout(Some(e.kind())) => Err(timeout_error(timeout, route)),
            Err(e) => Err(FetchError::new(
                "connection",
                format!("reading the answer from {} failed: {}", route.describe(), e.kind()),
            )),
        },
        Ok(r) => Err(status_error(r.status())),
        Err(ureq::Error::Status(code, _)) => Err(status_error(code)),
        Err(ureq::Error::Transport(t)) => Err(transport_error(&t, timeout, route)),
    };
    (out, t0.elapsed().as_millis() as u64)
}

pub(super) fn status_error(code: u16) -> FetchError {
    let mut e = match code {
        401 | 403 => FetchError::new("unauthorized", format!("token expired or revoked (HTTP {code})")),
        300..=399 => FetchError::new("http_status", format!("HTTP {code} (redirect, not followed)")),
        _ => FetchError::new("http_status", format!("HTTP {code}")),
    };
    e.http_status = Some(code);
    e
}

/// Run the jobs on at most `concurrency` threads. Each request is bounded by `timeout`; the
/// report waits at most for as many timeouts as there are waves of jobs (plus a grace), so a
/// request stuck where the client's timeout does not reach (e.g. name resolution) is reported
/// as a timeout instead of holding everything.
pub(super) fn fetch_all(
    jobs: Vec<Job>,
    url: &str,
    route: &Route,
    timeout: Duration,
    concurrency: usize,
    now_ms: i64,
) -> Result<Vec<Outcome>> {
    let n = jobs.len();
    if n == 0 {
        return Ok(vec![]);
    }
    let mut builder = ureq::AgentBuilder::new();
    if let Some((_, p)) = &route.proxy {
        builder = builder.proxy(p.clone());
    }
    let agent = builder
        .timeout(timeout)
        .timeout_connect(timeout)
        // a redirect would be to a login page; with it the bearer token must not travel on
        .redirects(0)
        .user_agent(concat!("clawauth/", env!("CARGO_PKG_VERSION")))
        .build();
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let workers = concurrency.clamp(1, n);
    for w in 0..workers {
        let (jobs, next, tx, agent, url) = (jobs.clone(), next.clone(), tx.clone(), agent.clone(), url.to_string());
        let route = route.clone();
        std::thread::Builder::new()
            .name(format!("usage-{w}"))
            .spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                if tx.send((i, fetch_one(&agent, &url, job, timeout, now_ms, &route))).is_err() {
                    break;
                }
            })
            .map_err(|e| Error::Other(format!("cannot start a request thread: {e}")))?;
    }
    drop(tx);
    let waves = n.div_ceil(workers) as u32;
    let deadline = Instant::now() + timeout * waves + Duration::from_secs(2);
    let mut out: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, o)) => {
                out[i] = Some(o);
                got += 1;
            }
            // stragglers are abandoned: their threads end with the process
            Err(_) => break,
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or_else(|| (Err(timeout_error(timeout, route)), timeout.as_millis() as u64)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
