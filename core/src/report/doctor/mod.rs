//! `clawauth doctor`: every known way the layers go wrong (`spec/doctor.md`, codes CA001–CA023),
//! found read-only, each with its severity, the layers involved, the ids it is about, evidence
//! that never contains a secret (fingerprints only), and the clawauth command that repairs it.
//! Also looks outside the store: stale lock files, and a running OpenClaw (its process, live
//! lock holders and SQLite leases) that could write its in-memory copy back over any repair.
//! The report is plain data (`--json`, `schema_version` 1) rendered to text at the edge.

use crate::layout::lock::{self, Holder};
use crate::layout::store;
use crate::model::resolve::{self, Inputs, ModelScope, OrderTrace, Rules};
use crate::model::token::{self, TokenState};
use crate::model::*;
use crate::report::explain::Identity;
use crate::report::status;
use crate::text::{relative, rfc3339_ms};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
/// How many subjects the text output names before summarising.
const SUBJECTS_SHOWN: usize = 6;
/// How many evidence records per field the text output shows.
const EVIDENCE_LINES_SHOWN: usize = 5;

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
    pub findings: Vec<Finding>,
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
        fix: String,
        alternatives: Vec<String>,
    ) {
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
            fix_alternatives: alternatives,
        });
    }
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.state.install.state_dir)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    }
}

/// `--agent A` in a suggested command when A is not the default agent.
fn agent_flag(state: &State, agent: &str) -> String {
    let default = state.install.all_agents.iter().find(|a| a.is_default).map(|a| a.id.as_str());
    if default == Some(agent) {
        String::new()
    } else {
        format!("--agent {agent} ")
    }
}

/// Quote an argument for a shell when it needs it.
fn sh(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn inherited_origin(a: &AgentState, key: &str) -> bool {
    a.auth.origin.get(key).is_some_and(|o| o.contains("inherited from main agent"))
}

/// Which other agents also use a profile of this agent's store (they inherit it).
fn inherited_by(state: &State, agent: &AgentState, id: &str) -> Vec<String> {
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
        findings,
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
    let files: Vec<String> = a.stranded.iter().map(|p| out.rel(p)).collect();
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
        "report only".into(),
        vec![],
    );
}

// ---------------------------------------------------------------------------------------------
// routing state: order, lastGood, usageStats

/// The id a retired `openai-codex:*` id became, if that profile exists.
fn live_id(a: &AgentState, id: &str) -> Option<String> {
    id.strip_prefix("openai-codex:").map(|r| format!("openai:{r}")).filter(|x| a.auth.profiles.contains_key(x))
}

