//! `clawauth doctor`: every known way the layers go wrong (`spec/doctor.md`, codes CA001–CA024),
//! found read-only, each with its severity, the layers involved, the ids it is about, evidence
//! that never contains a secret (fingerprints only), and the clawauth command that repairs it.
//! Also looks outside the store: stale lock files, and a running OpenClaw (its process, live
//! lock holders and SQLite leases) that could write its in-memory copy back over any repair.
//! The report is plain data (`--json`, `schema_version` 1) rendered to text at the edge.

mod credentials;
pub mod fix;
mod routing;
mod runtime;
mod sessions;

use credentials::{credentials, shared_refresh_tokens};
use routing::{router, routing};
pub use runtime::gateway_blockers;
use runtime::{leases, locks, processes};
use sessions::sessions;

use crate::model::resolve::Rules;
use crate::model::{AgentState, Layout, State};
use crate::report::status;
use crate::text::{rel, rfc3339_ms};
use crate::workflow::{Fix, Repair};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

pub const SCHEMA_VERSION: u32 = 1;

/// The longest window OpenClaw sets: rate-limit cooldowns back off to at most an hour.
pub const MAX_COOLDOWN_MS: i64 = 60 * 60_000;
/// Billing disables back off to 24 h by default (`auth.cooldowns.billingMaxHours` can raise it).
pub const MAX_DISABLED_MS: i64 = 24 * 3_600_000;
/// Subscription blocks last until the usage window resets; the longest window is a week.
pub const MAX_BLOCKED_MS: i64 = 7 * 24 * 3_600_000;
/// Clock skew and rounding allowance before a window counts as impossible.
const SLACK_MS: i64 = 5 * 60_000;
/// How many sessions an aggregated finding lists in its evidence.
const EVIDENCE_SESSIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The catalogue: code, severity, layers, title. Codes never change meaning once released.
pub const CODES: &[(&str, Severity, &[&str], &str)] = &[
    ("CA001", Severity::Error, &["auth order"], "the stored order names a profile that does not exist"),
    ("CA002", Severity::Error, &["session override"], "a session pin names a profile that does not exist"),
    ("CA003", Severity::Warning, &["session override", "auth order"], "auto pins contradict the current auth order"),
    ("CA004", Severity::Warning, &["session override", "routing state"], "auto pins point at an unusable profile"),
    (
        "CA005",
        Severity::Error,
        &["external repo + active slot"],
        "the active slot matches no profile in the external repo",
    ),
    (
        "CA006",
        Severity::Warning,
        &["stored preference", "external repo + active slot"],
        "the stored preference is not the identity in the active slot",
    ),
    ("CA007", Severity::Error, &["credentials"], "the token's account differs from the stored accountId"),
    ("CA008", Severity::Error, &["credentials"], "a credential entry is broken"),
    ("CA009", Severity::Warning, &["credentials"], "access token expired and no refresh token"),
    ("CA010", Severity::Error, &["credentials"], "the same refresh token is stored twice"),
    ("CA011", Severity::Warning, &["credentials"], "two profile ids hold the same identity"),
    ("CA012", Severity::Info, &["credentials", "display metadata"], "same email, different workspaces"),
    ("CA013", Severity::Warning, &["display metadata"], "the display label is not the token's email"),
    ("CA014", Severity::Warning, &["routing state"], "lastGood names a profile that does not exist"),
    (
        "CA015",
        Severity::Warning,
        &["usage source", "effective runtime profile"],
        "/status shows another account's usage",
    ),
    ("CA016", Severity::Error, &["storage"], "legacy JSON files stranded beside the live SQLite store"),
    ("CA017", Severity::Warning, &["routing state"], "inline routing state shadowed by auth-state.json"),
    ("CA018", Severity::Warning, &["routing state"], "a cooldown/blocked/disabled window is impossibly long"),
    ("CA019", Severity::Warning, &["session override"], "one chat under two keys with different pins"),
    ("CA020", Severity::Warning, &["runtime"], "a stale lock file"),
    ("CA021", Severity::Warning, &["runtime"], "an OpenClaw gateway appears to be running"),
    (
        "CA022",
        Severity::Error,
        &["session override", "auth order"],
        "a user pin names a profile the runtime cannot use",
    ),
    ("CA023", Severity::Error, &["routing state", "auth order"], "routing state keyed by retired openai-codex ids"),
    ("CA024", Severity::Error, &["session override", "storage"], "a session row OpenClaw refuses to run"),
    ("CA025", Severity::Error, &["storage"], "a live state file cannot be read"),
    ("CA026", Severity::Info, &["runtime"], "a running gateway serves this state dir (repairs write beside it)"),
];

