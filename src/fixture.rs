//! The fixture builder: writes OpenClaw state dirs with fake, realistic credentials (JWTs whose
//! payload carries Codex claims and whose signature is the literal `sig`). Every fixture in the
//! repository, the embedded demo and the conformance scenarios come from here; no real secret
//! ever enters the project. SQLite layouts are made from these by real OpenClaw
//! (`fixtures/regen-sqlite.sh`).

use crate::jsondoc::{self, Style};
use crate::model::Layout;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The fixtures' reference clock: 2026-05-01T12:00:00Z.
pub const REF_NOW_MS: i64 = 1_777_636_800_000;
/// Far-future token expiry (2100-01-01) so committed fixtures never go stale.
pub const FAR_MS: i64 = 4_102_444_800_000;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub account_id: String,
    pub user_id: String,
    pub plan: String,
}

impl Account {
    pub fn new(id: &str, email: &str, account_id: &str, user_id: &str, plan: &str) -> Self {
        Account {
            id: id.into(),
            email: email.into(),
            account_id: account_id.into(),
            user_id: user_id.into(),
            plan: plan.into(),
        }
    }
}

pub fn fake_jwt(email: &str, account_id: &str, user_id: &str, plan: &str, exp_ms: i64, iat_ms: i64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "fake-kid"});
    let payload = json!({
        "iss": "https://auth.openai.com",
        "sub": format!("auth0|{user_id}"),
        "aud": ["https://api.openai.com/v1"],
        "iat": iat_ms / 1000 - 60,
        "exp": exp_ms / 1000,
        "https://api.openai.com/auth": {
            "chatgpt_account_id": account_id,
            "chatgpt_plan_type": plan,
            "chatgpt_user_id": user_id,
        },
        "https://api.openai.com/profile": {"email": email, "email_verified": true},
    });
    format!("{}.{}.sig", e.encode(header.to_string()), e.encode(payload.to_string()))
}

/// An OAuth credential in OpenClaw's shape. `generation` varies the refresh token, as a
/// rotation would.
pub fn credential(provider: &str, a: &Account, exp_ms: i64, now_ms: i64, generation: u32) -> Value {
    json!({
        "type": "oauth",
        "provider": provider,
        "access": fake_jwt(&a.email, &a.account_id, &a.user_id, &a.plan, exp_ms, now_ms),
        "refresh": format!("fake-refresh-{}-g{generation}", a.account_id),
        "expires": exp_ms,
        "email": a.email,
        "accountId": a.account_id,
        "chatgptPlanType": a.plan,
    })
}

/// A whole state dir's worth of content, as plain JSON, that tests mutate before writing.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub now_ms: i64,
    pub provider: String,
    pub profiles: Map<String, Value>,
    pub order: Map<String, Value>,
    pub last_good: Map<String, Value>,
    pub usage_stats: Map<String, Value>,
    pub sessions: Map<String, Value>,
    pub config: Option<Value>,
    pub preference: Option<String>,
    pub repo: Option<Value>,
    /// Other agents: id -> their own profiles (they inherit main's).
    pub extra_agents: Vec<(String, Map<String, Value>)>,
}

pub fn accounts(provider: &str) -> Vec<Account> {
    vec![
        Account::new(
            &format!("{provider}:alice@example.com"),
            "alice@example.com",
            "acct-alice-personal-0001",
            "user-alice-0001",
            "plus",
        ),
        Account::new(
            &format!("{provider}:alice-team"),
            "alice@example.com",
            "acct-alice-team-0002",
            "user-alice-0001",
            "team",
        ),
        Account::new(
            &format!("{provider}:bob@example.com"),
            "bob@example.com",
            "acct-bob-0003",
            "user-bob-0003",
            "pro",
        ),
    ]
}

