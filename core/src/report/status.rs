//! `clawauth status`: every layer side by side, per agent. The report is plain data
//! (`--json`, `schema_version` 1) rendered to text at the edge; `explain` and `doctor` reuse it.

use crate::model::resolve::{self, Inputs, ModelScope, OrderTrace, Rules};
pub use crate::model::slot::{repo_matches, RepoMatch};
use crate::model::*;
use crate::text::{rel, rfc3339_ms};
use crate::txn::status::TxnStatus;
pub use crate::workflow::restore::RestoreSource;
use serde::Serialize;
use serde_json::Value;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub session: Option<String>,
    pub all: bool,
    pub limit: usize,
}

#[derive(Debug, Serialize)]
pub struct StatusReport<'a> {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub now: String,
    pub state_dir: String,
    pub state_dir_source: String,
    pub config: ConfigInfo,
    pub preference: PreferenceInfo,
    pub active_slot: SlotInfo,
    pub warnings: Vec<String>,
    /// The OpenClaw gateway serving this state dir, if one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayInfo>,
    /// Transactions in the journal an operator must know about now: interrupted (`applying`)
    /// or planned (and whether still applicable). Filled by the caller from the journal, read
    /// only; empty when there is no journal.
    pub transactions: Vec<PendingTxn>,
    pub agents: Vec<AgentReport<'a>>,
}

/// A transaction left `applying` (a killed process, or one still running) or saved `planned`.
#[derive(Debug, Clone, Serialize)]
pub struct PendingTxn {
    pub id: i64,
    /// `applying` or `planned`
    pub status: TxnStatus,
    pub workflow: String,
    pub summary: String,
    pub created_at: String,
    /// A planned transaction that can no longer apply, and why (`apply` would refuse it).
    pub stale: Option<String>,
    /// What to run: `clawauth recover`, `clawauth apply N`, or plan it again.
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct GatewayInfo {
    pub pid: i64,
    pub host: String,
    pub port: u16,
    /// Where the port came from: `lease`, `lock file`, `config`, `OPENCLAW_GATEWAY_PORT`, `default`.
    pub port_source: String,
    /// What showed it: `state_leases gateway-owner (<db>)` or `lock file <path>`.
    pub found_by: String,
    pub since: Option<String>,
    pub lease_expires: Option<String>,
    pub mode: Option<String>,
    /// The release that last opened the state database (the gateway restamps it on start).
    pub release: Option<String>,
    /// What it means for repairs.
    pub writes: String,
}

pub fn gateway_info(state: &State) -> Option<GatewayInfo> {
    let g = state.gateway.as_ref()?;
    let sqlite = state.agents.iter().any(|a| a.layout.is_sqlite());
    let found_by = match &g.source {
        crate::model::gateway::Source::Lease(db) => {
            format!("state_leases gateway-owner ({})", rel(&state.install.state_dir, db))
        }
        crate::model::gateway::Source::LockFile(p) => format!("lock file {}", p.display()),
    };
    let writes = if g.foreign_host {
        format!("it runs on host {}: clawauth cannot ask it to reload; restart it there after a repair", g.host)
    } else if sqlite {
        "repairs are written beside it (short SQLite transactions) and it is asked to reload (models.authRefresh), then checked".into()
    } else {
        "repairs are written under OpenClaw's locks; it is asked to reload, and the files are re-checked after it (it may write its in-memory copy back)".into()
    };
    Some(GatewayInfo {
        pid: g.pid,
        host: g.host.clone(),
        port: g.port,
        port_source: g.port_source.into(),
        found_by,
        since: g.since_ms.map(rfc3339_ms),
        lease_expires: g.expires_ms.map(rfc3339_ms),
        mode: g.mode.clone(),
        release: g.release.clone(),
        writes,
    })
}

#[derive(Debug, Serialize)]
pub struct ConfigInfo {
    pub path: String,
    pub source: String,
    pub exists: bool,
}

#[derive(Debug, Serialize)]
pub struct PreferenceInfo {
    pub path: String,
    pub profile: Option<String>,
    pub exists_in_store: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct SlotInfo {
    pub id: String,
    pub explicit: bool,
    pub exists: bool,
    pub repo_path: Option<String>,
    pub repo_profiles: Vec<String>,
    /// The repo identity the slot holds (all four signatures equal), if any.
    pub matches: Option<String>,
    /// Partial matches, for diagnosis.
    pub candidates: Vec<RepoMatch>,
}

#[derive(Debug, Serialize)]
pub struct OrderReport {
    pub provider: String,
    pub stored: Option<Vec<String>>,
    pub stored_from: Option<String>,
    pub configured: Option<Vec<String>>,
    pub explicit_source: Option<String>,
    pub base_source: String,
    pub effective: Vec<String>,
    pub candidates: Vec<resolve::Candidate>,
}

#[derive(Debug, Serialize)]
pub struct ProfileReport {
    #[serde(flatten)]
    pub view: ProfileView,
    pub claim_account_id: Option<String>,
    pub user_id: Option<String>,
    pub claim_email: Option<String>,
    pub window: Option<Window>,
    pub last_used: Option<i64>,
    pub error_count: Option<i64>,
    pub label: String,
    pub label_source: String,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub kind: String,
    pub until: i64,
    pub until_rfc3339: String,
    pub reason: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SessionReport {
    pub key: String,
    pub updated_at: Option<i64>,
    pub chat_type: Option<String>,
    pub pin: Option<String>,
    /// The pin names a profile that does not exist here (`None` when unpinned): `missing`, or
    /// `retired` for an `openai-codex:*` id left behind by OpenClaw's provider migration.
    pub pin_dangling: Option<&'static str>,
    pub pin_source: Option<String>,
    pub pin_source_inferred: bool,
    pub effective: Option<String>,
    pub effective_source: Option<String>,
    pub would_write: resolve::PinWrite,
    pub usage_source: Option<String>,
    /// `/status` shows another identity's quota than the one replying (not merely another id).
    pub usage_differs: bool,
    /// Another profile id than the reply's, holding the same login: the quota shown is the
    /// one being spent.
    pub usage_same_login: bool,
    pub label: Option<String>,
    pub label_source: Option<String>,
}

/// The sessions an agent's report lists. Each `SessionReport` is made when it is serialized
/// or iterated and dropped after: `status --all --json` on 100k sessions streams them out
/// without holding 100k reports beside the sessions they are made from.
pub struct SessionList<'a> {
    selected: Vec<&'a Session>,
    report: Box<dyn Fn(&Session) -> SessionReport + 'a>,
}

impl SessionList<'_> {
    pub fn len(&self) -> usize {
        self.selected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.selected.is_empty()
    }

