//! `migrate`: a guarded OpenClaw upgrade. Before OpenClaw's own JSON→SQLite migration
//! (`doctor --fix --non-interactive`), record for every session the identity (account id, then
//! user id, then email) its next turn uses under the current release's rules, plus order,
//! lastGood, cooldowns and pins; afterwards read the new layout under the new release's rules,
//! list what changed, and plan the repairs that give every chat its account back (the routing
//! state re-keyed as `rekey-state` does, pins re-homed onto the live ids as `resync` does, and
//! an auto pin where the new rules alone would still pick another account). The tree snapshot
//! and undo are `txn::tree`; running OpenClaw is [`OpenClawCli`]. Nothing here prints.

use super::*;
use crate::model::release::{Release, Rules};
use crate::model::resolve::{ModelScope, PinWrite};
use crate::model::Session;
use crate::txn::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The oldest release whose `doctor --fix` migrates the Codex provider (`openai-codex` ->
/// `openai`, 2026.6.1); from 2026.6.5 it also moves JSON stores into SQLite.
pub const OLDEST_TARGET: Release = Release::new(6, 1);

/// Who a profile is: account id (stored, else the JWT claim), the token's user id, the email.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ident {
    pub account: Option<String>,
    pub user: Option<String>,
    pub email: Option<String>,
}

