//! The era-free view of one OpenClaw installation: per agent, the layout it was read from, the
//! credentials, the routing state (order, lastGood, usageStats), the sessions, plus the layers
//! that live beside them (config auth, stored preference, external repo, active slot). Raw
//! credential JSON is kept as-is so nothing OpenClaw wrote is lost.

pub mod gateway;
pub mod identity;
pub mod install;
pub mod location;
pub mod release;
pub mod resolve;
pub mod slot;
pub mod token;

use crate::model::install::{AgentPaths, Install};
use crate::model::location::Location;
use crate::model::token::{Claims, TokenState};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// single-file JSON (up to 2026.4.5)
    A,
    /// split JSON: auth-profiles.json + auth-state.json (2026.4.7 – 2026.6.1)
    B,
    /// per-agent SQLite auth (2026.6.5 – 2026.7.x)
    C,
    /// shared SQLite auth in state/openclaw.sqlite (2026.8.1 – 2026.9.6)
    D,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::A => "A",
            Layout::B => "B",
            Layout::C => "C",
            Layout::D => "D",
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Layout::A => "single-file JSON (OpenClaw up to 2026.4.5): credentials and routing state inline in auth-profiles.json",
            Layout::B => "split JSON (OpenClaw 2026.4.7 – 2026.6.1): credentials in auth-profiles.json, routing state in auth-state.json (wins per provider key)",
            Layout::C => "per-agent SQLite (OpenClaw 2026.6.5 – 2026.7.x): auth in openclaw-agent.sqlite; JSON auth files here are not read",
            Layout::D => "shared SQLite (OpenClaw 2026.8.1 – 2026.9.6): auth in state/openclaw.sqlite, per-agent order overlay; JSON auth files are not read",
        }
    }
    pub fn is_sqlite(self) -> bool {
        matches!(self, Layout::C | Layout::D)
    }
    /// The rules of the newest release that writes this layout (the guess without evidence;
    /// `AgentState::detect_release` also weighs the installed CLI and the state's stamps).
    pub fn default_rules(self) -> crate::model::release::Rules {
        let l = self.name().chars().next().unwrap_or('B');
        crate::model::release::Rules::of(crate::model::release::newest_of_layout(l))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    pub role: String,
    pub location: String,
    pub exists: bool,
    pub live: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbSchema {
    pub path: PathBuf,
    pub user_version: i64,
    pub schema_meta: Vec<(String, String, i64)>,
    /// `schema_meta('primary').app_version`: the release that last opened the database.
    pub app_version: Option<String>,
    pub known: bool,
    /// Why clawauth will not write this database (`crate::layout::schema`), when it will not.
    #[serde(skip)]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionsLoc {
    File { path: PathBuf },
    Nodes { db: PathBuf },
    None,
}

/// A session's short text field (chat type, channel, model, pin): held inline up to 24 bytes,
/// so most need no allocation of their own; it reads as a `str`.
pub type Text = compact_str::CompactString;

/// One session entry, only the fields clawauth reasons about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Session {
    pub key: String,
    pub updated_at: Option<i64>,
    pub chat_type: Option<Text>,
    pub channel: Option<Text>,
    pub model_provider: Option<Text>,
    pub model: Option<Text>,
    pub provider_override: Option<Text>,
    pub model_override: Option<Text>,
    pub pin: Option<Text>,
    pub pin_source: Option<Text>,
    /// `authProfileOverrideCompactionCount` as stored (any JSON type).
    pub pin_compaction: Option<Value>,
    pub compaction_count: Option<i64>,
    pub label: Option<Text>,
    /// `authProfileOverride`, `…Source`, `…CompactionCount` and `updatedAt` exactly as stored,
    /// kept only when they cannot be rebuilt from the fields above (a pin is set, or
    /// `updatedAt` is not an integer): most of 100k sessions carry none, and this stays small.
    pub stored: Option<Box<[Option<Value>; 4]>>,
    pub user_facing: bool,
}

impl Session {
    /// The four pin-related fields exactly as stored (see `stored`), so workflows plan
    /// compare-and-swaps without re-reading the document.
    pub fn raw(&self) -> [Option<Value>; 4] {
        match &self.stored {
            Some(b) => (**b).clone(),
            None => [None, None, None, self.updated_at.map(Value::from)],
        }
    }

    /// Subagent and cron sessions are machine-driven; `status` hides them by default.
    pub fn is_user_facing(&self) -> bool {
        self.user_facing
    }