fn session(n: u32, updated: i64, extra: Value) -> Value {
    let mut v = json!({
        "sessionId": format!("00000000-0000-4000-8000-{n:012}"),
        "updatedAt": updated,
        "chatType": "direct",
        "modelProvider": "openai",
        "model": "gpt-5.5",
        "compactionCount": 0,
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            m.insert(k.clone(), x.clone());
        }
    }
    v
}

impl Scenario {
    /// Three Codex logins (two share alice's email in different workspaces), an explicit order
    /// with the first one cooling down for an hour, and five sessions: unpinned, user-pinned,
    /// auto-pinned, a subagent and a cron job.
    pub fn standard(now_ms: i64) -> Scenario {
        let provider = "openai-codex";
        let accts = accounts(provider);
        let mut profiles = Map::new();
        for a in &accts {
            profiles.insert(a.id.clone(), credential(provider, a, FAR_MS, now_ms, 1));
        }
        let [alice, team, bob] = [&accts[0].id, &accts[1].id, &accts[2].id];
        let order: Map<String, Value> = [(provider.to_string(), json!([team, alice, bob]))].into_iter().collect();
        let last_good: Map<String, Value> = [(provider.to_string(), json!(alice))].into_iter().collect();
        let usage_stats: Map<String, Value> = [
            (alice.clone(), json!({"lastUsed": now_ms - 5 * 60_000, "errorCount": 0})),
            (
                team.clone(),
                json!({"lastUsed": now_ms - 3_600_000, "cooldownUntil": now_ms + 3_600_000, "cooldownReason": "rate_limit", "errorCount": 2, "failureCounts": {"rate_limit": 2}, "lastFailureAt": now_ms - 120_000}),
            ),
            (bob.clone(), json!({"lastUsed": now_ms - 86_400_000})),
        ]
        .into_iter()
        .collect();
        let mut sessions = Map::new();
        sessions.insert("agent:main:main".into(), session(1, now_ms - 10 * 60_000, json!({})));
        sessions.insert(
            "agent:main:telegram:direct:1001".into(),
            session(2, now_ms - 20 * 60_000, json!({"channel": "telegram", "compactionCount": 1, "authProfileOverride": bob, "authProfileOverrideSource": "user"})),
        );
        sessions.insert(
            "agent:main:discord:channel:2002".into(),
            session(3, now_ms - 30 * 60_000, json!({"chatType": "channel", "channel": "discord", "authProfileOverride": alice, "authProfileOverrideSource": "auto", "authProfileOverrideCompactionCount": 0})),
        );
        sessions.insert(
            "agent:main:subagent:6f1c2d3e-0000-4000-8000-000000000004".into(),
            session(4, now_ms - 40 * 60_000, json!({"authProfileOverride": alice, "authProfileOverrideSource": "auto", "authProfileOverrideCompactionCount": 0})),
        );
        sessions.insert("agent:main:cron:nightly-report".into(), session(5, now_ms - 50 * 60_000, json!({})));
        Scenario {
            now_ms,
            provider: provider.into(),
            profiles,
            order,
            last_good,
            usage_stats,
            sessions,
            config: None,
            preference: None,
            repo: None,
            extra_agents: vec![],
        }
    }