impl Ident {
    pub fn of(id: &str, cred: &Value, now_ms: i64) -> Ident {
        let (account, user, email) = super::profile::identity(id, cred, now_ms);
        Ident { account, user, email }
    }
    /// Account first, then user id, then email (two logins of one email in different
    /// workspaces are different identities).
    pub fn same(&self, o: &Ident) -> bool {
        match (&self.account, &o.account) {
            (Some(a), Some(b)) => a == b && (self.user.is_none() || o.user.is_none() || self.user == o.user),
            _ => match (&self.user, &o.user) {
                (Some(a), Some(b)) => a == b,
                _ => self.email.is_some() && self.email == o.email,
            },
        }
    }
    pub fn label(&self) -> String {
        match (&self.email, &self.account) {
            (Some(e), Some(a)) => format!("{e} [{a}]"),
            (Some(e), None) => e.clone(),
            (None, Some(a)) => format!("[{a}]"),
            _ => self.user.clone().unwrap_or_else(|| "(unknown identity)".into()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionRecord {
    pub key: String,
    /// The three pin fields exactly as stored.
    pub pin: Option<String>,
    pub pin_source: Option<String>,
    pub pin_compaction: Option<Value>,
    pub compaction_count: Option<i64>,
    /// The profile the next turn uses under the record's rules, and who that is.
    pub profile: Option<String>,
    pub identity: Option<Ident>,
    /// What that release would persist on the next turn (`PinWrite`).
    pub write: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AgentRecord {
    pub id: String,
    pub layout: String,
    pub provider: String,
    pub rules: String,
    pub profiles: BTreeMap<String, Ident>,
    pub order: Map<String, Value>,
    pub last_good: Map<String, Value>,
    /// Profile id -> end of its cooldown/blocked/disabled window, for windows still running.
    pub cooldowns: BTreeMap<String, i64>,
    pub sessions: Vec<SessionRecord>,
}

/// Everything `migrate` compares across an upgrade. No secrets: identities and ids only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub now_ms: i64,
    pub preference: Option<String>,
    pub agents: Vec<AgentRecord>,
    /// Why something could not be repaired (filled in the final record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Record {
    pub fn agent(&self, id: &str) -> Option<&AgentRecord> {
        self.agents.iter().find(|a| a.id == id)
    }
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    pub fn from_value(v: &Value) -> Option<Record> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// The release the state dir itself proves, ignoring the installed CLI: before an upgrade the
/// installed `openclaw` may already be the new release, whose rules are not the ones that
/// picked each chat's account so far.
pub fn state_release(agent: &AgentState) -> Release {
    crate::model::release::detect(&agent.release_evidence(None)).release
}

fn session_record(inp: &resolve::Inputs, agent: &AgentState, provider: &str, s: &Session, now: i64) -> SessionRecord {
    let t = resolve::resolve_session(inp, provider, s, false);
    let raw = s.raw();
    let identity = t.profile.as_ref().and_then(|p| agent.auth.profiles.get(p).map(|c| Ident::of(p, c, now)));
    SessionRecord {
        key: s.key.clone(),
        pin: raw[0].as_ref().and_then(Value::as_str).map(str::to_owned),
        pin_source: raw[1].as_ref().and_then(Value::as_str).map(str::to_owned),
        pin_compaction: raw[2].clone(),
        compaction_count: s.compaction_count,
        profile: t.profile.clone(),
        identity,
        write: serde_json::to_value(&t.write).ok(),
    }
}

/// Record every agent of `state`, each under the rules `rules_of` gives it.
pub fn record(state: &State, rules_of: &dyn Fn(&AgentState) -> Rules) -> Record {
    let cfg = state.install.config.as_ref();
    let now = state.now_ms;
    let mut agents = vec![];
    for a in &state.agents {
        let rules = rules_of(a);
        let provider = a.provider_under(rules);
        let inp = resolve::Inputs::new(a, cfg, rules, now);
        let profiles = a.auth.profiles.iter().map(|(id, c)| (id.clone(), Ident::of(id, c, now))).collect();
        let cooldowns = a
            .auth
            .usage_stats
            .iter()
            .filter_map(|(id, st)| {
                resolve::unusable_until(rules, st, &ModelScope::Unscoped).filter(|u| *u > now).map(|u| (id.clone(), u))
            })
            .collect();
        agents.push(AgentRecord {
            id: a.paths.id.clone(),
            layout: a.layout.name().into(),
            provider: provider.clone(),
            rules: rules.name(),
            profiles,
            order: a.auth.order.clone(),
            last_good: a.auth.last_good.clone(),
            cooldowns,
            sessions: a.sessions.iter().map(|s| session_record(&inp, a, &provider, s, now)).collect(),
        });
    }
    Record { now_ms: now, preference: state.preference.clone(), agents, notes: vec![] }
}

// ---------------------------------------------------------------------------------------------
// differences

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// The chat's next turn lands on another account.
    Account,
    /// The pin changed (gone, another identity, another source).
    Pin,
    /// A pin names a retired `openai-codex:*` id that no longer exists.
    RetiredPin,
    Order,
    LastGood,
    Cooldown,
    /// The session is gone from the new store.
    Session,
}

impl DiffKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DiffKind::Account => "account",
            DiffKind::Pin => "pin",
            DiffKind::RetiredPin => "retired pin",
            DiffKind::Order => "order",
            DiffKind::LastGood => "lastGood",
            DiffKind::Cooldown => "cooldown",
            DiffKind::Session => "session",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub kind: DiffKind,
    pub agent: String,
    /// The session key, provider or profile id the difference is about.
    pub subject: String,
    pub before: String,
    pub after: String,
}

fn ident_of(a: &AgentRecord, id: &str) -> Option<Ident> {
    a.profiles.get(id).cloned()
}

fn shown(a: &AgentRecord, id: Option<&str>) -> String {
    match id {
        None => "(none)".into(),
        Some(id) => match ident_of(a, id) {
            Some(i) => format!("{id} = {}", i.label()),
            None => format!("{id} (no such profile)"),
        },
    }
}

fn idents_of_list(a: &AgentRecord, v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|id| ident_of(a, id).map(|i| i.label()).unwrap_or_else(|| format!("{id} (dead)")))
        .collect()
}

fn codex_key<'m>(m: &'m Map<String, Value>, provider: &str) -> Option<&'m Value> {
    m.get(provider).or_else(|| {
        m.iter().find(|(k, _)| resolve::normalize_provider(k) == resolve::normalize_provider(provider)).map(|(_, v)| v)
    })
}

