//! `clawauth usage`: live Codex usage per profile, each fetched with that profile's OWN access
//! token and account id (never through the provider order, where a soft preference would let
//! another account's token answer), side by side with the layers that decide which profile a
//! chat uses and whose usage OpenClaw's `/status` shows. Owns the HTTP fetch (ureq, rustls,
//! bounded pool, per-request timeout), the parsing of the `wham/usage` answer, the identity
//! analysis, the session cross-check and the `usage_snapshot` journal rows that `show TXN`
//! lists. Secrets leave this module only as request headers: every message is built here,
//! never taken from the HTTP client (its errors can carry URLs and headers).

use crate::context::Context;
use crate::error::{Error, Result};
use crate::model::resolve::{self, Rules};
use crate::model::token;
use crate::model::{str_field, AgentState, ProfileView, State};
use crate::report::status::{self, SessionFilter};
use crate::text::{relative, rfc3339_ms};
use crate::txn::journal::{Journal, TxnRow};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub const SCHEMA_VERSION: u32 = 1;
pub const DEFAULT_ENDPOINT: &str = "https://chatgpt.com";
pub const USAGE_PATH: &str = "/backend-api/wham/usage";
/// Snapshots this close to a transaction count as its "before/after" evidence in `show`.
pub const SHOW_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Sessions listed by default, like `status`.
const SESSION_LIMIT: usize = 10;