    /// Add `n` synthetic sessions shaped like real ones (~1.2 KB each: delivery context,
    /// origin, usage counters, a skills snapshot), for benchmarks at scale. Every 10th is
    /// pinned, every 7th is a subagent, every 13th a cron job.
    pub fn with_bulk_sessions(mut self, n: usize) -> Scenario {
        let ids: Vec<String> = self.profiles.keys().cloned().collect();
        for i in 0..n {
            let key = match i {
                i if i % 7 == 3 => format!("agent:main:subagent:{:08x}-0000-4000-8000-{i:012}", i),
                i if i % 13 == 5 => format!("agent:main:cron:job-{i}"),
                i if i % 2 == 0 => format!("agent:main:telegram:direct:{}", 100_000 + i),
                _ => format!("agent:main:discord:channel:{}", 900_000 + i),
            };
            let mut e = json!({
                "sessionId": format!("{:08x}-1111-4000-8000-{i:012}", i),
                "updatedAt": self.now_ms - (i as i64) * 1_000,
                "chatType": if i % 2 == 0 { "direct" } else { "channel" },
                "channel": if i % 2 == 0 { "telegram" } else { "discord" },
                "modelProvider": "openai",
                "model": "gpt-5.5",
                "compactionCount": i % 4,
                "deliveryContext": {"channel": if i % 2 == 0 { "telegram" } else { "discord" }, "to": format!("chat:{}", 100_000 + i), "accountId": "default"},
                "lastChannel": if i % 2 == 0 { "telegram" } else { "discord" },
                "lastTo": format!("chat:{}", 100_000 + i),
                "origin": {"label": format!("Chat with user {i}"), "provider": "telegram", "surface": "direct", "from": format!("user:{i}"), "to": format!("bot:{}", i % 3)},
                "inputTokens": 1000 + i, "outputTokens": 200 + i % 977, "totalTokens": 1200 + i, "contextTokens": 128_000,
                "systemSent": true, "abortedLastRun": false,
                "skillsSnapshot": {"prompt": "You can use these skills: web-search, code-review, calendar, reminders, weather. Prefer concise answers and cite sources when browsing.", "skills": [{"name": "web-search"}, {"name": "code-review"}, {"name": "calendar"}, {"name": "reminders"}, {"name": "weather"}]},
                "thinkingLevel": "medium", "verboseLevel": "off", "elevatedLevel": "off",
            });
            if i % 10 == 0 && !ids.is_empty() {
                e["authProfileOverride"] = json!(ids[i % ids.len()]);
                e["authProfileOverrideSource"] = json!(if i % 20 == 0 { "user" } else { "auto" });
                if i % 20 != 0 {
                    e["authProfileOverrideCompactionCount"] = json!(i % 4);
                }
            }
            self.sessions.insert(key, e);
        }
        self
    }

    /// The external-router setup: a repo of identities, one copied into `openai-codex:default`,
    /// and the helper's stored preference naming it.
    pub fn with_router(mut self) -> Scenario {
        let accts = accounts(&self.provider);
        let mut repo = Map::new();
        for a in &accts {
            let short = a.id.split_once(':').map(|x| x.1).unwrap_or(&a.id).to_string();
            repo.insert(format!("{}:{short}", self.provider), credential(&self.provider, a, FAR_MS, self.now_ms, 1));
        }
        let slot = format!("{}:default", self.provider);
        let bob_repo_id = format!("{}:bob@example.com", self.provider);
        self.profiles.insert(slot.clone(), repo[&bob_repo_id].clone());
        self.preference = Some(bob_repo_id);
        self.repo = Some(json!({ "profiles": repo }));
        if let Some(o) = self.order.get_mut(&self.provider).and_then(Value::as_array_mut) {
            o.insert(0, json!(slot));
        }
        self
    }