/// Every difference between two records, per agent: the accounts sessions land on, pins,
/// retired-id pins, the Codex order and lastGood (compared by identity, so a rename to
/// `openai:*` is no difference), and which identities are cooling down.
pub fn differences(before: &Record, after: &Record) -> Vec<Difference> {
    let mut out = vec![];
    for b in &before.agents {
        let Some(a) = after.agent(&b.id) else { continue };
        let d = |kind, subject: &str, before: String, after: String| Difference {
            kind,
            agent: b.id.clone(),
            subject: subject.to_string(),
            before,
            after,
        };
        for bs in &b.sessions {
            let Some(asess) = a.sessions.iter().find(|x| x.key == bs.key) else {
                out.push(d(DiffKind::Session, &bs.key, shown(b, bs.profile.as_deref()), "(session gone)".into()));
                continue;
            };
            let same = match (&bs.identity, &asess.identity) {
                (Some(x), Some(y)) => x.same(y),
                (None, None) => true,
                _ => false,
            };
            if !same {
                out.push(d(
                    DiffKind::Account,
                    &bs.key,
                    shown(b, bs.profile.as_deref()),
                    shown(a, asess.profile.as_deref()),
                ));
            }
            if let Some(p) = &bs.pin {
                let kept = asess.pin.as_deref().is_some_and(|ap| match (ident_of(b, p), ident_of(a, ap)) {
                    (Some(x), Some(y)) => x.same(&y),
                    _ => false,
                }) && asess.pin_source == bs.pin_source;
                if !kept {
                    let src = |s: &Option<String>| s.clone().unwrap_or_else(|| "no source".into());
                    out.push(d(
                        DiffKind::Pin,
                        &bs.key,
                        format!("{} ({})", shown(b, Some(p)), src(&bs.pin_source)),
                        match &asess.pin {
                            Some(ap) => format!("{} ({})", shown(a, Some(ap)), src(&asess.pin_source)),
                            None => "(no pin)".into(),
                        },
                    ));
                }
            }
            if let Some(ap) = &asess.pin {
                if ap.starts_with("openai-codex:") && a.provider == "openai" && !a.profiles.contains_key(ap) {
                    out.push(d(DiffKind::RetiredPin, &bs.key, bs.pin.clone().unwrap_or_default(), ap.clone()));
                }
            }
        }
        let ob = idents_of_list(b, codex_key(&b.order, &b.provider));
        let oa = idents_of_list(a, codex_key(&a.order, &a.provider));
        if ob != oa {
            out.push(d(
                DiffKind::Order,
                &b.provider,
                ob.join(", "),
                if oa.is_empty() { "(none)".into() } else { oa.join(", ") },
            ));
        }
        let lg = |r: &AgentRecord| {
            codex_key(&r.last_good, &r.provider)
                .and_then(Value::as_str)
                .map(|id| ident_of(r, id).map(|i| i.label()).unwrap_or_else(|| format!("{id} (dead)")))
        };
        if lg(b) != lg(a) {
            out.push(d(
                DiffKind::LastGood,
                &b.provider,
                lg(b).unwrap_or_else(|| "(none)".into()),
                lg(a).unwrap_or_else(|| "(none)".into()),
            ));
        }
        for (id, until) in &b.cooldowns {
            let Some(i) = ident_of(b, id) else { continue };
            let still = a.cooldowns.iter().any(|(aid, _)| ident_of(a, aid).is_some_and(|x| x.same(&i)));
            if !still {
                out.push(d(
                    DiffKind::Cooldown,
                    id,
                    format!("{} cooling down until {}", i.label(), crate::text::rfc3339_ms(*until)),
                    "no running window (the window no longer applies)".into(),
                ));
            }
        }
    }
    out
}

/// Sessions whose next turn lands on another account.
pub fn accounts_changed(d: &[Difference]) -> usize {
    d.iter().filter(|x| x.kind == DiffKind::Account).count()
}