    /// The reports, in the listed order, each made as it is reached.
    pub fn iter(&self) -> impl Iterator<Item = SessionReport> + '_ {
        self.selected.iter().map(|s| (self.report)(s))
    }
}

impl Serialize for SessionList<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        ser.collect_seq(self.iter())
    }
}

impl std::fmt::Debug for SessionList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[derive(Debug, Serialize)]
pub struct AgentReport<'a> {
    pub id: String,
    pub default: bool,
    pub agent_dir: String,
    pub agent_dir_source: String,
    pub layout: Layout,
    pub layout_description: &'static str,
    pub rules: Rules,
    /// how the rules' release was decided (installed CLI, state-dir evidence, guess, --rules)
    pub rules_source: String,
    pub provider: String,
    pub read_only_reason: Option<String>,
    pub files: Vec<FileStatus>,
    pub schemas: Vec<DbSchema>,
    pub stranded: Vec<String>,
    pub archives: Vec<String>,
    /// Each credential in those backups (and in stranded legacy stores), newest first; filled
    /// by the caller (`workflow::restore::backups`), empty when it did not look.
    pub restore_sources: Vec<RestoreSource>,
    pub order: OrderReport,
    pub last_good: serde_json::Map<String, Value>,
    pub profiles: Vec<ProfileReport>,
    pub sessions_total: usize,
    pub sessions_user_facing: usize,
    pub sessions_pinned: usize,
    pub sessions: SessionList<'a>,
    pub warnings: Vec<String>,
}