    /// The state OpenClaw 2026.6.1 / 7.x `doctor --fix` leaves: every `openai-codex:*` profile
    /// renamed `openai:*` (provider `openai`, order and lastGood keyed `openai`, usageStats by
    /// the new ids) while session pins still name the retired `openai-codex:*` ids.
    pub fn migrated_to_openai(&self) -> Scenario {
        let rename = |id: &str| match id.strip_prefix("openai-codex:") {
            Some(rest) => format!("openai:{rest}"),
            None => id.to_string(),
        };
        let mut sc = self.clone();
        sc.provider = "openai".into();
        sc.profiles = self
            .profiles
            .iter()
            .map(|(k, v)| {
                let mut v = v.clone();
                if v.get("provider").and_then(Value::as_str) == Some("openai-codex") {
                    v["provider"] = json!("openai");
                }
                (rename(k), v)
            })
            .collect();
        let ids = |v: &Value| match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| json!(rename(x.as_str().unwrap_or_default()))).collect()),
            Value::String(s) => json!(rename(s)),
            other => other.clone(),
        };
        let key = |k: &str| if k == "openai-codex" { "openai".to_string() } else { k.to_string() };
        sc.order = self.order.iter().map(|(k, v)| (key(k), ids(v))).collect();
        sc.last_good = self.last_good.iter().map(|(k, v)| (key(k), ids(v))).collect();
        sc.usage_stats = self.usage_stats.iter().map(|(k, v)| (rename(k), v.clone())).collect();
        sc
    }

    /// Write the scenario as OpenClaw `layout` (A or B) would, with OpenClaw's file modes.
    pub fn write(&self, dir: &Path, layout: Layout) -> std::io::Result<()> {
        assert!(!layout.is_sqlite(), "SQLite layouts are produced by real OpenClaw (fixtures/regen-sqlite.sh)");
        mkdir(dir)?;
        self.write_agent(dir, "main", &self.profiles, true, layout)?;
        for (id, profiles) in &self.extra_agents {
            self.write_agent(dir, id, profiles, false, layout)?;
        }
        if let Some(c) = &self.config {
            write_file(&dir.join("openclaw.json"), &jsondoc::to_bytes(c, Style::AUTH_FILE))?;
        }
        if let Some(p) = &self.preference {
            write_file(&dir.join("codex_profile_id"), format!("{p}\n").as_bytes())?;
        }
        if let Some(r) = &self.repo {
            write_file(&dir.join("codex-oauth-profiles.json"), &jsondoc::to_bytes(r, Style::AUTH_FILE))?;
        }
        Ok(())
    }

    fn write_agent(
        &self,
        dir: &Path,
        id: &str,
        profiles: &Map<String, Value>,
        with_state: bool,
        layout: Layout,
    ) -> std::io::Result<()> {
        let agent_dir = dir.join("agents").join(id).join("agent");
        let sessions_dir = dir.join("agents").join(id).join("sessions");
        mkdir(&dir.join("agents"))?;
        mkdir(&dir.join("agents").join(id))?;
        mkdir(&agent_dir)?;
        mkdir(&sessions_dir)?;
        let mut store = Map::new();
        store.insert("version".into(), json!(1));
        store.insert("profiles".into(), Value::Object(profiles.clone()));
        let mut state = Map::new();
        if with_state {
            for (k, m) in [("order", &self.order), ("lastGood", &self.last_good), ("usageStats", &self.usage_stats)] {
                if !m.is_empty() {
                    state.insert(k.into(), Value::Object(m.clone()));
                }
            }
        }
        match layout {
            Layout::A => {
                store.extend(state);
            }
            _ => {
                let mut s = Map::new();
                s.insert("version".into(), json!(1));
                s.extend(state);
                write_file(
                    &agent_dir.join("auth-state.json"),
                    &jsondoc::to_bytes(&Value::Object(s), Style::AUTH_FILE),
                )?;
            }
        }
        write_file(&agent_dir.join("auth-profiles.json"), &jsondoc::to_bytes(&Value::Object(store), Style::AUTH_FILE))?;
        let sessions = if id == "main" { self.sessions.clone() } else { Map::new() };
        write_file(
            &sessions_dir.join("sessions.json"),
            &jsondoc::to_bytes(&Value::Object(sessions.clone()), Style::SESSIONS_FILE),
        )?;
        // transcripts with only a header, so OpenClaw's doctor does not report missing ones
        // (not for bulk benchmark states, where 100k files would only cost time)
        for entry in sessions.values().filter(|_| sessions.len() <= 1000) {
            if let Some(sid) = entry.get("sessionId").and_then(Value::as_str) {
                let header = json!({"type": "session", "version": 3, "id": sid, "timestamp": crate::context::rfc3339_ms(self.now_ms), "cwd": "/home/user"});
                write_file(&sessions_dir.join(format!("{sid}.jsonl")), format!("{header}\n").as_bytes())?;
            }
        }
        Ok(())
    }
}