fn catalogue(code: &str) -> (Severity, &'static [&'static str], &'static str) {
    CODES.iter().find(|c| c.0 == code).map(|c| (c.1, c.2, c.3)).expect("every code is catalogued")
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub layers: Vec<&'static str>,
    /// The agent the finding is about; `None` for state-wide ones.
    pub agent: Option<String>,
    /// Profile ids, session keys or paths the finding is about.
    pub subjects: Vec<String>,
    pub message: String,
    /// Ids, fields and values (never a secret: tokens appear as fingerprints).
    pub evidence: Map<String, Value>,
    /// The clawauth command that repairs it, or `report only`.
    pub fix: String,
    /// The same repair as a value: what `doctor --fix` plans (`None` for report-only findings).
    #[serde(skip)]
    pub repair: Option<Fix>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fix_alternatives: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AgentSummary {
    pub id: String,
    pub layout: Layout,
    pub rules: Rules,
    pub provider: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub now: String,
    pub state_dir: String,
    pub agents: Vec<AgentSummary>,
    pub summary: Summary,
    /// 0 when nothing at warning or above, 4 otherwise.
    pub exit_code: i32,
    /// What could not be read or was ignored while loading (e.g. a config that is not a file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub findings: Vec<Finding>,
    /// An external router setup: the active slot and the repo identity it holds. Its copies
    /// of that identity are by design: no CA010/CA011 for them, and no merge into the slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<RouterView>,
    /// Interrupted or planned transactions (see `status::PendingTxn`), filled by the caller.
    pub transactions: Vec<status::PendingTxn>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouterView {
    pub slot: String,
    /// Named with `--active-slot`, or found (the default id, else by content).
    pub slot_explicit: bool,
    pub slot_exists: bool,
    /// The repo profile the slot holds a full copy of (accountId, workspace, access, refresh).
    pub holds: Option<String>,
}

/// On a router setup (a repo exists), the active slot and which repo identity it holds.
pub(super) fn router_view(state: &State) -> Option<RouterView> {
    state.repo.as_ref()?;
    let cred = state.agents.first().and_then(|a| a.auth.profiles.get(&state.active_slot));
    let holds = crate::model::slot::repo_matches(state, cred).into_iter().find(|m| m.full()).map(|m| m.repo_id);
    Some(RouterView {
        slot: state.active_slot.clone(),
        slot_explicit: state.active_slot_explicit,
        slot_exists: cred.is_some(),
        holds,
    })
}

#[derive(Debug, Clone)]
pub struct Options {
    pub rules: Option<Rules>,
    /// Where to look for running processes (`/proc`; tests point it at a fake tree).
    pub proc_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options { rules: None, proc_dir: PathBuf::from("/proc") }
    }
}

struct Out<'s> {
    state: &'s State,
    findings: Vec<Finding>,
}

impl Out<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        code: &'static str,
        agent: Option<&str>,
        subjects: Vec<String>,
        message: String,
        evidence: Value,
        fix: Remedy,
        alternatives: Vec<String>,
    ) {
        let (fix, repair) = match fix {
            Remedy::Repair(f) => (f.command_line(), Some(f)),
            Remedy::ReportOnly => ("report only".to_string(), None),
            Remedy::NothingToFix => ("none".to_string(), None),
        };
        let (severity, layers, title) = catalogue(code);
        let evidence = match evidence {
            Value::Object(m) => m,
            other => [("value".to_string(), other)].into_iter().collect(),
        };
        self.findings.push(Finding {
            code,
            severity,
            title,
            layers: layers.to_vec(),
            agent: agent.map(str::to_owned),
            subjects,
            message,
            evidence,
            fix,
            repair,
            fix_alternatives: alternatives,
        });
    }
}

/// The agent a suggested repair names (`--agent A`) when A is not the default agent.
fn agent_flag(state: &State, agent: &str) -> Option<String> {
    let default = state.install.all_agents.iter().find(|a| a.is_default).map(|a| a.id.as_str());
    if default == Some(agent) {
        None
    } else {
        Some(agent.to_string())
    }
}

/// What repairs a finding: a typed repair (planned by `doctor --fix`), or nothing clawauth does.
#[derive(Debug, Clone)]
pub enum Remedy {
    Repair(Fix),
    ReportOnly,
    /// Not a problem (an info finding that says so).
    NothingToFix,
}

/// A finding's fix: `repair` on `agent`.
fn remedy(agent: &Option<String>, repair: Repair) -> Remedy {
    Remedy::Repair(Fix::new(agent.clone(), repair))
}

/// An alternative fix, shown as the command a person would type.
fn command(agent: &Option<String>, repair: Repair) -> String {
    Fix::new(agent.clone(), repair).command_line()
}

pub(super) fn inherited_origin(a: &AgentState, key: &str) -> bool {
    a.auth.origin.get(key).is_some_and(|o| o.contains("inherited from main agent"))
}