/// The window that makes a profile unusable right now, if any.
pub fn active_window(stats: Option<&Value>, now: i64) -> Option<Window> {
    let st = stats?;
    let mut best: Option<Window> = None;
    for (kind, until_k, reason_k, model_k) in [
        ("cooldown", "cooldownUntil", "cooldownReason", Some("cooldownModel")),
        ("blocked", "blockedUntil", "blockedReason", Some("blockedModel")),
        ("disabled", "disabledUntil", "disabledReason", None),
    ] {
        if let Some(u) = num_field(st, until_k).filter(|u| *u > now) {
            if best.as_ref().map(|b| u > b.until).unwrap_or(true) {
                best = Some(Window {
                    kind: kind.into(),
                    until: u,
                    until_rfc3339: rfc3339_ms(u),
                    reason: str_field(st, reason_k),
                    model: model_k.and_then(|k| str_field(st, k)),
                });
            }
        }
    }
    best
}

pub fn order_report(agent: &AgentState, trace: &OrderTrace) -> OrderReport {
    let stored_from = trace
        .stored
        .as_ref()
        .and_then(|_| {
            agent.auth.origin.iter().find(|(k, _)| {
                k.strip_prefix("order/").map(|p| resolve::normalize_provider(p) == trace.provider).unwrap_or(false)
            })
        })
        .map(|(_, v)| v.clone());
    OrderReport {
        provider: trace.provider.clone(),
        stored: trace.stored.clone(),
        stored_from,
        configured: trace.configured.clone(),
        explicit_source: trace.explicit_source.clone(),
        base_source: trace.base_source.clone(),
        effective: trace.order.clone(),
        candidates: trace.candidates.clone(),
    }
}