// ---------------------------------------------------------------------------------------------
// repairs

/// The id in `agent` holding identity `want`: the same id, else the live `openai:*` spelling of
/// it, else any profile of that identity.
fn live_id_for(agent: &AgentState, old: &str, want: &Ident, now: i64) -> Option<String> {
    let fits = |id: &str| agent.auth.profiles.get(id).is_some_and(|c| Ident::of(id, c, now).same(want));
    if fits(old) {
        return Some(old.to_string());
    }
    let rest = old.split_once(':').map(|x| x.1).unwrap_or(old);
    for cand in [format!("openai:{rest}"), format!("openai-codex:{rest}")] {
        if fits(&cand) {
            return Some(cand);
        }
    }
    agent.auth.profiles.keys().find(|id| fits(id)).cloned()
}

/// A recorded `PinWrite` (serialized with its `action` tag) read back.
fn pin_write(v: &Value) -> Option<PinWrite> {
    match v.get("action")?.as_str()? {
        "clear" => Some(PinWrite::Clear),
        "set_auto" => Some(PinWrite::SetAuto {
            profile: v.get("profile")?.as_str()?.to_string(),
            compaction_count: v.get("compaction_count")?.as_i64()?,
        }),
        _ => Some(PinWrite::None),
    }
}

/// The plan that restores, after OpenClaw's migration, what each chat used before: the routing
/// state re-keyed off retired ids (`rekey-state`), pins re-homed onto the live id of the same
/// identity with their source (as `resync` does for retired pins), and, where the new rules
/// alone would still land a chat elsewhere, an auto pin to its account. Returns the plan and
/// what cannot be restored, with why.
pub fn plan_repairs(state: &State, before: &Record, migration_txn: i64) -> Result<(Plan, Vec<String>)> {
    let mut plans = vec![];
    let mut unresolved = vec![];
    let now = state.now_ms;
    let cfg = state.install.config.as_ref();
    for agent in &state.agents {
        let Some(b) = before.agent(&agent.paths.id) else { continue };
        require_writable(agent)?;
        let rules = agent.rules();
        let provider = agent.provider_under(rules);
        let single = State { agents: vec![agent.clone()], ..state.clone() };
        // 1. routing state on retired ids, as `rekey-state`
        let mut sim = agent.clone();
        if agent.provider == "openai" {
            let p = super::rekey::plan(&single)?;
            if !p.is_empty() {
                let merged = serde_json::json!({"order": agent.auth.order, "lastGood": agent.auth.last_good, "usageStats": agent.auth.usage_stats});
                let [o, l, u] = super::rekey::rekey(agent, &merged);
                sim.auth.order = o;
                sim.auth.last_good = l;
                sim.auth.usage_stats = u;
                plans.push(p);
            }
        }
        // 2. pins: what the old release would have kept (or rotated to) on the next turn
        let mut wanted: BTreeMap<String, ([Option<Value>; 3], String)> = BTreeMap::new();
        for bs in &b.sessions {
            let Some(s) = agent.sessions.iter().find(|x| x.key == bs.key) else {
                unresolved.push(format!("{}: session {} is gone from the new store", agent.paths.id, bs.key));
                continue;
            };
            let Some(pin) = &bs.pin else { continue };
            let write = bs.write.as_ref().and_then(pin_write);
            let (target_old, source, compaction) = match (&write, &bs.profile) {
                (Some(PinWrite::SetAuto { profile, compaction_count }), _) => {
                    (profile.clone(), Some("auto".to_string()), Some(Value::from(*compaction_count)))
                }
                (Some(PinWrite::Clear), _) => {
                    if s.has_pin_fields() {
                        wanted.insert(s.key.clone(), ([None, None, None], format!("the old release cleared {pin}")));
                    }
                    continue;
                }
                (_, Some(p)) if p == pin => (pin.clone(), bs.pin_source.clone(), bs.pin_compaction.clone()),
                // the old release did not use the pin (and would not have rewritten it): the
                // order decided; leave the pin to step 3
                _ => continue,
            };
            let Some(want) = b.profiles.get(&target_old) else { continue };
            match live_id_for(agent, &target_old, want, now) {
                Some(live) => {
                    let vals = [Some(Value::String(live.clone())), source.clone().map(Value::String), compaction];
                    wanted.insert(
                        s.key.clone(),
                        (
                            vals,
                            format!("{pin} -> {live} ({}, {})", want.label(), source.as_deref().unwrap_or("no source")),
                        ),
                    );
                }
                None => unresolved.push(format!(
                    "{}: {}: {target_old} ({}) has no profile in the new release; the pin cannot be restored",
                    agent.paths.id,
                    s.key,
                    want.label()
                )),
            }
        }
        let apply_wanted = |sim: &mut AgentState, wanted: &BTreeMap<String, ([Option<Value>; 3], String)>| {
            for (k, (vals, _)) in wanted {
                if let Some(x) = std::sync::Arc::make_mut(&mut sim.sessions).iter_mut().find(|x| &x.key == k) {
                    x.pin = vals[0].as_ref().and_then(Value::as_str).map(Into::into);
                    x.pin_source = vals[1].as_ref().and_then(Value::as_str).map(Into::into);
                    x.pin_compaction = vals[2].clone();
                    let upd = x.raw()[3].clone();
                    x.stored = Some(Box::new([vals[0].clone(), vals[1].clone(), vals[2].clone(), upd]));
                }
            }
        };
        apply_wanted(&mut sim, &wanted);
        // 3. where the new rules still pick another account: an auto pin to the old one
        {
            let inp = resolve::Inputs::new(&sim, cfg, rules, now);
            for bs in &b.sessions {
                let (Some(want), Some(old_id)) = (&bs.identity, &bs.profile) else { continue };
                let Some(s) = sim.sessions.iter().find(|x| x.key == bs.key) else { continue };
                let t = resolve::resolve_session(&inp, &provider, s, false);
                let got = t.profile.as_ref().and_then(|p| sim.auth.profiles.get(p).map(|c| Ident::of(p, c, now)));
                if got.as_ref().is_some_and(|g| g.same(want)) {
                    continue;
                }
                match live_id_for(&sim, old_id, want, now) {
                    Some(live) => {
                        let vals = pin_values(&live, "auto", s.compaction_count);
                        wanted.insert(
                            s.key.clone(),
                            (
                                vals.to_vec().try_into().unwrap_or([None, None, None]),
                                format!(
                                    "auto pin to {live} ({}): the new rules alone pick {}",
                                    want.label(),
                                    t.profile.as_deref().unwrap_or("none")
                                ),
                            ),
                        );
                    }
                    None => unresolved.push(format!(
                        "{}: {}: {} ({}) has no profile in the new release",
                        agent.paths.id,
                        bs.key,
                        old_id,
                        want.label()
                    )),
                }
            }
        }
        let mut p =
            Plan::new("migrate-repair", format!("restore what each chat used before migration {migration_txn}"));
        p.agent = Some(agent.paths.id.clone());
        for (key, (vals, why)) in &wanted {
            let Some(s) = agent.sessions.iter().find(|x| &x.key == key) else { continue };
            let (loc, prefix) = session_location(agent, key)?;
            let changes = pin_field_changes(Some(s), &loc, &prefix, vals.clone(), now)?;
            if !changes.is_empty() {
                p.push_step(loc, format!("{key}: {why}"), changes);
            }
        }
        plans.push(p);
    }
    let mut plan = merge_plans(plans)?;
    plan.workflow = "migrate-repair".into();
    plan.summary = format!("restore what each chat used before migration {migration_txn}");
    plan.notes.retain(|n| !n.contains("blast radius"));
    plan.notes.insert(0, format!("repairs migration transaction {migration_txn}"));
    for u in &unresolved {
        plan.notes.push(format!("not restorable: {u}"));
    }
    Ok((plan, unresolved))
}