    /// Subagent, cron, heartbeat and ACP sessions are machine-driven (decided once, when the
    /// entry is read, off the hot path of `status`).
    pub fn key_is_user_facing(key: &str) -> bool {
        !key.split(':')
            .any(|seg| ["subagent", "cron", "heartbeat", "acp"].iter().any(|kind| seg.eq_ignore_ascii_case(kind)))
    }
    pub fn has_pin_fields(&self) -> bool {
        self.pin.is_some() || self.pin_source.is_some() || self.pin_compaction.is_some()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// id -> credential JSON as stored.
    pub profiles: Map<String, Value>,
    /// ids inherited from the main agent's store (non-main agents).
    pub inherited: Vec<String>,
    pub order: Map<String, Value>,
    pub last_good: Map<String, Value>,
    pub usage_stats: Map<String, Value>,
    /// For each routing key (`order/<provider>`, `lastGood/<provider>`, `usageStats/<id>`) the
    /// document it was read from, so `explain` can say which layer won.
    pub origin: std::collections::BTreeMap<String, String>,
    /// Routing state found inline in auth-profiles.json in layout B (shadowed per key).
    pub inline_state: Option<Map<String, Value>>,
    /// Where credentials are written (`/profiles/<id>` below it).
    pub store_loc: Option<Location>,
    /// Where routing state is written (`/order/<p>`, `/lastGood/<p>`, `/usageStats/<id>`).
    pub state_loc: Option<Location>,
    /// Layout D: the per-agent overlay row that `models auth order set` writes.
    pub overlay_loc: Option<Location>,
    /// Layout D: the overlay's own routing state (merged into the fields above).
    pub overlay: Option<Map<String, Value>>,
    /// Layout D: the shared state row's own routing state.
    pub shared_state: Option<Map<String, Value>>,
}

/// One credential, decoded for display and analysis. Secrets stay in `raw`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub provider: Option<String>,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub display_name: Option<String>,
    pub expires: Option<i64>,
    pub claims: Option<Claims>,
    pub token_state: TokenState,
    pub access_fp: Option<String>,
    pub refresh_fp: Option<String>,
    pub inherited: bool,
    /// Problems with the entry's shape (wrong types, missing fields).
    pub problems: Vec<String>,
}

pub fn str_field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

pub fn num_field(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
}

impl ProfileView {
    pub fn new(id: &str, raw: &Value, now_ms: i64, inherited: bool) -> Self {
        let mut problems = vec![];
        if !raw.is_object() {
            problems.push(format!("entry is {} instead of an object", json_type(raw)));
        }
        let kind = str_field(raw, "type").or_else(|| str_field(raw, "mode"));
        for k in ["type", "provider", "access", "refresh", "email", "accountId"] {
            if let Some(v) = raw.get(k) {
                if !v.is_string() {
                    problems.push(format!("`{k}` is {} instead of a string", json_type(v)));
                }
            }
        }
        if let Some(v) = raw.get("expires") {
            if !v.is_number() {
                problems.push(format!("`expires` is {} instead of a number", json_type(v)));
            }
        }
        if raw.get("provider").is_none() {
            problems.push("no `provider`".into());
        }
        if kind.is_none() {
            problems.push("no `type`".into());
        }
        let access = str_field(raw, "access");
        let refresh = str_field(raw, "refresh");
        let expires = num_field(raw, "expires");
        let claims = access.as_deref().and_then(token::decode_claims);
        let token_state = if kind.as_deref() == Some("oauth") || access.is_some() {
            token::classify(access.as_deref(), expires, now_ms)
        } else {
            TokenState::Missing
        };
        ProfileView {
            id: id.to_string(),
            kind,
            provider: str_field(raw, "provider"),
            account_id: str_field(raw, "accountId"),
            email: str_field(raw, "email"),
            plan: str_field(raw, "chatgptPlanType"),
            display_name: str_field(raw, "displayName"),
            expires,
            claims,
            token_state,
            access_fp: access.as_deref().map(token::fingerprint),
            refresh_fp: refresh.as_deref().map(token::fingerprint),
            inherited,
            problems,
        }
    }