fn routing(out: &mut Out, a: &AgentState) {
    let agent = a.paths.id.as_str();
    let flag = agent_flag(out.state, agent);
    // after the provider rename the runtime asks for `openai`: keys of the retired spelling
    // are dead, and they are reported once, as CA023, not again as CA001/CA014
    let renamed = a.provider == "openai" && a.auth.profiles.keys().any(|k| k.starts_with("openai:"));
    let retired_provider = |k: &str| renamed && resolve::normalize_provider(k) == "openai-codex";

    // CA001
    for (p, v) in &a.auth.order {
        if retired_provider(p) || inherited_origin(a, &format!("order/{p}")) {
            continue;
        }
        let ids: Vec<String> =
            v.as_array().map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
        let missing: Vec<String> = ids.iter().filter(|id| !a.auth.profiles.contains_key(id.trim())).cloned().collect();
        if missing.is_empty() {
            continue;
        }
        let keep: Vec<String> = ids.iter().filter(|id| !missing.contains(id)).cloned().collect();
        let provider = resolve::normalize_provider(p);
        let fix = if keep.is_empty() {
            format!("clawauth {flag}order clear {}", sh(&provider))
        } else {
            format!(
                "clawauth {flag}order set {} {}",
                sh(&provider),
                keep.iter().map(|s| sh(s)).collect::<Vec<_>>().join(" ")
            )
        };
        let mut subjects = vec![format!("order/{p}")];
        subjects.extend(missing.iter().cloned());
        out.push(
            "CA001",
            Some(agent),
            subjects,
            format!("order[{p}] names {} which do(es) not exist; OpenClaw skips them", missing.join(", ")),
            json!({"provider": p, "order": ids, "missing": missing, "stored_in": a.auth.origin.get(&format!("order/{p}"))}),
            fix,
            vec![],
        );
    }

    // CA014
    for (p, v) in &a.auth.last_good {
        if retired_provider(p) || inherited_origin(a, &format!("lastGood/{p}")) {
            continue;
        }
        let Some(id) = v.as_str() else { continue };
        if a.auth.profiles.contains_key(id.trim()) {
            continue;
        }
        let provider = resolve::normalize_provider(p);
        let (fix, alts) = match a.map_profile_id(id) {
            Some(new) => (
                format!("clawauth {flag}lastgood set {} {}", sh(&provider), sh(&new)),
                vec![format!("clawauth {flag}lastgood clear {}", sh(&provider))],
            ),
            None => (format!("clawauth {flag}lastgood clear {}", sh(&provider)), vec![]),
        };
        out.push(
            "CA014",
            Some(agent),
            vec![format!("lastGood/{p}"), id.to_string()],
            format!("lastGood[{p}] names {id}, which does not exist"),
            json!({"provider": p, "last_good": id, "stored_in": a.auth.origin.get(&format!("lastGood/{p}"))}),
            fix,
            alts,
        );
    }

    // CA023
    if renamed {
        let mut keys = vec![];
        let mut mapping = Map::new();
        let mut lost_windows = vec![];
        for p in a.auth.order.keys().filter(|k| retired_provider(k)) {
            if !inherited_origin(a, &format!("order/{p}")) {
                keys.push(format!("order/{p}"));
            }
        }
        for p in a.auth.last_good.keys().filter(|k| retired_provider(k)) {
            if !inherited_origin(a, &format!("lastGood/{p}")) {
                keys.push(format!("lastGood/{p}"));
            }
        }
        for (id, st) in &a.auth.usage_stats {
            if id.starts_with("openai-codex:")
                && !a.auth.profiles.contains_key(id)
                && !inherited_origin(a, &format!("usageStats/{id}"))
            {
                keys.push(format!("usageStats/{id}"));
                if let Some(w) = status::active_window(Some(st), out.state.now_ms) {
                    lost_windows
                        .push(json!({"profile": id, "kind": w.kind, "until": w.until_rfc3339, "reason": w.reason}));
                }
            }
        }
        let mut ids: Vec<String> = vec![];
        for v in a.auth.order.iter().filter(|(k, _)| retired_provider(k)).map(|(_, v)| v) {
            ids.extend(v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
        }
        ids.extend(
            a.auth
                .last_good
                .iter()
                .filter(|(k, _)| retired_provider(k))
                .filter_map(|(_, v)| v.as_str().map(str::to_owned)),
        );
        ids.extend(keys.iter().filter_map(|k| k.strip_prefix("usageStats/")).map(str::to_owned));
        for id in ids {
            if let Some(n) = live_id(a, &id) {
                mapping.insert(id, Value::String(n));
            }
        }
        if !keys.is_empty() {
            let live_order = a.auth.order.keys().any(|k| resolve::normalize_provider(k) == "openai");
            let origins: Vec<String> = keys.iter().filter_map(|k| a.auth.origin.get(k)).cloned().collect::<Vec<_>>();
            let mut origins_d = origins.clone();
            origins_d.sort();
            origins_d.dedup();
            out.push(
                "CA023",
                Some(agent),
                keys.clone(),
                format!(
                    "routing state still uses the retired openai-codex ids while the live profiles are openai:* — {}{}",
                    if live_order { "" } else { "the stored order no longer applies, " },
                    if lost_windows.is_empty() { "and their stats are ignored".to_string() } else { format!("and {} active cooldown/block window(s) silently stopped applying", lost_windows.len()) }
                ),
                json!({"retired_keys": keys, "renames": mapping, "live_order_exists": live_order, "ignored_windows": lost_windows, "stored_in": origins_d}),
                format!("clawauth {flag}rekey-state"),
                vec![],
            );
        }
    }

    // CA017: layout B inline state that auth-state.json shadows per key
    if let Some(inline) = &a.auth.inline_state {
        let mut shadowed = vec![];
        for (field, live) in
            [("order", &a.auth.order), ("lastGood", &a.auth.last_good), ("usageStats", &a.auth.usage_stats)]
        {
            let Some(m) = inline.get(field).and_then(Value::as_object) else { continue };
            for (k, v) in m {
                let from = a.auth.origin.get(&format!("{field}/{k}")).cloned().unwrap_or_default();
                if from.ends_with("auth-state.json") && live.get(k) != Some(v) {
                    shadowed.push(json!({"key": format!("{field}/{k}"), "inline": token::redact(v), "auth_state": live.get(k).map(token::redact)}));
                }
            }
        }
        if !shadowed.is_empty() {
            let keys: Vec<String> = shadowed.iter().filter_map(|s| s["key"].as_str().map(str::to_owned)).collect();
            out.push(
                "CA017",
                Some(agent),
                keys.clone(),
                format!(
                    "auth-profiles.json carries inline routing state for {} that auth-state.json overrides: edits to the inline copy do nothing, and OpenClaw drops it on its next write",
                    keys.join(", ")
                ),
                json!({"shadowed": shadowed}),
                "report only".into(),
                vec![],
            );
        }
    }

    // CA018
    let billing_max = out
        .state
        .install
        .config
        .as_ref()
        .and_then(|c| c.pointer("/auth/cooldowns/billingMaxHours"))
        .and_then(Value::as_f64)
        .map(|h| (h * 3_600_000.0) as i64)
        .unwrap_or(0)
        .max(MAX_DISABLED_MS);
    let now = out.state.now_ms;
    for (id, st) in &a.auth.usage_stats {
        if inherited_origin(a, &format!("usageStats/{id}")) {
            continue;
        }
        for (field, max) in
            [("cooldownUntil", MAX_COOLDOWN_MS), ("blockedUntil", MAX_BLOCKED_MS), ("disabledUntil", billing_max)]
        {
            let Some(until) = num_field(st, field) else { continue };
            if until - now <= max + SLACK_MS {
                continue;
            }
            let reason_key = field.replace("Until", "Reason");
            out.push(
                "CA018",
                Some(agent),
                vec![id.clone()],
                format!(
                    "{id}: {field} ends {} ({}), longer than OpenClaw ever sets ({}): the profile is shut out until someone clears it",
                    rfc3339_ms(until),
                    relative(until, now),
                    human_ms(max)
                ),
                json!({"profile": id, "field": field, "until": until, "until_rfc3339": rfc3339_ms(until), "reason": st.get(&reason_key), "longest_openclaw_sets_ms": max}),
                format!("clawauth {flag}cooldown clear {}", sh(id)),
                vec![],
            );
        }
    }
}

fn human_ms(ms: i64) -> String {
    if ms % 86_400_000 == 0 {
        format!("{} d", ms / 86_400_000)
    } else if ms % 3_600_000 == 0 {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

// ---------------------------------------------------------------------------------------------
// credentials

fn credentials(out: &mut Out, a: &AgentState) {
    let now = out.state.now_ms;
    let agent = a.paths.id.as_str();
    let flag = agent_flag(out.state, agent);
    let cfg = out.state.install.config.as_ref();
    let views = a.profile_views(now);
    for v in views.iter().filter(|v| !v.inherited) {
        let raw = &a.auth.profiles[&v.id];
        let also = inherited_by(out.state, a, &v.id);
        let restore = format!("clawauth {flag}restore-token {}", sh(&v.id));
        let is_oauth = v.kind.as_deref() == Some("oauth");
        // CA007
        if let (Some(stored), Some(claim)) = (&v.account_id, v.claims.as_ref().and_then(|c| c.account_id.as_ref())) {
            if stored != claim {
                out.push(
                    "CA007",
                    Some(agent),
                    vec![v.id.clone()],
                    format!("{}: stored accountId {stored} but the access token belongs to account {claim} ({}): the wrong login is stored under this id", v.id, v.claim_email().unwrap_or("no email")),
                    json!({"profile": v.id, "stored_account_id": stored, "token_account_id": claim, "token_email": v.claim_email(), "stored_email": v.email, "access": v.access_fp, "inherited_by": also}),
                    restore.clone(),
                    vec![],
                );
            }
        }
        // CA008
        let mut problems = v.problems.clone();
        let access = raw.get("access").and_then(Value::as_str);
        if is_oauth || access.is_some() {
            match v.token_state {
                TokenState::NotAJwt => problems.push("access token is not a decodable JWT".into()),
                TokenState::Missing if is_oauth => problems.push("no access token".into()),
                _ => {}
            }
        }
        if !problems.is_empty() {
            out.push(
                "CA008",
                Some(agent),
                vec![v.id.clone()],
                format!("{}: broken credential entry: {}", v.id, problems.join("; ")),
                json!({"profile": v.id, "problems": problems, "type": v.kind, "provider": v.provider, "access": v.access_fp, "refresh": v.refresh_fp, "token_state": v.token_state, "inherited_by": also}),
                restore.clone(),
                vec![],
            );
        }
        // CA009
        let has_refresh = raw.get("refresh").and_then(Value::as_str).is_some_and(|r| !r.trim().is_empty());
        if v.token_state == TokenState::Expired && !has_refresh {
            let exp = v.claims.as_ref().and_then(|c| c.exp).map(|s| s.saturating_mul(1000)).or(v.expires);
            out.push(
                "CA009",
                Some(agent),
                vec![v.id.clone()],
                format!(
                    "{}: the access token expired{} and there is no refresh token: OpenClaw cannot renew it",
                    v.id,
                    exp.map(|e| format!(" {}", relative(e, now))).unwrap_or_default()
                ),
                json!({"profile": v.id, "expired_at": exp.map(rfc3339_ms), "access": v.access_fp, "refresh": Value::Null, "inherited_by": also}),
                restore.clone(),
                vec![format!("openclaw models auth login --provider {} (re-login)", v.provider.clone().unwrap_or_default())],
            );
        }
        // CA013
        if let Some(te) = v.claim_email() {
            let pc = cfg.and_then(|c| c.pointer("/auth/profiles")).and_then(|p| p.get(&v.id));
            let fields = [
                ("config auth.profiles.email", pc.and_then(|p| str_field(p, "email"))),
                ("config auth.profiles.displayName", pc.and_then(|p| str_field(p, "displayName"))),
                ("credential email", v.email.clone()),
                ("credential displayName", v.display_name.clone()),
            ];
            let lies: Vec<Value> = fields
                .iter()
                .filter_map(|(f, val)| {
                    let s = val.as_deref()?.trim();
                    // a display name that is not an address is a name, not a claim about the token
                    (s.contains('@') && !s.eq_ignore_ascii_case(te)).then(|| json!({"field": f, "value": s}))
                })
                .collect();
            if !lies.is_empty() {
                let (label, src) = resolve::display_label(cfg, &a.auth.profiles, &v.id);
                out.push(
                    "CA013",
                    Some(agent),
                    vec![v.id.clone()],
                    format!(
                        "{}: the label says {} but the token's email is {te}",
                        v.id,
                        lies.iter().filter_map(|l| l["value"].as_str()).collect::<Vec<_>>().join(" / ")
                    ),
                    json!({"profile": v.id, "token_email": te, "mismatches": lies, "label": label, "label_source": src}),
                    "report only".into(),
                    vec![],
                );
            }
        }
    }

    // CA011 and CA012 over everything this agent's runtime sees, once per group
    let mut by_identity: BTreeMap<(String, String), Vec<&ProfileView>> = BTreeMap::new();
    let mut by_email: BTreeMap<String, Vec<&ProfileView>> = BTreeMap::new();
    for v in &views {
        if let Some(acct) = v.account() {
            by_identity.entry((acct.to_string(), v.user_id().unwrap_or("").to_string())).or_default().push(v);
        }
        if let Some(e) = v.claim_email().map(str::to_owned).or_else(|| v.email.clone()) {
            by_email.entry(e.to_lowercase()).or_default().push(v);
        }
    }
    let slot = &out.state.active_slot;
    let router = out.state.repo.is_some();
    for ((acct, user), group) in &by_identity {
        if group.len() < 2 || group.iter().all(|v| v.inherited) {
            continue;
        }
        let ids: Vec<String> = group.iter().map(|v| v.id.clone()).collect();
        // with an external router the slot is the copy that must stay; otherwise a stale
        // `<provider>:default` beside a named profile is the one to drop (openclaw#59704)
        let keep = if router && ids.contains(slot) {
            slot.clone()
        } else {
            ids.iter().find(|i| !i.ends_with(":default")).cloned().unwrap_or_else(|| ids[0].clone())
        };
        let drops: Vec<&String> = ids.iter().filter(|i| **i != keep).collect();
        let mut fixes: Vec<String> =
            drops.iter().map(|d| format!("clawauth {flag}profile merge {} {}", sh(&keep), sh(d))).collect();
        let fix = fixes.remove(0);
        out.push(
            "CA011",
            Some(agent),
            ids.clone(),
            format!("{} hold the same identity (account {acct}{}): rotation counts it twice and their tokens diverge", ids.join(" and "), if user.is_empty() { String::new() } else { format!(", user {user}") }),
            json!({"profiles": ids, "account_id": acct, "user_id": if user.is_empty() { Value::Null } else { json!(user) }, "emails": group.iter().map(|v| v.claim_email().map(str::to_owned).or_else(|| v.email.clone())).collect::<Vec<_>>(), "refresh": group.iter().map(|v| v.refresh_fp.clone()).collect::<Vec<_>>(), "keep": keep}),
            fix,
            fixes,
        );
    }
    for (email, group) in &by_email {
        let mut accts: Vec<&str> = group.iter().filter_map(|v| v.account()).collect();
        accts.sort();
        accts.dedup();
        if accts.len() < 2 || group.iter().all(|v| v.inherited) {
            continue;
        }
        let ids: Vec<String> = group.iter().map(|v| v.id.clone()).collect();
        out.push(
            "CA012",
            Some(agent),
            ids.clone(),
            format!("{email} signs in to {} workspaces ({}): separate identities, kept as separate profiles — correct", accts.len(), ids.join(", ")),
            json!({"email": email, "profiles": group.iter().map(|v| json!({"profile": v.id, "account_id": v.account(), "plan": v.plan.clone().or_else(|| v.claims.as_ref().and_then(|c| c.plan.clone()))})).collect::<Vec<_>>()}),
            "none".into(),
            vec![],
        );
    }
}

/// CA010: one refresh token in two places, in one agent's store or across agents.
fn shared_refresh_tokens(out: &mut Out) {
    let state = out.state;
    let mut seen: BTreeMap<String, Vec<(&AgentState, &str, &Value)>> = BTreeMap::new();
    for a in &state.agents {
        for (id, raw) in &a.auth.profiles {
            if a.auth.inherited.contains(id) {
                continue;
            }
            if let Some(r) = raw.get("refresh").and_then(Value::as_str).filter(|r| !r.trim().is_empty()) {
                seen.entry(token::secret_hash(r)).or_default().push((a, id.as_str(), raw));
            }
        }
    }
    for copies in seen.values().filter(|c| c.len() > 1) {
        let fp = copies[0].2.get("refresh").and_then(Value::as_str).map(token::fingerprint).unwrap_or_default();
        let agents: Vec<&str> = {
            let mut v: Vec<&str> = copies.iter().map(|c| c.0.paths.id.as_str()).collect();
            v.dedup();
            v
        };
        let cross = agents.len() > 1;
        // which copy to drop: a non-default agent's copy (it then inherits main's), else a
        // stale `:default` beside a named one (unless it is the router's slot)
        let slot = &state.active_slot;
        let stale = if cross {
            copies.iter().find(|c| !c.0.paths.is_default).unwrap_or(&copies[1])
        } else {
            copies
                .iter()
                .find(|c| c.1.ends_with(":default") && !(state.repo.is_some() && c.1 == slot))
                .or_else(|| copies.iter().find(|c| state.repo.is_some() && c.1 != slot))
                .unwrap_or(&copies[1])
        };
        let flag = agent_flag(state, &stale.0.paths.id);
        let list: Vec<Value> = copies
            .iter()
            .map(|(a, id, raw)| json!({"agent": a.paths.id, "profile": id, "expires": num_field(raw, "expires").map(rfc3339_ms), "account_id": str_field(raw, "accountId")}))
            .collect();
        let places: Vec<String> = copies
            .iter()
            .map(|(a, id, _)| if cross { format!("{id} (agent {})", a.paths.id) } else { id.to_string() })
            .collect();
        out.push(
            "CA010",
            if cross { None } else { Some(agents[0]) },
            copies.iter().map(|c| c.1.to_string()).collect(),
            format!(
                "the same refresh token {fp} is stored in {}: refresh tokens are single-use, so the first refresh logs the other copy out (refresh_token_reused)",
                places.join(" and ")
            ),
            json!({"refresh": fp, "copies": list, "across_agents": cross}),
            format!("clawauth {flag}profile remove {}", sh(stale.1)),
            vec![format!("clawauth {flag}restore-token {}", sh(stale.1))],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// sessions

struct Hit {
    key: String,
    detail: Value,
}

fn sessions(out: &mut Out, a: &AgentState, rules: Rules) {
    let state = out.state;
    let now = state.now_ms;
    let agent = a.paths.id.as_str();
    let flag = agent_flag(state, agent);
    let cfg = state.install.config.as_ref();
    let inp = Inputs::new(a, cfg, rules, now);
    let provider = a.provider.as_str();
    // the order depends only on the session's model scope: one resolution per scope
    let mut orders: HashMap<ModelScope, OrderTrace> = HashMap::new();
    let plain = resolve::resolve_order(&inp, provider, &ModelScope::Unscoped);
    let mut ca003: Vec<Hit> = vec![];
    let mut ca004: Vec<Hit> = vec![];
    let mut ca015: Vec<Hit> = vec![];
    for s in &a.sessions {
        let pin = s.pin.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if pin.is_none() && !s.is_user_facing() {
            continue;
        }
        let scope = resolve::session_scope_of(rules, s);
        let ot = orders.entry(scope.clone()).or_insert_with(|| resolve::resolve_order(&inp, provider, &scope)).clone();
        let t = resolve::resolve_session_with_order(&inp, provider, s, false, ot);
        let src = t.pin_source.clone().unwrap_or_default();
        let src_note = if t.pin_source_inferred { format!("{src} (inferred)") } else { src.clone() };
        let key = sh(&s.key);
        if let Some(p) = pin {
            let cand = t.order.candidates.iter().find(|c| c.id == p);
            let unusable = cand.is_some_and(|c| c.in_cooldown);
            let in_order = t.order.order.iter().any(|x| x == p);
            let first_usable =
                t.order.order.iter().find(|id| !t.order.candidates.iter().any(|c| &c.id == *id && c.in_cooldown));
            if !a.auth.profiles.contains_key(p) {
                // CA002
                let same = a.map_profile_id(p);
                let consequence = if t.profile.as_deref() == Some(p) {
                    "OpenClaw 2026.9 keeps a dangling user pin: the chat cannot run".to_string()
                } else {
                    format!(
                        "OpenClaw clears the pin{} and the chat moves to {}",
                        if src == "user" { ", losing the user's choice," } else { "" },
                        t.profile.clone().unwrap_or_else(|| "no profile".into())
                    )
                };
                // a pin left on a retired `openai-codex:*` id whose identity now lives under
                // `openai:*`: resync moves it there keeping its source, in one step per chat
                let migrated = crate::workflow::resync::migrated_pin(a, p, now).map(|(n, _)| n);
                let (fix, alts) = match &same {
                    Some(n) if migrated.as_deref() == Some(n.as_str()) => (
                        format!("clawauth {flag}resync --session {key}"),
                        vec![
                            format!(
                                "clawauth {flag}pin {key} {}{}",
                                sh(n),
                                if src == "auto" { " --source auto" } else { "" }
                            ),
                            format!("clawauth {flag}unpin {key}"),
                        ],
                    ),
                    Some(n) => (
                        format!(
                            "clawauth {flag}pin {key} {}{}",
                            sh(n),
                            if src == "auto" { " --source auto" } else { "" }
                        ),
                        vec![format!("clawauth {flag}unpin {key}")],
                    ),
                    None => (format!("clawauth {flag}unpin {key}"), vec![]),
                };
                out.push(
                    "CA002",
                    Some(agent),
                    vec![s.key.clone(), p.to_string()],
                    format!("{} is pinned ({src_note}) to {p}, which does not exist: {consequence}", s.key),
                    json!({"session": s.key, "pin": p, "pin_source": src, "pin_source_inferred": t.pin_source_inferred, "same_identity_now": same, "next_reply": t.profile, "rules": rules}),
                    fix,
                    alts,
                );
            } else if src == "auto" && t.profile.as_deref() == Some(p) && in_order && !unusable {
                // CA003: the runtime keeps the auto pin although the order now starts elsewhere
                if let Some(f) = first_usable.filter(|f| f.as_str() != p) {
                    ca003.push(Hit {
                        key: s.key.clone(),
                        detail: json!({"session": s.key, "pin": p, "first_usable_in_order": f}),
                    });
                }
            } else if src == "auto" && unusable {
                // CA004
                let w = status::active_window(a.auth.usage_stats.get(p), now);
                ca004.push(Hit {
                    key: s.key.clone(),
                    detail: json!({"session": s.key, "pin": p, "window": w.as_ref().map(|w| json!({"kind": w.kind, "until": w.until_rfc3339, "reason": w.reason, "model": w.model})), "next_reply": t.profile}),
                });
            }
            // CA022: the runtime keeps a user pin it cannot use
            if (src == "user" || src == "user-link")
                && t.profile.as_deref() == Some(p)
                && a.auth.profiles.contains_key(p)
                && (!in_order || unusable)
            {
                let why = if let Some(i) = cand.and_then(|c| c.ineligible.as_ref()) {
                    format!("ineligible: {}", i.describe())
                } else if unusable {
                    let w = status::active_window(a.auth.usage_stats.get(p), now);
                    format!(
                        "unusable: {}",
                        w.map(|w| format!("{} until {}", w.kind, w.until_rfc3339)).unwrap_or_else(|| "window".into())
                    )
                } else {
                    "not in the effective auth order".to_string()
                };
                let mut alts = vec![];
                if let Some(f) = first_usable {
                    alts.push(format!("clawauth {flag}pin {key} {}", sh(f)));
                }
                out.push(
                    "CA022",
                    Some(agent),
                    vec![s.key.clone(), p.to_string()],
                    format!("{} has a user pin on {p}, which is {why}; OpenClaw keeps the pin, so the chat fails over to another model instead of another account", s.key),
                    json!({"session": s.key, "pin": p, "pin_source": src, "reason": why, "effective_order": t.order.order, "rules": rules}),
                    format!("clawauth {flag}unpin {key}"),
                    alts,
                );
            }
        }
        // CA015
        if s.is_user_facing() {
            let usage = resolve::usage_source(&inp, &plain, Some(s));
            if t.profile.is_some() && usage.is_some() && t.profile != usage {
                ca015.push(Hit {
                    key: s.key.clone(),
                    detail: json!({"session": s.key, "next_reply": t.profile, "usage_source": usage, "pin": s.pin}),
                });
            }
        }
    }
    let resync = |hits: &[Hit]| -> String {
        if hits.len() == 1 {
            format!("clawauth {flag}resync --session {} --auto-only", sh(&hits[0].key))
        } else {
            format!("clawauth {flag}resync --all --auto-only")
        }
    };
    let evidence = |hits: &[Hit]| -> Value {
        json!({"count": hits.len(), "sessions": hits.iter().take(EVIDENCE_SESSIONS).map(|h| h.detail.clone()).collect::<Vec<_>>(), "truncated": hits.len() > EVIDENCE_SESSIONS})
    };
    if !ca003.is_empty() {
        out.push(
            "CA003",
            Some(agent),
            ca003.iter().map(|h| h.key.clone()).collect(),
            format!(
                "{} session(s) keep an auto pin that is not the first usable profile of the current order: the order change does not reach them",
                ca003.len()
            ),
            evidence(&ca003),
            resync(&ca003),
            vec![],
        );
    }
    if !ca004.is_empty() {
        out.push(
            "CA004",
            Some(agent),
            ca004.iter().map(|h| h.key.clone()).collect(),
            format!("{} session(s) have an auto pin on a profile in cooldown/blocked/disabled", ca004.len()),
            evidence(&ca004),
            resync(&ca004),
            vec![],
        );
    }
    if !ca015.is_empty() {
        out.push(
            "CA015",
            Some(agent),
            ca015.iter().map(|h| h.key.clone()).collect(),
            format!(
                "in {} session(s) /status shows the usage of another profile than the one that answers (openclaw#15089: usage ignores the pin)",
                ca015.len()
            ),
            evidence(&ca015),
            "report only".into(),
            vec![],
        );
    }

    // CA019: case-variant keys of one chat with different pins
    let mut groups: HashMap<String, Vec<&Session>> = HashMap::new();
    for s in &a.sessions {
        groups.entry(s.key.to_lowercase()).or_default().push(s);
    }
    let mut folded: Vec<(&String, &Vec<&Session>)> = groups.iter().filter(|(_, g)| g.len() > 1).collect();
    folded.sort_by_key(|(k, _)| *k);
    for (lower, g) in folded {
        let first = (&g[0].pin, &g[0].pin_source);
        if g.iter().all(|s| (&s.pin, &s.pin_source) == first) {
            continue;
        }
        let keys: Vec<String> = g.iter().map(|s| s.key.clone()).collect();
        let target = keys.iter().find(|k| *k == lower).unwrap_or(&keys[0]);
        out.push(
            "CA019",
            Some(agent),
            keys.clone(),
            format!("one chat appears under {} keys that differ only by case, with different pins: OpenClaw picks the most recently updated", keys.join(" and ")),
            json!({"keys": g.iter().map(|s| json!({"key": s.key, "pin": s.pin, "pin_source": s.pin_source, "updated_at": s.updated_at.map(rfc3339_ms)})).collect::<Vec<_>>()}),
            format!("clawauth {flag}resync --session {} --auto-only", sh(target)),
            vec![],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// external router

fn router(out: &mut Out) {
    let state = out.state;
    let Some(first) = state.agents.first() else { return };
    let now = state.now_ms;
    let slot = &state.active_slot;
    let slot_cred = first.auth.profiles.get(slot);
    let mut holds = None;
    if let (Some(repo), Some(cred)) = (&state.repo, slot_cred) {
        let cands = status::repo_matches(state, Some(cred));
        holds = cands.iter().find(|m| m.full()).map(|m| m.repo_id.clone());
        if holds.is_none() {
            let best = cands
                .iter()
                .max_by_key(|m| (m.account_id && m.workspace) as u8 * 4 + m.refresh as u8 * 2 + m.access as u8)
                .map(|m| m.repo_id.clone());
            let target = state.preference.clone().filter(|p| repo.profiles.contains_key(p)).or(best);
            let fix = match &target {
                Some(t) => format!("clawauth activate {}", sh(t)),
                None => "report only".into(),
            };
            out.push(
                "CA005",
                None,
                vec![slot.clone(), out.rel(&repo.path)],
                format!(
                    "the active slot {slot} holds a credential that matches no profile in {} (a stale or edited copy){}",
                    out.rel(&repo.path),
                    target.as_ref().map(|t| format!("; the intended one is probably {t}")).unwrap_or_default()
                ),
                json!({"slot": slot, "slot_account_id": str_field(cred, "accountId"), "slot_access": str_field(cred, "access").map(|s| token::fingerprint(&s)), "slot_refresh": str_field(cred, "refresh").map(|s| token::fingerprint(&s)), "partial_matches": cands, "preference": state.preference}),
                fix,
                vec![],
            );
        }
    }
    if let (Some(pref), Some(cred)) = (&state.preference, slot_cred) {
        let slot_id = Identity::of_raw(slot, cred, now);
        let (pref_id, in_repo) = match state.repo.as_ref().and_then(|r| r.profiles.get(pref)) {
            Some(raw) => (Some(Identity::of_raw(pref, raw, now)), true),
            None => (
                first
                    .map_profile_id(pref)
                    .and_then(|id| first.auth.profiles.get(&id))
                    .map(|raw| Identity::of_raw(pref, raw, now)),
                false,
            ),
        };
        if pref_id.as_ref().map(|p| !p.same(&slot_id)).unwrap_or(true) {
            let (fix, alts) = match (in_repo, &holds) {
                (true, Some(h)) => {
                    (format!("clawauth activate {}", sh(pref)), vec![format!("clawauth preference set {}", sh(h))])
                }
                (true, None) => (format!("clawauth activate {}", sh(pref)), vec![]),
                (false, Some(h)) => (format!("clawauth preference set {}", sh(h)), vec![]),
                (false, None) => ("report only".into(), vec![]),
            };
            out.push(
                "CA006",
                None,
                vec![pref.clone(), slot.clone()],
                format!(
                    "codex_profile_id selects {pref} ({}) but the active slot {slot} holds {}",
                    pref_id.as_ref().map(|i| i.short()).unwrap_or_else(|| "no such profile".into()),
                    slot_id.short()
                ),
                json!({"preference": pref, "preference_identity": pref_id, "preference_in_repo": in_repo, "slot": slot, "slot_identity": slot_id, "slot_holds_repo_profile": holds}),
                fix,
                alts,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the running system: locks, leases, processes

fn locks(out: &mut Out) {
    let state = out.state;
    let mut paths: Vec<PathBuf> = vec![];
    for a in &state.agents {
        paths.push(a.paths.agent_dir.join("auth-profiles.json.lock"));
        paths.push(a.paths.sessions_dir.join("sessions.json.lock"));
    }
    if let Ok(rd) = std::fs::read_dir(state.install.state_dir.join("locks").join("oauth-refresh")) {
        let mut v: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "lock")).collect();
        v.sort();
        paths.extend(v);
    }
    paths.dedup();
    for p in paths {
        let Some(h) = lock::inspect(&p, state.now_ms) else { continue };
        let rel = out.rel(&p);
        match h {
            Holder::Stale { pid, created_at, why } => out.push(
                "CA020",
                None,
                vec![rel.clone()],
                format!(
                    "{rel} is stale ({why}); OpenClaw removes it on its next attempt, clawauth only with confirmation"
                ),
                json!({"lock": rel, "pid": pid, "created_at": created_at, "why": why}),
                "report only".into(),
                vec![],
            ),
            Holder::Live { pid, created_at } if pid > 0 => out.push(
                "CA021",
                None,
                vec![rel.clone(), format!("pid {pid}")],
                format!("{rel} is held by live process {pid}: OpenClaw is writing this store right now"),
                json!({"source": "lock file", "lock": rel, "pid": pid, "created_at": created_at}),
                "report only".into(),
                vec!["stop the OpenClaw gateway before repairing".into()],
            ),
            Holder::Live { created_at, .. } => {
                let never = created_at.is_none();
                out.push(
                    "CA020",
                    None,
                    vec![rel.clone()],
                    if never {
                        format!("{rel} names neither a pid nor a time: OpenClaw never treats it as stale, so it blocks every write until removed")
                    } else {
                        format!("{rel} names no pid; it is younger than OpenClaw's 30 s stale limit")
                    },
                    json!({"lock": rel, "pid": Value::Null, "created_at": created_at, "why": if never { "no pid and no createdAt" } else { "no pid" }}),
                    "report only".into(),
                    vec![],
                );
            }
        }
    }
}

fn leases(out: &mut Out) {
    let state = out.state;
    let p = crate::layout::load::state_db_path(&state.install.state_dir);
    if !p.exists() {
        return;
    }
    let rel = out.rel(&p);
    let Ok(db) = store::open_ro(&p) else { return };
    let mut found: Vec<(String, Value)> = vec![];
    if db.has_table("agent_database_leases").unwrap_or(false) {
        if let Ok(mut st) = db.conn.prepare("SELECT agent_id, path, owner_pid FROM agent_database_leases") {
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)));
            for (agent, path, pid) in rows.into_iter().flatten().flatten() {
                if lock::pid_alive(pid) {
                    found.push((
                        format!("agent_database_leases: pid {pid} holds agent '{agent}'"),
                        json!({"source": "agent_database_leases", "db": rel, "agent_id": agent, "path": path, "pid": pid}),
                    ));
                }
            }
        }
    }
    if db.has_table("state_leases").unwrap_or(false) {
        if let Ok(mut st) = db.conn.prepare(
            "SELECT scope, lease_key, owner, expires_at FROM state_leases WHERE expires_at IS NOT NULL AND expires_at > ?1",
        ) {
            let rows = st.query_map([state.now_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
            });
            for (scope, key, owner, exp) in rows.into_iter().flatten().flatten() {
                found.push((
                    format!("state_leases: {scope}/{key} held by {owner} until {}", rfc3339_ms(exp)),
                    json!({"source": "state_leases", "db": rel, "scope": scope, "lease_key": key, "owner": owner, "expires_at": rfc3339_ms(exp)}),
                ));
            }
        }
    }
    for (what, ev) in found {
        out.push(
            "CA021",
            None,
            vec![rel.clone()],
            format!("{rel}: {what}: a running OpenClaw holds the database and writes its own copy back"),
            ev,
            "report only".into(),
            vec!["stop the OpenClaw gateway before repairing".into()],
        );
    }
}

/// A process's command line as it may be shown: values after secret-looking flags and long
/// arguments are elided.
fn safe_cmdline(args: &[String]) -> String {
    let secretish = |s: &str| {
        let l = s.to_lowercase();
        ["token", "key", "secret", "password", "auth"].iter().any(|w| l.contains(w))
    };
    let mut outv = vec![];
    let mut hide_next = false;
    for a in args.iter().take(8) {
        let shown = if hide_next || (a.contains('=') && secretish(a.split('=').next().unwrap_or(""))) {
            "…".to_string()
        } else if a.chars().count() > 80 {
            format!("{}…", a.chars().take(80).collect::<String>())
        } else {
            a.clone()
        };
        hide_next = a.starts_with('-') && !a.contains('=') && secretish(a);
        outv.push(shown);
    }
    if args.len() > 8 {
        outv.push("…".into());
    }
    outv.join(" ")
}

fn processes(out: &mut Out, proc_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(proc_dir) else { return };
    let me = std::process::id() as i64;
    let mut hits: Vec<(i64, Vec<String>)> = vec![];
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let Some(argv0) = args.first() else { continue };
        if Path::new(argv0).file_name().is_some_and(|n| n.to_string_lossy().starts_with("clawauth")) {
            continue;
        }
        let joined = args.join(" ").to_lowercase();
        if joined.contains("openclaw") && joined.contains("gateway") {
            hits.push((pid, args));
        }
    }
    hits.sort_by_key(|h| h.0);
    for (pid, args) in hits {
        let cmd = safe_cmdline(&args);
        out.push(
            "CA021",
            None,
            vec![format!("pid {pid}")],
            format!("an OpenClaw gateway is running (pid {pid}): it may write its in-memory auth state back over any repair"),
            json!({"source": "process", "pid": pid, "command": cmd}),
            "report only".into(),
            vec!["stop the OpenClaw gateway before repairing".into()],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// text rendering

fn scalar(v: &Value, nested: bool) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        Value::Object(m) => {
            let inner = m
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| format!("{k}={}", scalar(x, true)))
                .collect::<Vec<_>>()
                .join(", ");
            if nested {
                format!("({inner})")
            } else {
                inner
            }
        }
        Value::Array(a) => a.iter().map(|x| scalar(x, nested)).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Evidence as text lines: lists of records get one line each, so a person can read them.
fn evidence_lines(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) if a.iter().any(Value::is_object) => {
            a.iter().map(|x| format!("  - {}", scalar(x, false))).collect()
        }
        other => vec![scalar(other, false)],
    }
}

pub fn render(r: &DoctorReport) -> String {
    let mut o = String::new();
    let agents: Vec<String> = r
        .agents
        .iter()
        .map(|a| format!("{} (layout {}, OpenClaw {} rules)", a.id, a.layout.name(), a.rules.name()))
        .collect();
    let _ = writeln!(o, "clawauth doctor  {}", r.state_dir);
    let _ = writeln!(o, "agents           {}", agents.join("; "));
    if r.findings.is_empty() {
        let _ = writeln!(o, "\nNo problems found.");
        return o;
    }
    for f in &r.findings {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<7}  {}  {}{}",
            f.severity.as_str().to_uppercase(),
            f.code,
            f.title,
            f.agent.as_ref().map(|a| format!("  [agent {a}]")).unwrap_or_default()
        );
        let pad = "                ";
        let _ = writeln!(o, "{pad}{}", f.message);
        let _ = writeln!(o, "{pad}layers    {}", f.layers.join(", "));
        // aggregated findings can name thousands of sessions: the JSON has them all
        let shown: Vec<&str> = f.subjects.iter().take(SUBJECTS_SHOWN).map(String::as_str).collect();
        let more = f.subjects.len().saturating_sub(SUBJECTS_SHOWN);
        let more = if more > 0 { format!(" (+{more} more; --json lists all)") } else { String::new() };
        let _ = writeln!(o, "{pad}subjects  {}{more}", shown.join(", "));
        for (k, v) in &f.evidence {
            if v.is_null() || v == &Value::Bool(false) || v.as_array().is_some_and(|a| a.is_empty()) {
                continue;
            }
            let lines = evidence_lines(v);
            if lines.len() == 1 && !lines[0].starts_with("  - ") {
                let _ = writeln!(o, "{pad}evidence  {k}: {}", crate::text::shorten(&lines[0], 300));
            } else {
                let _ = writeln!(o, "{pad}evidence  {k}:");
                let n = lines.len();
                for l in lines.into_iter().take(EVIDENCE_LINES_SHOWN) {
                    let _ = writeln!(o, "{pad}          {}", crate::text::shorten(&l, 300));
                }
                if n > EVIDENCE_LINES_SHOWN {
                    let _ = writeln!(o, "{pad}            … +{} more (--json has more)", n - EVIDENCE_LINES_SHOWN);
                }
            }
        }
        let _ = writeln!(o, "{pad}fix       {}", f.fix);
        for alt in &f.fix_alternatives {
            let _ = writeln!(o, "{pad}or        {alt}");
        }
    }
    let s = &r.summary;
    let _ = writeln!(
        o,
        "\n{} finding(s): {} error(s), {} warning(s), {} info — exit {}",
        r.findings.len(),
        s.errors,
        s.warnings,
        s.infos,
        r.exit_code
    );
    o
}