fn mkdir(p: &Path) -> std::io::Result<()> {
    if !p.exists() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700))
}

fn write_file(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(p, bytes)?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))
}

/// Named broken cases for bad-input tests: each writes a standard layout-B state and then
/// damages one thing.
pub const BROKEN_CASES: &[&str] = &[
    "truncated-auth",
    "auth-not-object",
    "profiles-wrong-type",
    "non-jwt-access",
    "dangling-pin",
    "duplicate-refresh",
    "truncated-sessions",
    "sessions-wrong-type",
    "non-utf8-auth",
    "bom-auth",
    "empty-auth",
    "auth-is-directory",
    "symlink-loop",
    "sqlite-not-a-database",
    "order-wrong-type",
];

pub fn write_broken(dir: &Path, case: &str, now_ms: i64) -> std::io::Result<()> {
    let mut sc = Scenario::standard(now_ms);
    match case {
        "non-jwt-access" => {
            sc.profiles["openai-codex:bob@example.com"]["access"] = json!("not-a-jwt-opaque-token");
        }
        "dangling-pin" => {
            sc.sessions["agent:main:main"]["authProfileOverride"] = json!("openai-codex:carol@example.com");
            sc.sessions["agent:main:main"]["authProfileOverrideSource"] = json!("user");
        }
        "duplicate-refresh" => {
            let r = sc.profiles["openai-codex:bob@example.com"]["refresh"].clone();
            sc.profiles["openai-codex:alice@example.com"]["refresh"] = r;
        }
        _ => {}
    }
    sc.write(dir, Layout::B)?;
    let agent = dir.join("agents/main/agent");
    let auth = agent.join("auth-profiles.json");
    let sessions = dir.join("agents/main/sessions/sessions.json");
    let cut = |p: &Path| -> std::io::Result<()> {
        let b = std::fs::read(p)?;
        std::fs::write(p, &b[..b.len() / 2])
    };
    match case {
        "truncated-auth" => cut(&auth)?,
        "auth-not-object" => std::fs::write(&auth, b"[1, 2, 3]\n")?,
        "profiles-wrong-type" => std::fs::write(&auth, b"{\n  \"version\": 1,\n  \"profiles\": \"oops\"\n}\n")?,
        "truncated-sessions" => cut(&sessions)?,
        "sessions-wrong-type" => std::fs::write(&sessions, b"[\"not\", \"an\", \"object\"]")?,
        "non-utf8-auth" => std::fs::write(&auth, b"{\"version\": 1, \"profiles\": {\"x\xff\": {}}}\n")?,
        "bom-auth" => {
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend(std::fs::read(&auth)?);
            std::fs::write(&auth, b)?
        }
        "empty-auth" => std::fs::write(&auth, b"")?,
        "auth-is-directory" => {
            std::fs::remove_file(&auth)?;
            std::fs::create_dir(&auth)?
        }
        "symlink-loop" => {
            std::fs::remove_file(&auth)?;
            std::os::unix::fs::symlink(agent.join("loop-b"), agent.join("loop-a"))?;
            std::os::unix::fs::symlink(agent.join("loop-a"), agent.join("loop-b"))?;
            std::os::unix::fs::symlink(agent.join("loop-a"), &auth)?
        }
        "sqlite-not-a-database" => {
            std::fs::write(
                agent.join("openclaw-agent.sqlite"),
                b"this is not a database, just text pretending to be one",
            )?;
        }
        "order-wrong-type" => {
            std::fs::write(
                agent.join("auth-state.json"),
                b"{\n  \"version\": 1,\n  \"order\": [\"openai-codex:bob@example.com\"]\n}\n",
            )?;
        }
        _ => {}
    }
    Ok(())
}