    /// Identity: accountId first (stored, else JWT claim), then user id, then email.
    pub fn account(&self) -> Option<&str> {
        self.account_id.as_deref().or(self.claims.as_ref().and_then(|c| c.account_id.as_deref()))
    }
    pub fn user_id(&self) -> Option<&str> {
        self.claims.as_ref().and_then(|c| c.user_id.as_deref())
    }
    pub fn claim_email(&self) -> Option<&str> {
        self.claims.as_ref().and_then(|c| c.email.as_deref())
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug, Clone)]
pub struct AgentState {
    pub paths: AgentPaths,
    /// `--rules`: the release whose rules apply instead of the one that wrote the state.
    pub rules_override: Option<crate::model::release::Rules>,
    pub layout: Layout,
    /// The live Codex provider id for this layout (`openai-codex` or `openai`).
    pub provider: String,
    pub files: Vec<FileStatus>,
    pub schemas: Vec<DbSchema>,
    /// Why writing is refused for this agent (unknown schema version, ...), if it is.
    pub read_only_reason: Option<String>,
    /// JSON files beside a live SQLite store: never written, shown as stranded.
    pub stranded: Vec<PathBuf>,
    /// Migration archives and backups: restore sources.
    pub archives: Vec<PathBuf>,
    pub auth: Auth,
    pub sessions_loc: SessionsLoc,
    /// Shared, so that a plan's simulated `after` state (a clone of the agent) costs nothing
    /// for the 100k sessions it does not change; a workflow that changes some takes its own
    /// copy (`Arc::make_mut`).
    pub sessions: std::sync::Arc<Vec<Session>>,
    /// `Some` when `sessions` (and `invalid_rows`) hold only the rows of one chat, read by key
    /// for a one-session repair (`LoadOptions::one_session`); `None`: every session was read.
    pub partial: Option<PartialSessions>,
    /// `session_nodes` rows OpenClaw would refuse to run (`entry_valid = 0`), layout D.
    pub invalid_rows: Vec<InvalidRow>,
    pub warnings: Vec<String>,
    /// Live documents that could not be read: workflows refuse to write while any exists.
    pub unreadable: Vec<String>,
    /// Release stamps outside the agent's store (state DB beside a JSON store, the config's
    /// `meta.lastTouchedVersion`), for `release_evidence`.
    pub hints: crate::model::release::Hints,
}

/// What a load of one chat's rows knows about the rest of the store: only what a one-session
/// repair can need, each read with a narrow query.
#[derive(Debug, Clone, Default)]
pub struct PartialSessions {
    /// Whether any session carries a `user-link` pin (release evidence, 2026.9.2+). Looked for
    /// only when it could change the release detected; otherwise `false`, which can only
    /// change the wording of `detect_release`'s evidence, never its release.
    pub user_link: bool,
}

/// A session row whose `entry_valid` is 0: a running OpenClaw refuses every turn on that chat
/// ("invalid persisted session row requires repair") until the row is validated again.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidRow {
    pub db: PathBuf,
    pub key: String,
    /// Why OpenClaw's validator would still reject the entry (`crate::layout::session_row::check`);
    /// `None` when it passes, so setting `entry_valid = 1` is all the repair needs.
    pub problem: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub path: PathBuf,
    pub profiles: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub install: Install,
    pub now_ms: i64,
    pub agents: Vec<AgentState>,
    /// `<state>/codex_profile_id`
    pub preference_path: PathBuf,
    pub preference: Option<String>,
    pub repo: Option<Repo>,
    pub repo_path: PathBuf,
    /// The profile id the external router copies repo identities into.
    pub active_slot: String,
    pub active_slot_explicit: bool,
    pub warnings: Vec<String>,
    /// The OpenClaw gateway serving this state dir, if one runs (`layout::gateway`).
    pub gateway: Option<gateway::Gateway>,
}

impl State {
    pub fn agent(&self, id: &str) -> Option<&AgentState> {
        self.agents.iter().find(|a| a.paths.id == id)
    }
}

/// A migration archive or backup that can hold credentials (an auth store or routing state
/// copy), not a session store or a chat transcript (`*.jsonl.imported-*`, tens of MB of chat).
pub fn is_credential_archive(p: &std::path::Path) -> bool {
    let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    !n.contains("sessions.json")
        && !n.contains(".jsonl")
        && !p.components().any(|c| c.as_os_str() == "session-sqlite-import-archive")
}

impl AgentState {
    /// The rules of the release that wrote this agent's store: the layout's, except that a
    /// 2026.8+ agent database (user_version 23) means 2026.9 rules even without a shared store.
    pub fn default_rules(&self) -> crate::model::release::Rules {
        crate::model::release::Rules::of(self.detect_release().release)
    }