// ---------------------------------------------------------------------------------------------
// the running system

// ---------------------------------------------------------------------------------------------
// OpenClaw's CLI

/// How to run one OpenClaw release: the program and its leading arguments, and its release.
#[derive(Debug, Clone)]
pub struct OpenClawCli {
    pub argv: Vec<String>,
    pub release: Option<Release>,
    /// Where the release number came from.
    pub release_from: String,
    /// The directory of `node`, put first on the child's PATH.
    pub node_dir: Option<PathBuf>,
}

fn package_version(pkg: &Path) -> Option<Release> {
    let v: Value = serde_json::from_slice(&std::fs::read(pkg.join("package.json")).ok()?).ok()?;
    Release::parse(v.get("version")?.as_str()?)
}

/// `--openclaw PATH`: a package dir (holding `openclaw.mjs` and `package.json`), an install
/// dir holding `node_modules/openclaw`, its `openclaw.mjs`, or an executable (`openclaw` on
/// PATH, a wrapper script). `node` runs the `.mjs` (default `node` on PATH).
pub fn locate(path: &Path, node: Option<&Path>, env: &BTreeMap<String, String>, home: &Path) -> Result<OpenClawCli> {
    let node_s = node.map(|p| p.display().to_string()).unwrap_or_else(|| "node".into());
    let node_dir = node.and_then(|p| p.parent()).filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf);
    let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("--openclaw {}: {e}", path.display())))?;
    let mjs_cli = |pkg: &Path| -> Result<OpenClawCli> {
        let release = package_version(pkg);
        Ok(OpenClawCli {
            argv: vec![node_s.clone(), pkg.join("openclaw.mjs").display().to_string()],
            release,
            release_from: format!("{}", pkg.join("package.json").display()),
            node_dir: node_dir.clone(),
        })
    };
    if meta.is_dir() {
        for pkg in [path.to_path_buf(), path.join("node_modules").join("openclaw")] {
            if pkg.join("openclaw.mjs").is_file() && pkg.join("package.json").is_file() {
                return mjs_cli(&pkg);
            }
        }
        return Err(Error::Usage(format!(
            "--openclaw {}: neither an OpenClaw package (openclaw.mjs + package.json) nor a dir holding node_modules/openclaw",
            path.display()
        )));
    }
    if path.extension().is_some_and(|e| e == "mjs" || e == "js") {
        return mjs_cli(path.parent().unwrap_or(Path::new(".")));
    }
    let mut cli = OpenClawCli {
        argv: vec![path.display().to_string()],
        release: None,
        release_from: format!("{} --version", path.display()),
        node_dir,
    };
    let out = run_isolated(&cli, &["--version".to_string()], None, env, home, std::time::Duration::from_secs(120))?;
    cli.release = out.stdout.split_whitespace().find_map(Release::parse);
    Ok(cli)
}