// ---------------------------------------------------------------------------------------------
// report types (`--json`, schema_version 1)

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct UsageWindow {
    /// The key in the answer: `primary_window`, `secondary_window`, ...
    pub name: String,
    /// By length: `5h`, `day`, `week`, else e.g. `30m`, `2d`; `window` when no length is given.
    pub label: String,
    pub limit_window_seconds: Option<i64>,
    pub used_percent: Option<f64>,
    pub percent_left: Option<f64>,
    /// Epoch seconds: the answer's `reset_at`, else now + `reset_after_seconds`.
    pub reset_at: Option<i64>,
    pub reset_at_rfc3339: Option<String>,
    pub reset_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Limits {
    pub allowed: Option<bool>,
    pub limit_reached: Option<bool>,
    pub windows: Vec<UsageWindow>,
}

/// What the usage endpoint said about the login behind one credential.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Answer {
    pub user_id: Option<String>,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub plan_type: Option<String>,
    pub rate_limit: Option<Limits>,
    pub code_review_rate_limit: Option<Limits>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FetchError {
    /// `no_access_token`, `no_account_id`, `not_codex_oauth`, `unauthorized`, `http_status`,
    /// `timeout`, `connection`, `protocol`, `bad_response`.
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl FetchError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        FetchError { kind, message: message.into(), http_status: None }
    }
    /// Whether a request was made (as opposed to a profile that could not be asked at all).
    pub fn requested(&self) -> bool {
        !matches!(self.kind, "no_access_token" | "no_account_id" | "not_codex_oauth")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredIdentity {
    pub account_id: Option<String>,
    pub email: Option<String>,
    /// From the access token's claims.
    pub user_id: Option<String>,
    pub plan: Option<String>,
    pub access_fp: Option<String>,
    pub token_state: token::TokenState,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileUsage {
    pub id: String,
    pub active_slot: bool,
    pub inherited: bool,
    pub stored: StoredIdentity,
    /// The `ChatGPT-Account-Id` sent, and where it came from (`credential` or `token claim`).
    pub request_account_id: Option<String>,
    pub request_account_source: Option<&'static str>,
    pub ok: bool,
    pub usage: Option<Answer>,
    pub error: Option<FetchError>,
    pub elapsed_ms: Option<u64>,
    /// The answer names another login than the stored credential.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityNote {
    /// `shared_workspace`, `same_login`, `api_mismatch`.
    pub kind: &'static str,
    pub account_id: Option<String>,
    pub profiles: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionUsage {
    pub key: String,
    pub pin: Option<String>,
    pub effective: Option<String>,
    pub effective_source: Option<String>,
    pub usage_source: Option<String>,
    pub differs: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossCheck {
    pub session: String,
    pub usage_source: Option<String>,
    pub effective: Option<String>,
    pub differs: bool,
    /// Two profile ids for one login (same workspace and user): one quota after all.
    pub same_login: bool,
    pub message: String,
    pub usage_source_windows: Option<Vec<UsageWindow>>,
    pub effective_windows: Option<Vec<UsageWindow>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentUsage {
    pub id: String,
    pub provider: String,
    pub rules: Rules,
    pub profiles: Vec<ProfileUsage>,
    pub identity: Vec<IdentityNote>,
    pub sessions: Vec<SessionUsage>,
    pub cross_check: Option<CrossCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotSummary {
    pub id: String,
    pub exists: bool,
    /// The external-repo identity the slot holds, if any.
    pub holds: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub now: String,
    pub endpoint: String,
    pub timeout_seconds: f64,
    pub concurrency: usize,
    pub active_slot: SlotSummary,
    pub agents: Vec<AgentUsage>,
    /// Rows written to the journal with `--record`.
    pub recorded: Option<usize>,
}

impl UsageReport {
    pub fn any_error(&self) -> bool {
        self.agents.iter().flat_map(|a| &a.profiles).any(|p| p.error.is_some())
    }
}

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

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|x| x.as_i64().or_else(|| x.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)))
}

fn parse_window(name: &str, w: &Value, now_ms: i64) -> UsageWindow {
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

fn parse_limits(v: Option<&Value>, now_ms: i64) -> Option<Limits> {
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

fn json_kind(v: &Value) -> &'static str {
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

/// One request: the credential is owned by the job and only ever becomes a header.
struct Job {
    access: String,
    account_id: String,
}

type Outcome = (std::result::Result<Answer, FetchError>, u64);

fn io_kind_in(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = x.source();
    }
    None
}

fn is_timeout(k: Option<std::io::ErrorKind>) -> bool {
    matches!(k, Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock))
}

fn timeout_error(timeout: Duration) -> FetchError {
    FetchError::new("timeout", format!("no answer within {}", secs(timeout)))
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

/// Our own message for a transport failure: the kind of failure and the OS error kind, never
/// the client's text (which can include the URL).
fn transport_error(t: &ureq::Transport, timeout: Duration) -> FetchError {
    use ureq::ErrorKind as K;
    let io = io_kind_in(t);
    if is_timeout(io) {
        return timeout_error(timeout);
    }
    let why = io.map(|k| format!(": {k}")).unwrap_or_default();
    match t.kind() {
        K::Dns => FetchError::new("connection", "cannot resolve the endpoint's host name"),
        K::ConnectionFailed => FetchError::new("connection", format!("cannot connect to the endpoint{why}")),
        K::Io => FetchError::new("connection", format!("connection failed{why}")),
        K::BadStatus | K::BadHeader | K::HTTP => {
            FetchError::new("protocol", "the endpoint did not answer valid HTTP (or a header could not be sent)")
        }
        K::TooManyRedirects => FetchError::new("http_status", "the endpoint redirected"),
        _ => FetchError::new("connection", "the request could not be made"),
    }
}

fn fetch_one(agent: &ureq::Agent, url: &str, job: &Job, timeout: Duration, now_ms: i64) -> Outcome {
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
            Err(e) if is_timeout(Some(e.kind())) => Err(timeout_error(timeout)),
            Err(e) => Err(FetchError::new("connection", format!("reading the answer failed: {}", e.kind()))),
        },
        Ok(r) => Err(status_error(r.status())),
        Err(ureq::Error::Status(code, _)) => Err(status_error(code)),
        Err(ureq::Error::Transport(t)) => Err(transport_error(&t, timeout)),
    };
    (out, t0.elapsed().as_millis() as u64)
}

fn status_error(code: u16) -> FetchError {
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
fn fetch_all(jobs: Vec<Job>, url: &str, timeout: Duration, concurrency: usize, now_ms: i64) -> Result<Vec<Outcome>> {
    let n = jobs.len();
    if n == 0 {
        return Ok(vec![]);
    }
    let agent = ureq::AgentBuilder::new()
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
        std::thread::Builder::new()
            .name(format!("usage-{w}"))
            .spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                if tx.send((i, fetch_one(&agent, &url, job, timeout, now_ms))).is_err() {
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
        .map(|o| o.unwrap_or_else(|| (Err(timeout_error(timeout)), timeout.as_millis() as u64)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// building the report

fn is_codex_oauth(v: &ProfileView) -> bool {
    v.kind.as_deref() == Some("oauth")
        && v.provider.as_deref().map(resolve::normalize_provider).is_some_and(|p| p == "openai-codex" || p == "openai")
}

/// Which profiles of one agent to ask about.
fn selected(agent: &AgentState, views: &[ProfileView], wanted: &[String]) -> Vec<usize> {
    if wanted.is_empty() {
        return (0..views.len()).filter(|&i| is_codex_oauth(&views[i])).collect();
    }
    let ids: Vec<String> = wanted.iter().filter_map(|w| agent.map_profile_id(w)).collect();
    (0..views.len()).filter(|&i| ids.contains(&views[i].id)).collect()
}

pub struct Options {
    pub endpoint: String,
    pub timeout: Duration,
    pub concurrency: usize,
    pub profiles: Vec<String>,
    pub session: Option<String>,
    pub rules: Option<Rules>,
}

/// Fetch and analyse. Every selected profile gets exactly its own request; identical
/// credentials seen from several agents (inherited from main) are asked once.
pub fn build(state: &State, ctx: &Context, o: &Options) -> Result<UsageReport> {
    let now = state.now_ms;
    for w in &o.profiles {
        if !state.agents.iter().any(|a| a.map_profile_id(w).is_some()) {
            let known: Vec<String> =
                state.agents.iter().flat_map(|a| a.auth.profiles.keys().cloned()).collect::<Vec<_>>();
            return Err(Error::NotFound(format!("no profile '{w}' (profiles: {})", known.join(", "))));
        }
    }
    let filter = SessionFilter { session: o.session.clone(), all: false, limit: SESSION_LIMIT };
    let st = status::build(state, o.rules, &filter)?;
    // a cross-check needs both sides' windows, whatever subset the user asked for
    let mut wanted = o.profiles.clone();
    if o.session.is_some() && !wanted.is_empty() {
        for s in st.agents.iter().flat_map(|a| &a.sessions) {
            wanted.extend(s.effective.iter().chain(&s.usage_source).cloned());
        }
    }
    let url = format!("{}{USAGE_PATH}", o.endpoint);

    // plan requests: (agent, view index) -> job index or an error without a request
    struct Pending {
        view: ProfileView,
        account: Option<(String, &'static str)>,
        result: Option<std::result::Result<Answer, FetchError>>,
        job: Option<usize>,
        elapsed: Option<u64>,
    }
    let mut jobs: Vec<Job> = vec![];
    let mut job_keys: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut per_agent: Vec<Vec<Pending>> = vec![];
    for a in &state.agents {
        let views = a.profile_views(now);
        let idx = selected(a, &views, &wanted);
        let mut pend = vec![];
        for i in idx {
            let v = views[i].clone();
            let raw = a.auth.profiles.get(&v.id);
            let access = raw.and_then(|r| str_field(r, "access")).filter(|s| !s.trim().is_empty());
            let account = v
                .account_id
                .clone()
                .filter(|s| !s.trim().is_empty())
                .map(|s| (s, "credential"))
                .or_else(|| v.claims.as_ref().and_then(|c| c.account_id.clone()).map(|s| (s, "token claim")));
            let mut p = Pending { view: v, account: account.clone(), result: None, job: None, elapsed: None };
            if !is_codex_oauth(&p.view) {
                p.result = Some(Err(FetchError::new(
                    "not_codex_oauth",
                    format!(
                        "not a Codex OAuth profile (type {}, provider {}): it has no usage endpoint",
                        p.view.kind.as_deref().unwrap_or("?"),
                        p.view.provider.as_deref().unwrap_or("?")
                    ),
                )));
            } else if let Some(access) = access.clone().filter(|_| account.is_some()) {
                let (acct, _) = account.clone().expect("checked");
                let key = (p.view.id.clone(), token::secret_hash(&access), acct.clone());
                let j = *job_keys.entry(key).or_insert_with(|| {
                    jobs.push(Job { access, account_id: acct });
                    jobs.len() - 1
                });
                p.job = Some(j);
            } else if access.is_none() {
                p.result = Some(Err(FetchError::new("no_access_token", "no access token stored: nothing to ask with")));
            } else {
                p.result = Some(Err(FetchError::new(
                    "no_account_id",
                    "no accountId stored and none in the token: the usage API needs ChatGPT-Account-Id",
                )));
            }
            pend.push(p);
        }
        per_agent.push(pend);
    }
    let outcomes = fetch_all(jobs, &url, o.timeout, o.concurrency, ctx.now_ms)?;
    for pend in per_agent.iter_mut() {
        for p in pend.iter_mut() {
            if let Some(j) = p.job {
                let (r, ms) = outcomes[j].clone();
                p.result = Some(r);
                p.elapsed = Some(ms);
            }
        }
    }

    let slot_holds = st.active_slot.matches.clone();
    let mut agents = vec![];
    for ((a, pend), ar) in state.agents.iter().zip(per_agent).zip(&st.agents) {
        let profiles: Vec<ProfileUsage> = pend
            .into_iter()
            .map(|p| {
                let v = p.view;
                let (usage, error) = match p.result.expect("every profile has a result") {
                    Ok(ans) => (Some(ans), None),
                    Err(e) => (None, Some(e)),
                };
                let flags = usage.as_ref().map(|u| mismatch_flags(&v, u)).unwrap_or_default();
                ProfileUsage {
                    active_slot: v.id == state.active_slot
                        || a.map_profile_id(&state.active_slot) == Some(v.id.clone()),
                    inherited: v.inherited,
                    stored: StoredIdentity {
                        account_id: v.account_id.clone(),
                        email: v.email.clone(),
                        user_id: v.user_id().map(str::to_owned),
                        plan: v.plan.clone().or_else(|| v.claims.as_ref().and_then(|c| c.plan.clone())),
                        access_fp: v.access_fp.clone(),
                        token_state: v.token_state,
                    },
                    request_account_id: p.account.as_ref().map(|x| x.0.clone()),
                    request_account_source: p.account.as_ref().map(|x| x.1),
                    ok: usage.is_some(),
                    usage,
                    error,
                    elapsed_ms: p.elapsed,
                    flags,
                    id: v.id,
                }
            })
            .collect();
        let identity = identity_notes(&profiles);
        let sessions: Vec<SessionUsage> = ar
            .sessions
            .iter()
            .map(|s| SessionUsage {
                key: s.key.clone(),
                pin: s.pin.clone(),
                effective: s.effective.clone(),
                effective_source: s.effective_source.clone(),
                usage_source: s.usage_source.clone(),
                differs: s.usage_differs,
            })
            .collect();
        let cross_check = o.session.as_ref().and_then(|_| sessions.first()).map(|s| cross_check(s, &profiles));
        agents.push(AgentUsage {
            id: a.paths.id.clone(),
            provider: a.provider.clone(),
            rules: ar.rules,
            profiles,
            identity,
            sessions,
            cross_check,
        });
    }
    Ok(UsageReport {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: rfc3339_ms(now),
        endpoint: o.endpoint.clone(),
        timeout_seconds: o.timeout.as_secs_f64(),
        concurrency: o.concurrency,
        active_slot: SlotSummary { id: st.active_slot.id.clone(), exists: st.active_slot.exists, holds: slot_holds },
        agents,
        recorded: None,
    })
}

/// The answer names another login than the credential claims to be.
fn mismatch_flags(v: &ProfileView, u: &Answer) -> Vec<String> {
    let mut out = vec![];
    if let (Some(api), Some(stored)) = (&u.account_id, v.account()) {
        if api != stored {
            out.push(format!("the API answered for account {api}, but the stored credential says {stored}"));
        }
    }
    let stored_email = v.email.as_deref().or(v.claim_email());
    if let (Some(api), Some(stored)) = (&u.email, stored_email) {
        if !api.eq_ignore_ascii_case(stored) {
            out.push(format!("the API answered for {api}, but the stored credential says {stored}"));
        }
    }
    out
}

/// Group by workspace (the answer's account id, else the stored one): different users in one
/// workspace each have their own quota; the same user twice is one quota seen twice.
fn identity_notes(profiles: &[ProfileUsage]) -> Vec<IdentityNote> {
    let mut by_acct: BTreeMap<String, Vec<(&str, Option<String>)>> = BTreeMap::new();
    for p in profiles {
        let acct = p.usage.as_ref().and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone());
        let user = p.usage.as_ref().and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone());
        if let Some(acct) = acct {
            by_acct.entry(acct).or_default().push((&p.id, user));
        }
    }
    let mut out = vec![];
    for (acct, members) in by_acct.into_iter().filter(|(_, m)| m.len() > 1) {
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, user) in &members {
            users.entry(user.clone().unwrap_or_else(|| "?".into())).or_default().push(id.to_string());
        }
        let list = |ids: &[&str], users: &[Option<String>]| -> String {
            ids.iter()
                .zip(users)
                .map(|(i, u)| format!("{i} ({})", u.as_deref().unwrap_or("user unknown")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ids: Vec<&str> = members.iter().map(|m| m.0).collect();
        let us: Vec<Option<String>> = members.iter().map(|m| m.1.clone()).collect();
        if users.len() > 1 {
            out.push(IdentityNote {
                kind: "shared_workspace",
                account_id: Some(acct.clone()),
                profiles: ids.iter().map(|s| s.to_string()).collect(),
                message: format!(
                    "workspace {acct}: {} are separate members of one workspace, not one quota",
                    list(&ids, &us)
                ),
            });
        }
        for (user, same) in users.into_iter().filter(|(u, s)| s.len() > 1 && u != "?") {
            out.push(IdentityNote {
                kind: "same_login",
                account_id: Some(acct.clone()),
                profiles: same.clone(),
                message: format!("{} are the same login ({user} in {acct}): one quota, shown twice", same.join(", ")),
            });
        }
    }
    for p in profiles.iter().filter(|p| !p.flags.is_empty()) {
        for f in &p.flags {
            out.push(IdentityNote {
                kind: "api_mismatch",
                account_id: p.usage.as_ref().and_then(|u| u.account_id.clone()),
                profiles: vec![p.id.clone()],
                message: format!("{}: {f}", p.id),
            });
        }
    }
    out
}

fn windows_of(profiles: &[ProfileUsage], id: Option<&str>) -> Option<Vec<UsageWindow>> {
    let p = profiles.iter().find(|p| Some(p.id.as_str()) == id)?;
    p.usage.as_ref().map(|u| u.rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default())
}

/// Workspace and user of a profile: the answer's, else the stored credential's.
fn login_of(profiles: &[ProfileUsage], id: Option<&str>) -> Option<(String, String)> {
    let p = profiles.iter().find(|p| Some(p.id.as_str()) == id)?;
    let u = p.usage.as_ref();
    Some((
        u.and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone())?,
        u.and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone())?,
    ))
}

fn cross_check(s: &SessionUsage, profiles: &[ProfileUsage]) -> CrossCheck {
    let (us, ef) = (s.usage_source.as_deref(), s.effective.as_deref());
    let same_login = us != ef && login_of(profiles, us).is_some() && login_of(profiles, us) == login_of(profiles, ef);
    let message = match (us, ef) {
        (Some(u), Some(e)) if u != e && same_login => format!(
            "/status shows the usage of {u} and this session's replies use {e}: different profiles, but the same login, so the quota shown is the one being spent"
        ),
        (Some(u), Some(e)) if u != e => format!(
            "/status shows the usage of {u}, but this session's replies use {e}: the quota it shows is not the one being spent"
        ),
        (Some(u), Some(_)) => format!("/status shows the usage of {u}, the profile that serves this session"),
        (None, Some(e)) => format!("/status shows no usage (no usable oauth/token profile); replies use {e}"),
        (Some(u), None) => format!("/status shows the usage of {u}, but no profile would serve this session"),
        (None, None) => "no profile serves this session and /status shows no usage".into(),
    };
    CrossCheck {
        session: s.key.clone(),
        usage_source: s.usage_source.clone(),
        effective: s.effective.clone(),
        differs: s.differs,
        same_login,
        message,
        usage_source_windows: windows_of(profiles, us),
        effective_windows: windows_of(profiles, ef),
    }
}

// ---------------------------------------------------------------------------------------------
// text

fn pct(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.0}%")
    } else {
        format!("{f:.1}%")
    }
}

/// `88% left, resets 2026-05-01T14:00:00Z (in 1h)`
pub fn window_text(w: &UsageWindow, now_ms: i64) -> String {
    let left = w.percent_left.map(|l| format!("{} left", pct(l))).unwrap_or_else(|| "? left".into());
    match w.reset_at {
        Some(r) => format!(
            "{left}, resets {} ({})",
            rfc3339_ms(r.saturating_mul(1000)),
            relative(r.saturating_mul(1000), now_ms)
        ),
        None => left,
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("—")
}

fn limits_lines(o: &mut String, prefix: &str, l: &Limits, now: i64) {
    for w in &l.windows {
        let _ = writeln!(o, "    {prefix}{:<6} {}", w.label, window_text(w, now));
    }
    if l.limit_reached == Some(true) {
        let _ = writeln!(o, "    {prefix}LIMIT REACHED");
    }
}

pub fn render(r: &UsageReport, now: i64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "usage from {}{USAGE_PATH}, each profile with its own token (timeout {}, {} at a time)",
        r.endpoint,
        secs(Duration::from_secs_f64(r.timeout_seconds)),
        r.concurrency
    );
    let slot = &r.active_slot;
    let _ = writeln!(
        o,
        "active slot {}{}",
        slot.id,
        match (&slot.holds, slot.exists) {
            (_, false) => " (not present)".to_string(),
            (Some(h), true) => format!(" (holds repo identity {h})"),
            (None, true) => String::new(),
        }
    );
    for a in &r.agents {
        let _ = writeln!(o, "\nagent {} — provider {}, rules OpenClaw {}", a.id, a.provider, a.rules.name());
        if a.profiles.is_empty() {
            let _ = writeln!(o, "  no Codex OAuth profiles");
        }
        for p in &a.profiles {
            let mut tags = vec![];
            if p.active_slot {
                tags.push("active slot".to_string());
            }
            if p.inherited {
                tags.push("from main".to_string());
            }
            let tags = if tags.is_empty() { String::new() } else { format!("  [{}]", tags.join(", ")) };
            let _ = writeln!(o, "\n  {}{tags}", p.id);
            let s = &p.stored;
            let _ = writeln!(
                o,
                "    stored  account {}, user {}, {}, plan {}, token {} ({})",
                opt(&s.account_id),
                opt(&s.user_id),
                opt(&s.email),
                opt(&s.plan),
                opt(&s.access_fp),
                s.token_state.as_str()
            );
            if let Some(u) = &p.usage {
                let _ = writeln!(
                    o,
                    "    api     account {}, user {}, {}, plan {}",
                    opt(&u.account_id),
                    opt(&u.user_id),
                    opt(&u.email),
                    opt(&u.plan_type)
                );
                match &u.rate_limit {
                    Some(l) => limits_lines(&mut o, "", l, now),
                    None => {
                        let _ = writeln!(o, "    (no rate_limit in the answer)");
                    }
                }
                if let Some(l) = &u.code_review_rate_limit {
                    limits_lines(&mut o, "code review ", l, now);
                }
                for f in &p.flags {
                    let _ = writeln!(o, "    FLAG    {f}");
                }
            }
            if let Some(e) = &p.error {
                let _ = writeln!(o, "    error   {}", e.message);
            }
        }
        if !a.identity.is_empty() {
            let _ = writeln!(o, "\n  identity:");
            for n in &a.identity {
                let _ = writeln!(o, "    {}", n.message);
            }
        }
        if !a.sessions.is_empty() {
            let _ = writeln!(o, "\n  sessions (effective profile vs the profile /status shows usage for):");
            let mut rows = vec![vec!["SESSION".to_string(), "EFFECTIVE".into(), "USAGE SHOWN FOR".into()]];
            for s in &a.sessions {
                rows.push(vec![
                    s.key.clone(),
                    s.effective
                        .as_ref()
                        .map(|e| format!("{e} ({})", s.effective_source.as_deref().unwrap_or("?")))
                        .unwrap_or_else(|| "none".into()),
                    match (&s.usage_source, s.differs) {
                        (Some(u), true) => format!("{u} (differs!)"),
                        (Some(u), false) => u.clone(),
                        (None, _) => "—".into(),
                    },
                ]);
            }
            o.push_str(&crate::report::status::table(&rows, "    "));
        }
        if let Some(c) = &a.cross_check {
            let _ = writeln!(o, "\n  cross-check {}:", c.session);
            let _ = writeln!(o, "    {}", c.message);
            if c.differs {
                o.push_str(&side_by_side(c, now));
            }
        }
    }
    if let Some(n) = r.recorded {
        let _ = writeln!(o, "\nrecorded {n} usage snapshot(s) in the journal");
    }
    o
}

fn side_by_side(c: &CrossCheck, now: i64) -> String {
    let head = |id: &Option<String>, role: &str| format!("{} ({role})", opt(id));
    let mut labels: Vec<String> = vec![];
    for w in c.usage_source_windows.iter().chain(c.effective_windows.iter()).flatten() {
        if !labels.contains(&w.label) {
            labels.push(w.label.clone());
        }
    }
    let cell = |ws: &Option<Vec<UsageWindow>>, label: &str| match ws {
        None => "(no answer)".to_string(),
        Some(ws) => ws.iter().find(|w| w.label == label).map(|w| window_text(w, now)).unwrap_or_else(|| "—".into()),
    };
    let mut rows = vec![vec![
        "WINDOW".to_string(),
        head(&c.usage_source, "shown by /status"),
        head(&c.effective, "serves the session"),
    ]];
    for l in &labels {
        rows.push(vec![l.clone(), cell(&c.usage_source_windows, l), cell(&c.effective_windows, l)]);
    }
    if labels.is_empty() {
        rows.push(vec!["—".into(), cell(&c.usage_source_windows, ""), cell(&c.effective_windows, "")]);
    }
    crate::report::status::table(&rows, "    ")
}

// ---------------------------------------------------------------------------------------------
// journal: usage_snapshot rows

#[derive(Debug, Clone, Serialize)]
pub struct UsageSnapshot {
    pub id: i64,
    pub taken_at: String,
    pub profile_id: String,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub windows: Option<Value>,
    pub error: Option<String>,
}

/// Store one row per fetched (or failed) profile, in one SQLite transaction.
pub fn record(j: &mut Journal, taken_at: &str, r: &UsageReport) -> Result<usize> {
    let path = j.path.clone();
    let tx = j.conn.transaction().map_err(|e| Error::journal(&path, e))?;
    let mut n = 0;
    for p in r.agents.iter().flat_map(|a| &a.profiles) {
        let u = p.usage.as_ref();
        let windows = u.map(|u| {
            json!({
                "email": u.email,
                "plan_type": u.plan_type,
                "limit_reached": u.rate_limit.as_ref().and_then(|l| l.limit_reached),
                "windows": u.rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default(),
                "code_review": u.code_review_rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default(),
            })
            .to_string()
        });
        tx.execute(
            "INSERT INTO usage_snapshot (taken_at, profile_id, account_id, user_id, windows, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                taken_at,
                p.id,
                u.and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone()),
                u.and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone()),
                windows,
                p.error.as_ref().map(|e| e.message.clone()),
            ],
        )
        .map_err(|e| Error::journal(&path, e))?;
        n += 1;
    }
    tx.commit().map_err(|e| Error::journal(&path, e))?;
    Ok(n)
}

/// Snapshots taken between two instants (RFC 3339 strings compare in time order).
pub fn snapshots_between(j: &Journal, from: &str, to: &str) -> Result<Vec<UsageSnapshot>> {
    let mut st = j
        .conn
        .prepare(
            "SELECT id, taken_at, profile_id, account_id, user_id, windows, error FROM usage_snapshot
             WHERE taken_at BETWEEN ?1 AND ?2 ORDER BY taken_at, id",
        )
        .map_err(|e| Error::journal(&j.path, e))?;
    let rows = st
        .query_map([from, to], |r| {
            let w: Option<String> = r.get(5)?;
            Ok(UsageSnapshot {
                id: r.get(0)?,
                taken_at: r.get(1)?,
                profile_id: r.get(2)?,
                account_id: r.get(3)?,
                user_id: r.get(4)?,
                windows: w.and_then(|w| serde_json::from_str(&w).ok()),
                error: r.get(6)?,
            })
        })
        .map_err(|e| Error::journal(&j.path, e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| Error::journal(&j.path, e))
}

/// The transaction's span: created (or started) to ended, as epoch ms.
fn txn_span(row: &TxnRow) -> Option<(i64, i64)> {
    let p = |s: &str| crate::text::parse_time_ms(s);
    let start = p(row.started_at.as_deref().unwrap_or(&row.created_at)).or_else(|| p(&row.created_at))?;
    let start = start.min(p(&row.created_at).unwrap_or(start));
    let end = row.ended_at.as_deref().and_then(p).unwrap_or(start).max(start);
    Some((start, end))
}

/// Usage snapshots recorded within ±10 minutes of a transaction, each tagged `before`,
/// `during` or `after` it: evidence of what a repair changed.
pub fn txn_snapshots(j: &Journal, row: &TxnRow) -> Result<Vec<(String, UsageSnapshot)>> {
    let Some((start, end)) = txn_span(row) else {
        return Ok(vec![]);
    };
    let snaps = snapshots_between(j, &rfc3339_ms(start - SHOW_WINDOW_MS), &rfc3339_ms(end + SHOW_WINDOW_MS))?;
    Ok(snaps
        .into_iter()
        .map(|s| {
            let t = crate::text::parse_time_ms(&s.taken_at).unwrap_or(start);
            let when = if t < start {
                "before"
            } else if t > end {
                "after"
            } else {
                "during"
            };
            (when.to_string(), s)
        })
        .collect())
}

pub fn snapshots_json(s: &[(String, UsageSnapshot)]) -> Value {
    json!(s.iter().map(|(when, s)| json!({"when": when, "snapshot": s})).collect::<Vec<_>>())
}

/// One line per snapshot for `show`: `before  2026-…  id  account  5h 88% left, week 60% left`.
pub fn render_txn_snapshots(s: &[(String, UsageSnapshot)]) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut rows = vec![];
    for (when, s) in s {
        let what = match (&s.windows, &s.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(w), None) => {
                let parse = |k: &str| -> Vec<UsageWindow> {
                    w.get(k).and_then(|x| serde_json::from_value(x.clone()).ok()).unwrap_or_default()
                };
                let mut parts: Vec<String> = parse("windows")
                    .iter()
                    .map(|w| format!("{} {} left", w.label, w.percent_left.map(pct).unwrap_or_else(|| "?".into())))
                    .collect();
                parts.extend(parse("code_review").iter().map(|w| {
                    format!("code review {} {} left", w.label, w.percent_left.map(pct).unwrap_or_else(|| "?".into()))
                }));
                if w.get("limit_reached").and_then(Value::as_bool) == Some(true) {
                    parts.push("LIMIT REACHED".into());
                }
                parts.join(", ")
            }
            (None, None) => "—".into(),
        };
        rows.push(vec![
            when.clone(),
            s.taken_at.clone(),
            s.profile_id.clone(),
            s.account_id.clone().unwrap_or_else(|| "—".into()),
            what,
        ]);
    }
    format!("\nusage snapshots (within 10 minutes of this transaction):\n{}", crate::report::status::table(&rows, "  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_labelled_by_length() {
        let l = |s| window_label(Some(s));
        assert_eq!((l(18_000), l(86_400), l(604_800)), ("5h".into(), "day".into(), "week".into()));
        assert_eq!((l(1_800), l(7_200), l(172_800), l(45)), ("30m".into(), "2h".into(), "2d".into(), "45s".into()));
        assert_eq!(window_label(None), "window");
    }

    #[test]
    fn answers_parse_leniently_but_must_be_objects() {
        let now_ms = 1_000_000_000_000;
        let a = parse_answer(
            r#"{"plan_type":"plus","rate_limit":{"limit_reached":true,"secondary_window":{"used_percent":120,"limit_window_seconds":604800,"reset_after_seconds":60},"primary_window":{"used_percent":12.5,"limit_window_seconds":18000,"reset_at":1000000900}}}"#,
            now_ms,
        )
        .unwrap();
        let l = a.rate_limit.unwrap();
        assert_eq!(l.limit_reached, Some(true));
        assert_eq!(l.windows[0].name, "primary_window");
        assert_eq!((l.windows[0].percent_left, l.windows[0].reset_at), (Some(87.5), Some(1_000_000_900)));
        // over 100% used is 0% left; reset from now + reset_after_seconds
        assert_eq!((l.windows[1].percent_left, l.windows[1].reset_at), (Some(0.0), Some(1_000_000_060)));
        assert!(a.user_id.is_none() && a.code_review_rate_limit.is_none());
        assert_eq!(parse_answer("<html>", now_ms).unwrap_err().kind, "bad_response");
        assert_eq!(parse_answer("[1]", now_ms).unwrap_err().kind, "bad_response");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert_eq!(check_endpoint("https://chatgpt.com/").unwrap(), "https://chatgpt.com");
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("http://localhost").is_ok());
        assert!(check_endpoint("http://[::1]:9").is_ok());
        for bad in ["http://example.com", "http://127.0.0.1.evil.com", "ftp://x", "chatgpt.com", "https://u:p@h"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_codes_map_to_our_messages() {
        assert_eq!(status_error(401).message, "token expired or revoked (HTTP 401)");
        assert_eq!(status_error(403).kind, "unauthorized");
        assert_eq!((status_error(502).kind, status_error(502).message.as_str()), ("http_status", "HTTP 502"));
    }
}