/// Which other agents also use a profile of this agent's store (they inherit it).
pub(super) fn inherited_by(state: &State, agent: &AgentState, id: &str) -> Vec<String> {
    if !agent.paths.is_default {
        return vec![];
    }
    state
        .agents
        .iter()
        .filter(|o| o.paths.id != agent.paths.id && o.auth.inherited.iter().any(|x| x == id))
        .map(|o| o.paths.id.clone())
        .collect()
}

pub fn run(state: &State, opts: &Options) -> DoctorReport {
    let mut out = Out { state, findings: vec![] };
    let mut agents = vec![];
    for a in &state.agents {
        let rules = opts.rules.unwrap_or(a.default_rules());
        agents.push(AgentSummary { id: a.paths.id.clone(), layout: a.layout, rules, provider: a.provider.clone() });
        storage(&mut out, a);
        if !a.unreadable.is_empty() {
            // every other finding would be built on a partial read and mislead (an auth store
            // that cannot be read looks like one without profiles): report what is unreadable
            unreadable(&mut out, a);
            continue;
        }
        invalid_rows(&mut out, a);
        routing(&mut out, a);
        credentials(&mut out, a);
        sessions(&mut out, a, rules);
    }
    shared_refresh_tokens(&mut out);
    router(&mut out);
    locks(&mut out);
    leases(&mut out);
    processes(&mut out, &opts.proc_dir);

    let mut findings = out.findings;
    findings.sort_by(|a, b| (a.severity, a.code, &a.agent).cmp(&(b.severity, b.code, &b.agent)));
    let mut summary = Summary::default();
    for f in &findings {
        match f.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Info => summary.infos += 1,
        }
    }
    let exit_code =
        if summary.errors + summary.warnings > 0 { crate::error::exit::FINDINGS } else { crate::error::exit::OK };
    DoctorReport {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: rfc3339_ms(state.now_ms),
        state_dir: state.install.state_dir.display().to_string(),
        agents,
        summary,
        exit_code,
        warnings: state.warnings.clone(),
        findings,
        router: router_view(state),
        transactions: vec![],
    }
}

// ---------------------------------------------------------------------------------------------
// storage era

fn storage(out: &mut Out, a: &AgentState) {
    if a.stranded.is_empty() {
        return;
    }
    let live: Vec<String> = [&a.auth.store_loc, &a.auth.state_loc]
        .into_iter()
        .flatten()
        .map(|l| l.display(&out.state.install.state_dir))
        .collect();
    let files: Vec<String> = a.stranded.iter().map(|p| rel(&out.state.install.state_dir, p)).collect();
    out.push(
        "CA016",
        Some(&a.paths.id),
        files.clone(),
        format!(
            "{} legacy JSON file(s) sit beside the live SQLite store (layout {}); OpenClaw reads the database, so edits to them do nothing",
            files.len(),
            a.layout.name()
        ),
        json!({"layout": a.layout.name(), "stranded": files, "live_store": live}),
        Remedy::ReportOnly,
        vec![],
    );
}

/// CA025: a live document of this agent could not be read (a special file, one too large, a
/// broken link, invalid JSON, ...). Nothing can be judged or repaired until it is fixed.
fn unreadable(out: &mut Out, a: &AgentState) {
    for what in &a.unreadable {
        out.push(
            "CA025",
            Some(&a.paths.id),
            vec![],
            format!("{what}; the other checks of agent {} are skipped until it can be read", a.paths.id),
            json!({"error": what}),
            Remedy::ReportOnly,
            vec![],
        );
    }
}

/// CA024: `session_nodes` rows with `entry_valid = 0`. A running 2026.9.6 gateway refuses
/// every turn on such a chat ("invalid persisted session row requires repair"). One finding
/// per row, so `--fix` re-validates each as its own step.
fn invalid_rows(out: &mut Out, a: &AgentState) {
    let agent = a.paths.id.as_str();
    let flag = agent_flag(out.state, agent);
    for r in &a.invalid_rows {
        let row = format!("{}#session_nodes[{}]", rel(&out.state.install.state_dir, &r.db), r.key);
        let (message, fix) = match &r.problem {
            None => (
                format!(
                    "{row} has entry_valid = 0: OpenClaw refuses every turn on {} until it is validated again; its entry passes OpenClaw's checks",
                    r.key
                ),
                remedy(&flag, Repair::Revalidate { session: Some(r.key.clone()) }),
            ),
            Some(why) => (
                format!(
                    "{row} has entry_valid = 0 and OpenClaw's checks reject its entry ({why}): only OpenClaw's own repair can rebuild it (stop the gateway, run `openclaw doctor --fix`)"
                ),
                Remedy::ReportOnly,
            ),
        };
        out.push(
            "CA024",
            Some(agent),
            vec![r.key.clone()],
            message,
            json!({"row": row, "session": r.key, "entry_valid": 0, "entry_problem": r.problem}),
            fix,
            vec![],
        );
    }
}