/// What one OpenClaw run came to. Output is sanitized (control characters escaped, tokens
/// replaced by fingerprints) and capped.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutput {
    pub command: Vec<String>,
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub ms: i64,
    pub timed_out: bool,
}

/// Captured output kept per stream.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// JWT-looking words (`eyJ….….…`) replaced by their fingerprint.
pub fn redact_tokens(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"eyJ") {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'_' | b'.')) {
                j += 1;
            }
            let word = &s[i..j];
            if word.matches('.').count() >= 2 && word.len() >= 20 {
                out.push_str(&format!("[token {}]", crate::model::token::fingerprint(word)));
                i = j;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn clean_output(bytes: &[u8], total: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut s = crate::sanitize::terminal_text(&redact_tokens(&text)).into_owned();
    if total > bytes.len() {
        s.push_str(&format!("\n…({} more bytes not kept)", total - bytes.len()));
    }
    s
}

/// Run OpenClaw with a clean environment, as the conformance runner does: only PATH (node
/// first), a throw-away HOME/XDG dirs/TMPDIR (OpenClaw overlays credentials it finds in HOME,
/// e.g. `~/.codex/auth.json`), `OPENCLAW_STATE_DIR` when given, no auto-update, no Bonjour,
/// no colour, UTC. Killed after `timeout`.
pub fn run_isolated(
    cli: &OpenClawCli,
    args: &[String],
    state_dir: Option<&Path>,
    env: &BTreeMap<String, String>,
    scratch: &Path,
    timeout: std::time::Duration,
) -> Result<RunOutput> {
    use std::io::Read;
    let home = scratch.join("home");
    let tmp = scratch.join("tmp");
    for d in [&home, &tmp] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let mut path = String::new();
    if let Some(d) = &cli.node_dir {
        path.push_str(&d.display().to_string());
        path.push(':');
    }
    path.push_str(env.get("PATH").map(String::as_str).unwrap_or("/usr/bin:/bin"));
    let mut c = std::process::Command::new(&cli.argv[0]);
    c.args(&cli.argv[1..])
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("TMPDIR", &tmp)
        .env("OPENCLAW_NO_AUTO_UPDATE", "1")
        .env("OPENCLAW_DISABLE_BONJOUR", "1")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env("TERM", "dumb")
        .env("TZ", "UTC")
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(s) = state_dir {
        c.env("OPENCLAW_STATE_DIR", s);
    }
    let command: Vec<String> = cli.argv.iter().cloned().chain(args.iter().cloned()).collect();
    let started = std::time::Instant::now();
    let mut child = c.spawn().map_err(|e| Error::Other(format!("cannot run OpenClaw ({}): {e}", command.join(" "))))?;
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut kept = vec![];
            let mut total = 0usize;
            if let Some(mut r) = r {
                let mut buf = [0u8; 8192];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    total += n;
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
            (kept, total)
        })
    };
    let out_t = reader(child.stdout.take().map(|x| Box::new(x) as Box<dyn Read + Send>));
    let err_t = reader(child.stderr.take().map(|x| Box::new(x) as Box<dyn Read + Send>));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                timed_out = true;
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => return Err(Error::Other(format!("waiting for OpenClaw: {e}"))),
        }
    };
    let (ob, on) = out_t.join().unwrap_or_default();
    let (eb, en) = err_t.join().unwrap_or_default();
    Ok(RunOutput {
        command,
        exit_code: status.and_then(|s| s.code()).map(i64::from),
        stdout: clean_output(&ob, on),
        stderr: clean_output(&eb, en),
        ms: started.elapsed().as_millis() as i64,
        timed_out,
    })
}

/// The arguments of OpenClaw's own migration.
pub fn migration_args() -> Vec<String> {
    ["doctor", "--fix", "--non-interactive"].iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_compare_account_then_user_then_email() {
        let i = |a: Option<&str>, u: Option<&str>, e: Option<&str>| Ident {
            account: a.map(Into::into),
            user: u.map(Into::into),
            email: e.map(Into::into),
        };
        assert!(i(Some("a"), Some("u"), None).same(&i(Some("a"), None, Some("x"))));
        assert!(!i(Some("a"), Some("u"), Some("e")).same(&i(Some("b"), Some("u"), Some("e"))));
        assert!(!i(Some("a"), Some("u1"), None).same(&i(Some("a"), Some("u2"), None)));
        assert!(i(None, None, Some("e")).same(&i(None, None, Some("e"))));
        assert!(!i(None, None, None).same(&i(None, None, None)));
    }

    #[test]
    fn tokens_in_output_become_fingerprints() {
        let s = "saved eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig for x";
        let r = redact_tokens(s);
        assert!(!r.contains("eyJhbGci"), "{r}");
        assert!(r.starts_with("saved [token ") && r.ends_with(" for x"), "{r}");
    }
}