pub fn build<'a>(
    state: &'a State,
    rules_override: Option<Rules>,
    filter: &SessionFilter,
) -> crate::error::Result<StatusReport<'a>> {
    let now = state.now_ms;
    let cfg = state.install.config.as_ref();
    let first = state.agents.first();
    let slot_cred = first.and_then(|a| a.auth.profiles.get(&state.active_slot));
    let candidates = repo_matches(state, slot_cred);
    let matches = candidates.iter().find(|m| m.full()).map(|m| m.repo_id.clone());
    let mut agents = vec![];
    for a in &state.agents {
        let (rules, rules_source) = match rules_override {
            Some(r) => (r, "--rules".to_string()),
            None => {
                let d = a.detect_release();
                (Rules::of(d.release), d.evidence)
            }
        };
        let inp = Inputs::new(a, cfg, rules, now);
        let provider = a.provider_under(rules);
        let trace = resolve::resolve_order(&inp, &provider, &ModelScope::Unscoped);
        let profiles = a
            .profile_views(now)
            .into_iter()
            .map(|v| {
                let st = a.auth.usage_stats.get(&v.id);
                let (label, src) = resolve::display_label(cfg, &a.auth.profiles, &v.id);
                ProfileReport {
                    claim_account_id: v.claims.as_ref().and_then(|c| c.account_id.clone()),
                    user_id: v.user_id().map(str::to_owned),
                    claim_email: v.claim_email().map(str::to_owned),
                    window: active_window(st, now),
                    last_used: st.and_then(|s| num_field(s, "lastUsed")),
                    error_count: st.and_then(|s| num_field(s, "errorCount")),
                    label,
                    label_source: src.into(),
                    view: v,
                }
            })
            .collect();
        let user_facing = a.sessions.iter().filter(|s| s.is_user_facing()).count();
        let pinned = a.sessions.iter().filter(|s| s.pin.is_some()).count();
        let selected: Vec<&Session> = if let Some(k) = &filter.session {
            let found: Vec<&Session> =
                a.sessions.iter().filter(|s| s.key == *k || s.key.eq_ignore_ascii_case(k)).collect();
            if found.is_empty() && state.agents.len() == 1 {
                return Err(crate::error::Error::NotFound(format!(
                    "no session '{k}' in agent {} ({} sessions)",
                    a.paths.id,
                    a.sessions.len()
                )));
            }
            found
        } else if filter.all {
            a.sessions.iter().collect()
        } else {
            let mut v: Vec<&Session> = a.sessions.iter().filter(|s| s.is_user_facing()).collect();
            // most recent first; a partial sort is enough for the top N of 100k
            let limit = filter.limit.max(1);
            if v.len() > limit {
                v.select_nth_unstable_by_key(limit - 1, |s| std::cmp::Reverse(s.updated_at.unwrap_or(i64::MIN)));
                v.truncate(limit);
            }
            v.sort_by_key(|s| std::cmp::Reverse(s.updated_at.unwrap_or(i64::MIN)));
            v
        };
        // the order depends only on a session's model scope: one resolution per scope, not
        // one per session (`--all` on 100k sessions)
        let orders: std::cell::RefCell<std::collections::HashMap<ModelScope, std::rc::Rc<OrderTrace>>> =
            Default::default();
        // what the agent's report needs of them is taken first; the reports own the rest
        let order_info = order_report(a, &trace);
        let agent_provider = provider.clone();
        let report = move |s: &Session| -> SessionReport {
            let (inp, provider) = (&inp, provider.as_str());
            let scope = resolve::session_scope_of(rules, s);
            let order = orders
                .borrow_mut()
                .entry(scope.clone())
                .or_insert_with(|| std::rc::Rc::new(resolve::resolve_order(inp, provider, &scope)))
                .clone();
            let t = resolve::resolve_session_with_order(inp, provider, s, false, order);
            let usage = resolve::usage_source(inp, &trace, Some(s));
            let label = resolve::session_label_with_order(inp, provider, s, trace.order.clone());
            let relation = a.usage_relation(t.profile.as_deref(), usage.as_deref(), now);
            SessionReport {
                key: s.key.clone(),
                updated_at: s.updated_at,
                chat_type: s.chat_type.as_deref().map(str::to_owned),
                pin: s.pin.as_deref().map(str::to_owned),
                pin_dangling: s.pin.as_deref().filter(|p| !a.auth.profiles.contains_key(*p)).map(|p| {
                    if p.starts_with("openai-codex:") && a.provider == "openai" {
                        "retired"
                    } else {
                        "missing"
                    }
                }),
                pin_source: t.pin_source.clone(),
                pin_source_inferred: t.pin_source_inferred,
                usage_differs: relation.differs,
                usage_same_login: relation.same_login,
                effective: t.profile.clone(),
                effective_source: t.source.clone(),
                would_write: t.write.clone(),
                usage_source: usage.clone(),
                label: label.as_ref().map(|l| l.0.clone()),
                label_source: label.map(|l| l.1.to_string()),
            }
        };
        let sessions = SessionList { selected, report: Box::new(report) };
        agents.push(AgentReport {
            id: a.paths.id.clone(),
            default: a.paths.is_default,
            agent_dir: rel(&state.install.state_dir, &a.paths.agent_dir),
            agent_dir_source: a.paths.dir_source.clone(),
            layout: a.layout,
            layout_description: a.layout.describe(),
            rules,
            rules_source,
            provider: agent_provider,
            read_only_reason: a.read_only_reason.clone(),
            files: a.files.clone(),
            schemas: a.schemas.clone(),
            stranded: a.stranded.iter().map(|p| rel(&state.install.state_dir, p)).collect(),
            // restore sources are credentials only: not session stores or chat transcripts
            archives: a
                .archives
                .iter()
                .filter(|p| crate::model::is_credential_archive(p))
                .map(|p| rel(&state.install.state_dir, p))
                .collect(),
            restore_sources: vec![],
            order: order_info,
            last_good: a.auth.last_good.clone(),
            profiles,
            sessions_total: a.sessions.len(),
            sessions_user_facing: user_facing,
            sessions_pinned: pinned,
            sessions,
            warnings: a.warnings.clone(),
        });
    }
    let pref_exists = state.preference.as_ref().map(|p| first.map(|a| a.map_profile_id(p).is_some()).unwrap_or(false));
    Ok(StatusReport {
        transactions: vec![],
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: rfc3339_ms(now),
        state_dir: state.install.state_dir.display().to_string(),
        state_dir_source: state.install.state_dir_source.clone(),
        config: ConfigInfo {
            path: state.install.config_path.display().to_string(),
            source: state.install.config_source.clone(),
            exists: state.install.config.is_some(),
        },
        preference: PreferenceInfo {
            path: rel(&state.install.state_dir, &state.preference_path),
            profile: state.preference.clone(),
            exists_in_store: pref_exists,
        },
        active_slot: SlotInfo {
            id: state.active_slot.clone(),
            explicit: state.active_slot_explicit,
            exists: slot_cred.is_some(),
            repo_path: state.repo.as_ref().map(|r| rel(&state.install.state_dir, &r.path)),
            repo_profiles: state.repo.as_ref().map(|r| r.profiles.keys().cloned().collect()).unwrap_or_default(),
            matches,
            candidates,
        },
        warnings: state.warnings.clone(),
        gateway: gateway_info(state),
        agents,
    })
}