    /// The rules every computation on this agent uses: `--rules` when given, else the default.
    pub fn rules(&self) -> crate::model::release::Rules {
        self.rules_override.unwrap_or_else(|| self.default_rules())
    }

    /// The release that resolves this agent's next turn and the evidence (issue 19).
    pub fn detect_release(&self) -> crate::model::release::Detected {
        crate::model::release::detect(&self.release_evidence(crate::model::release::installed()))
    }

    /// What this agent's state proves about the release that wrote it (`installed`: the
    /// installed CLI, or `None` to ask the state alone).
    pub fn release_evidence(
        &self,
        installed: Option<crate::model::release::Release>,
    ) -> crate::model::release::Evidence {
        let uv = |suffix: &str| self.schemas.iter().find(|s| s.path.ends_with(suffix)).map(|s| s.user_version);
        let has = |k: &str| self.auth.usage_stats.values().any(|s| s.get(k).is_some());
        let mut layout = self.layout.name().chars().next().unwrap_or('B');
        // a 2026.8+ agent database without a shared store is still a 2026.8+ state
        if layout != 'D' && uv("openclaw-agent.sqlite").is_some_and(|v| v >= 19) {
            layout = 'D';
        }
        crate::model::release::Evidence {
            installed,
            layout,
            state_db: uv("openclaw.sqlite")
                .filter(|_| self.schemas.iter().any(|s| s.path.ends_with("state/openclaw.sqlite"))),
            agent_db: uv("openclaw-agent.sqlite"),
            // the two databases can disagree: the newer stamp wins
            app_version: self
                .schemas
                .iter()
                .filter_map(|s| s.app_version.as_deref().and_then(crate::model::release::Release::parse))
                .max(),
            blocked_until: has("blockedUntil"),
            blocked_scope: has("blockedScope"),
            user_link: match &self.partial {
                Some(p) => p.user_link,
                None => self.sessions.iter().any(|s| s.pin_source.as_deref() == Some("user-link")),
            },
            state_db_beside: self.hints.state_db_version.filter(|_| !self.layout.is_sqlite()),
            unification_backup: self.archives.iter().any(|p| {
                let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                n.contains(".openai-provider-unification.") && n.ends_with(".bak")
            }),
            config_touched: self.hints.config_touched,
        }
    }

    pub fn profile_views(&self, now_ms: i64) -> Vec<ProfileView> {
        self.auth
            .profiles
            .iter()
            .map(|(id, raw)| ProfileView::new(id, raw, now_ms, self.auth.inherited.contains(id)))
            .collect()
    }

    pub fn session(&self, key: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.key == key)
    }

    /// Accept `openai-codex:x` or `openai:x` from the user and return the id that exists here.
    pub fn map_profile_id(&self, id: &str) -> Option<String> {
        if self.auth.profiles.contains_key(id) {
            return Some(id.to_string());
        }
        let (p, rest) = id.split_once(':')?;
        let alt = match p {
            "openai-codex" => format!("openai:{rest}"),
            "openai" => format!("openai-codex:{rest}"),
            _ => return None,
        };
        self.auth.profiles.contains_key(&alt).then_some(alt)
    }

    /// The live Codex provider under a rule set: the layout's, except that 2026.8+ routes
    /// Codex to `openai` whenever migrated `openai:*` OAuth profiles exist (a JSON-era store
    /// holding both spellings reads as `openai-codex` by the layout alone).
    pub fn provider_under(&self, rules: crate::model::release::Rules) -> String {
        let migrated = self
            .auth
            .profiles
            .iter()
            .any(|(k, v)| k.starts_with("openai:") && v.get("type").and_then(Value::as_str) == Some("oauth"));
        match rules {
            r if r >= crate::model::release::Rules::parse("8.1").expect("release") && migrated => "openai".into(),
            _ => self.provider.clone(),
        }
    }

    /// Accept either Codex provider spelling and return this layout's live one.
    pub fn map_provider(&self, p: &str) -> String {
        // `openai` is also the API-key provider in the JSON era, so only the retired Codex
        // spelling is mapped forward.
        match p {
            "openai-codex" | "codex" if self.provider == "openai" => "openai".into(),
            "codex" => self.provider.clone(),
            other => other.to_string(),
        }
    }
}
