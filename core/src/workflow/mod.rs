//! Workflows: pure functions from the loaded model (plus the documents' current values) to a
//! `Plan`. They never write; the engine applies what they return.

pub mod activate;
pub mod cooldown;
pub mod lastgood;
pub mod migrate;
pub mod order;
pub mod pin;
pub mod preference;
pub mod profile;
pub mod rekey;
pub mod repair;
pub mod restore;
pub mod resync;
pub mod revalidate;

pub use repair::{Fix, Repair};

use crate::error::{Error, Result};
use crate::layout::store::Location;
use crate::model::resolve::{self, Inputs};
use crate::model::{AgentState, SessionsLoc, State};
use crate::txn::docio;
use crate::txn::plan::{Change, Plan};
use serde_json::{Map, Value};

/// Refuse early when this agent's store must not be written.
pub fn require_writable(agent: &AgentState) -> Result<()> {
    if let Some(r) = &agent.read_only_reason {
        return Err(Error::Refused(format!("agent {} is read-only for clawauth: {r}", agent.paths.id)));
    }
    // a broken store is an emergency: plan nothing on top of a state we could not fully read
    if let Some(first) = agent.unreadable.first() {
        return Err(Error::Refused(format!(
            "refusing to change agent {} while a live file cannot be used: {first}",
            agent.paths.id
        )));
    }
    Ok(())
}

/// One agent: the one selected, or an error when several are.
pub fn one_agent(state: &State) -> Result<&AgentState> {
    match state.agents.as_slice() {
        [a] => Ok(a),
        [] => Err(Error::NotFound("no agent selected".into())),
        _ => Err(Error::Usage("this command works on one agent; pass --agent ID instead of --all-agents".into())),
    }
}

/// The current value at `pointer` in a location (reads the document).
pub fn current(loc: &Location, pointer: &str) -> Result<Option<Value>> {
    let doc = docio::read(loc, None)?;
    docio::value_at(loc, &doc, pointer)
}

/// Resolve a profile argument (either Codex spelling) to an id that exists.
pub fn profile_arg(agent: &AgentState, id: &str) -> Result<String> {
    agent.map_profile_id(id).ok_or_else(|| {
        let known: Vec<&str> = agent.auth.profiles.keys().map(String::as_str).collect();
        Error::NotFound(format!(
            "no profile '{id}' in agent {} (known: {})",
            agent.paths.id,
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ))
    })
}

/// Where a session entry lives and the pointer prefix of its fields there.
pub fn session_location(agent: &AgentState, key: &str) -> Result<(Location, String)> {
    match &agent.sessions_loc {
        SessionsLoc::File { path } => {
            Ok((Location::json_file(path, crate::json::Style::SESSIONS_FILE), crate::json::pointer(&[key])))
        }
        SessionsLoc::Nodes { db } => Ok((Location::session_row(db, key), String::new())),
        SessionsLoc::None => Err(Error::NotFound(format!("agent {} has no session store", agent.paths.id))),
    }
}

/// The session's key and its case-folded aliases (a chat stored under a legacy lower-cased
/// key and its exact key), exact key first.
pub fn session_keys(agent: &AgentState, key: &str) -> Result<Vec<String>> {
    let mut keys: Vec<String> =
        agent.sessions.iter().filter(|s| s.key.eq_ignore_ascii_case(key)).map(|s| s.key.clone()).collect();
    if keys.is_empty() {
        let store = match &agent.sessions_loc {
            SessionsLoc::File { path } => path.display().to_string(),
            SessionsLoc::Nodes { db } => format!("{}#session_nodes", db.display()),
            SessionsLoc::None => "no session store".into(),
        };
        return Err(Error::NotFound(format!(
            "no session '{key}' in {store} ({} sessions; `clawauth status --all` lists them)",
            agent.sessions.len()
        )));
    }
    keys.sort_by_key(|k| (k != key, k.clone()));
    Ok(keys)
}

/// What a planned change does to the chats: the blast radius. `accounts`: sessions whose
/// *effective identity* changes (compared by `model::identity`, so the same profile id holding
/// another login counts, and another id of the same login does not); `pins`: sessions whose
/// pin the plan or OpenClaw's next turn drops or moves; `same_login`: sessions moving to another
/// profile id of the same login (no account change, shown so the move is not a surprise).
#[derive(Debug, Default, Clone)]
pub struct Radius {
    pub accounts: Vec<String>,
    pub pins: Vec<String>,
    pub same_login: Vec<String>,
}

/// The blast radius of going from `agent` to `after` (the planned auth state *and* session
/// pins; sessions are matched by key). Each session is resolved before and after with the
/// agent's rules.
pub fn blast_radius(state: &State, agent: &AgentState, after: &AgentState) -> Radius {
    // after's sessions are usually the same list, in the same order: index by key only if not
    let same_keys = std::sync::Arc::ptr_eq(&after.sessions, &agent.sessions)
        || after.sessions.len() == agent.sessions.len()
            && after.sessions.iter().zip(agent.sessions.iter()).all(|(a, b)| a.key == b.key);
    let by_key: std::collections::HashMap<&str, &crate::model::Session> =
        if same_keys { Default::default() } else { after.sessions.iter().map(|s| (s.key.as_str(), s)).collect() };
    let pairs = agent.sessions.iter().enumerate().map(|(i, s)| {
        let a_s: &crate::model::Session =
            if same_keys { &after.sessions[i] } else { by_key.get(s.key.as_str()).copied().unwrap_or(s) };
        (s, a_s)
    });
    radius_of(state, agent, after, pairs)
}

/// The radius of a plan that changes only the pins of a few sessions (`pin`, `unpin`): each
/// pair is (the session as stored, the session as the plan leaves it); auth is unchanged.
pub fn pin_radius(
    state: &State,
    agent: &AgentState,
    changed: &[(crate::model::Session, crate::model::Session)],
) -> Radius {
    radius_of(state, agent, agent, changed.iter().map(|(b, a)| (b, a)))
}

fn radius_of<'a>(
    state: &State,
    agent: &AgentState,
    after: &AgentState,
    pairs: impl Iterator<Item = (&'a crate::model::Session, &'a crate::model::Session)>,
) -> Radius {
    use crate::model::identity::Identity;
    let cfg = state.install.config.as_ref();
    let rules = agent.rules();
    let now = state.now_ms;
    let before_in = Inputs::new(agent, cfg, rules, now);
    let after_in = Inputs::new(after, cfg, rules, now);
    // the order depends only on the session's model scope: resolve it once per scope
    let mut orders: std::collections::HashMap<
        resolve::ModelScope,
        (std::rc::Rc<resolve::OrderTrace>, std::rc::Rc<resolve::OrderTrace>),
    > = std::collections::HashMap::new();
    let mut idents: std::collections::HashMap<(bool, String), Option<Identity>> = std::collections::HashMap::new();
    let mut ident = |after_side: bool, id: &str| -> Option<Identity> {
        idents
            .entry((after_side, id.to_string()))
            .or_insert_with(|| if after_side { after.identity_of(id, now) } else { agent.identity_of(id, now) })
            .clone()
    };
    let mut out = Radius::default();
    for (s, a_s) in pairs {
        let scope = resolve::session_scope_of(rules, s);
        let (ob, oa) = orders
            .entry(scope.clone())
            .or_insert_with(|| {
                (
                    std::rc::Rc::new(resolve::resolve_order(&before_in, &agent.provider, &scope)),
                    std::rc::Rc::new(resolve::resolve_order(&after_in, &agent.provider, &scope)),
                )
            })
            .clone();
        let b = resolve::resolve_session_with_order(&before_in, &agent.provider, s, false, ob);
        let a = resolve::resolve_session_with_order(&after_in, &agent.provider, a_s, false, oa);
        // pins: what the plan writes, else what OpenClaw's next turn would write
        if let Some(pin) = s.pin.as_deref() {
            let src = b.pin_source.as_deref().unwrap_or("user");
            match (a_s.pin.as_deref(), &a.write) {
                (None, _) => out.pins.push(format!("{}: {src} pin on {pin} dropped", s.key)),
                (Some(np), _) if np != pin => out.pins.push(format!("{}: {src} pin on {pin} re-homed to {np}", s.key)),
                (Some(_), resolve::PinWrite::Clear) if b.write != resolve::PinWrite::Clear => {
                    out.pins.push(format!("{}: {src} pin on {pin} dropped by OpenClaw's next turn", s.key))
                }
                (Some(_), resolve::PinWrite::SetAuto { profile, .. }) if profile != pin && b.write != a.write => out
                    .pins
                    .push(format!("{}: {src} pin on {pin} re-homed to {profile} by OpenClaw's next turn", s.key)),
                _ => {}
            }
        } else if let Some(np) = a_s.pin.as_deref() {
            out.pins.push(format!("{}: pinned to {np} (was unpinned)", s.key));
        }
        let (bi, ai) =
            (b.profile.as_deref().and_then(|p| ident(false, p)), a.profile.as_deref().and_then(|p| ident(true, p)));
        let raw_same = |p: &str| agent.auth.profiles.get(p) == after.auth.profiles.get(p);
        let same = match (b.profile.as_deref(), a.profile.as_deref()) {
            (None, None) => true,
            (Some(x), Some(y)) if x == y && raw_same(x) => true,
            (Some(_), Some(_)) => matches!((&bi, &ai), (Some(i), Some(j)) if i.same(j)),
            _ => false,
        };
        let show = |p: Option<&str>, i: &Option<Identity>| match (p, i) {
            (None, _) => "(none)".to_string(),
            (Some(p), Some(i)) if !i.is_unknown() => format!("{p} ({})", i.short()),
            (Some(p), _) => p.to_string(),
        };
        if !same {
            out.accounts.push(format!(
                "{}: {} -> {}",
                s.key,
                show(b.profile.as_deref(), &bi),
                show(a.profile.as_deref(), &ai)
            ));
        } else if b.profile != a.profile {
            out.same_login.push(format!(
                "{}: {} -> {}",
                s.key,
                b.profile.as_deref().unwrap_or("(none)"),
                a.profile.as_deref().unwrap_or("(none)")
            ));
        }
    }
    out
}

/// Turn a blast radius into plan notes (each list capped, with a count).
pub fn radius_notes(radius: Radius) -> Vec<String> {
    fn capped(notes: &mut Vec<String>, head: String, items: Vec<String>) {
        let n = items.len();
        notes.push(head);
        notes.extend(items.into_iter().take(20).map(|r| format!("  {r}")));
        if n > 20 {
            notes.push(format!("  … and {} more", n - 20));
        }
    }
    let mut notes = vec![];
    if radius.accounts.is_empty() {
        notes.push("blast radius: no session changes account".into());
    } else {
        capped(
            &mut notes,
            format!(
                "blast radius: {} session(s) change account (effective profile and identity):",
                radius.accounts.len()
            ),
            radius.accounts,
        );
    }
    if !radius.pins.is_empty() {
        capped(&mut notes, format!("blast radius: {} pin(s) dropped or re-homed:", radius.pins.len()), radius.pins);
    }
    if !radius.same_login.is_empty() {
        capped(
            &mut notes,
            format!(
                "blast radius: {} session(s) move to another profile id of the same login (no account change):",
                radius.same_login.len()
            ),
            radius.same_login,
        );
    }
    notes
}

/// `current`, except that a database file that does not exist reads as an absent document
/// (a layout-D agent without its own database has no overlay).
pub fn current_or_none(loc: &Location, pointer: &str) -> Result<Option<Value>> {
    if let Location::Cell { db, .. } = loc {
        if !db.exists() {
            return Ok(None);
        }
    }
    current(loc, pointer)
}

/// Every document this agent's routing state is read from: the layout's state document, the
/// credential store (OpenClaw reads an inline copy there as the base in every layout) and
/// layout D's per-agent overlay. Reference rewrites must cover all of them, or a shadowed copy
/// comes back once the winning one no longer names the id.
pub fn routing_locations(agent: &AgentState) -> Vec<Location> {
    let mut out: Vec<Location> = vec![];
    for l in [&agent.auth.state_loc, &agent.auth.store_loc, &agent.auth.overlay_loc].into_iter().flatten() {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// The store location for credentials, or an error naming the agent.
pub fn store_location(agent: &AgentState) -> Result<Location> {
    agent.auth.store_loc.clone().ok_or_else(|| Error::Other(format!("agent {}: no credential store", agent.paths.id)))
}

/// Changes turning the map at `/<key>` from `old` into `new`: per-key edits, or removal of the
/// whole map when it ends up empty (OpenClaw drops empty maps when it loads them).
pub fn map_changes(key: &str, old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<Change> {
    if old == new {
        return vec![];
    }
    if new.is_empty() {
        return vec![Change::new(crate::json::pointer(&[key]), Some(Value::Object(old.clone())), None)];
    }
    let mut out = vec![];
    for (k, v) in old {
        match new.get(k) {
            None => out.push(Change::new(crate::json::pointer(&[key, k]), Some(v.clone()), None)),
            Some(n) if n != v => {
                out.push(Change::new(crate::json::pointer(&[key, k]), Some(v.clone()), Some(n.clone())))
            }
            _ => {}
        }
    }
    for (k, v) in new {
        if !old.contains_key(k) {
            out.push(Change::new(crate::json::pointer(&[key, k]), None, Some(v.clone())));
        }
    }
    out
}

/// Replace profile id `from` by `to` (or drop it when `to` is `None`) in routing maps: order
/// lists (deduplicated, emptied lists dropped), lastGood values and the usageStats key (an
/// existing entry for `to` wins over `from`'s). Returns the three new maps.
pub fn rewrite_routing(
    order: &Map<String, Value>,
    last_good: &Map<String, Value>,
    usage: &Map<String, Value>,
    from: &str,
    to: Option<&str>,
) -> [Map<String, Value>; 3] {
    let mut new_order = Map::new();
    for (p, list) in order {
        let Some(items) = list.as_array() else {
            new_order.insert(p.clone(), list.clone());
            continue;
        };
        if !items.iter().any(|x| x.as_str() == Some(from)) {
            new_order.insert(p.clone(), list.clone());
            continue;
        }
        let mut out: Vec<Value> = vec![];
        for x in items {
            let x = if x.as_str() == Some(from) {
                match to {
                    Some(t) => Value::String(t.to_string()),
                    None => continue,
                }
            } else {
                x.clone()
            };
            if !out.contains(&x) {
                out.push(x);
            }
        }
        if !out.is_empty() {
            new_order.insert(p.clone(), Value::Array(out));
        }
    }
    let mut new_lg = Map::new();
    for (p, v) in last_good {
        if v.as_str() == Some(from) {
            if let Some(t) = to {
                new_lg.insert(p.clone(), Value::String(t.to_string()));
            }
        } else {
            new_lg.insert(p.clone(), v.clone());
        }
    }
    let mut new_usage = Map::new();
    for (k, v) in usage {
        if k == from {
            if let Some(t) = to {
                if !usage.contains_key(t) {
                    new_usage.insert(t.to_string(), v.clone());
                }
            }
        } else {
            new_usage.insert(k.clone(), v.clone());
        }
    }
    [new_order, new_lg, new_usage]
}

/// Per routing document, the changes that replace `from` by `to` (or drop it) in its order,
/// lastGood and usageStats.
pub fn reference_changes(agent: &AgentState, from: &str, to: Option<&str>) -> Result<Vec<(Location, Vec<Change>)>> {
    let mut out = vec![];
    for loc in routing_locations(agent) {
        let Some(doc) = current_or_none(&loc, "")? else { continue };
        let get = |k: &str| doc.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        let old = [get("order"), get("lastGood"), get("usageStats")];
        let new = rewrite_routing(&old[0], &old[1], &old[2], from, to);
        let mut changes = vec![];
        for (i, key) in ["order", "lastGood", "usageStats"].iter().enumerate() {
            changes.extend(map_changes(key, &old[i], &new[i]));
        }
        if !changes.is_empty() {
            out.push((loc, changes));
        }
    }
    Ok(out)
}

/// The merged routing view of an agent after the same rewrite, for blast-radius previews.
pub fn rewrite_auth(agent: &mut AgentState, from: &str, to: Option<&str>) {
    let a = &mut agent.auth;
    let [o, l, u] = rewrite_routing(&a.order, &a.last_good, &a.usage_stats, from, to);
    a.order = o;
    a.last_good = l;
    a.usage_stats = u;
}

/// The three session fields OpenClaw writes together for a pin.
pub const PIN_FIELDS: [&str; 3] =
    ["authProfileOverride", "authProfileOverrideSource", "authProfileOverrideCompactionCount"];

/// The pin field values for `id` with `source`; an auto pin records the compaction count.
pub fn pin_values(id: &str, source: &str, compaction: Option<i64>) -> [Option<Value>; 3] {
    let count = if source == "auto" { Some(Value::from(compaction.unwrap_or(0))) } else { None };
    [Some(Value::String(id.to_string())), Some(Value::String(source.to_string())), count]
}

/// Changes setting one session entry's pin fields to `wanted` (`None` = remove), with
/// `updatedAt` bumped as OpenClaw does whenever it writes a pin.
pub fn pin_field_changes(
    stored: Option<&crate::model::Session>,
    loc: &Location,
    prefix: &str,
    wanted: [Option<Value>; 3],
    now_ms: i64,
) -> Result<Vec<Change>> {
    // the loaded summary carries the four fields exactly as stored: no need to re-read (and
    // re-index) a possibly huge sessions.json; the engine's compare-and-swap re-checks them
    let current: [Option<Value>; 4] = match stored {
        Some(s) => s.raw(),
        None => {
            let entry = current(loc, prefix)?.ok_or_else(|| {
                Error::NotFound(format!("{}: session entry {prefix} vanished", loc.display(std::path::Path::new(""))))
            })?;
            [
                entry.get(PIN_FIELDS[0]).cloned(),
                entry.get(PIN_FIELDS[1]).cloned(),
                entry.get(PIN_FIELDS[2]).cloned(),
                entry.get("updatedAt").cloned(),
            ]
        }
    };
    let mut changes: Vec<Change> = PIN_FIELDS
        .iter()
        .zip(wanted)
        .enumerate()
        .map(|(i, (f, after))| Change::new(format!("{prefix}/{f}"), current[i].clone(), after))
        .filter(|c| !c.is_noop())
        .collect();
    if !changes.is_empty() {
        let before = current[3].clone();
        let bumped = before.as_ref().and_then(Value::as_i64).map(|b| b.max(now_ms)).unwrap_or(now_ms);
        changes.push(Change::new(format!("{prefix}/updatedAt"), before, Some(Value::from(bumped))));
    }
    Ok(changes)
}

/// Where the config (`openclaw.json`, never rewritten by clawauth) names a profile id.
pub fn config_mentions(state: &State, id: &str) -> Vec<String> {
    let Some(auth) = state.install.config.as_ref().and_then(|c| c.get("auth")) else {
        return vec![];
    };
    let mut out = vec![];
    if auth.get("profiles").and_then(|p| p.get(id)).is_some() {
        out.push(format!("auth.profiles[\"{id}\"]"));
    }
    for (p, list) in auth.get("order").and_then(Value::as_object).into_iter().flatten() {
        if list.as_array().is_some_and(|l| l.iter().any(|x| x.as_str() == Some(id))) {
            out.push(format!("auth.order[\"{p}\"]"));
        }
    }
    out
}

/// Combine independent plans into one transaction (`doctor --fix`). Each plan keeps its own
/// steps, so `undo --step` still reverts one fix; plans that change overlapping values of one
/// document are refused, because the second plan's `before` values would be stale once the
/// first is applied.
pub fn merge_plans(plans: Vec<Plan>) -> Result<Plan> {
    let plans: Vec<Plan> = plans.into_iter().filter(|p| !p.is_empty()).collect();
    let mut out = Plan::new(
        &plans.iter().map(|p| p.workflow.as_str()).collect::<Vec<_>>().join(" + "),
        plans.iter().map(|p| p.summary.as_str()).collect::<Vec<_>>().join("; "),
    );
    let agents: Vec<&Option<String>> = plans.iter().map(|p| &p.agent).collect();
    out.agent = agents.first().and_then(|a| (*a).clone()).filter(|a| agents.iter().all(|x| x.as_deref() == Some(a)));
    let overlaps = |a: &str, b: &str| {
        a.is_empty() || b.is_empty() || a == b || b.starts_with(&format!("{a}/")) || a.starts_with(&format!("{b}/"))
    };
    for (pi, p) in plans.iter().enumerate() {
        for s in &p.steps {
            for earlier in plans[..pi].iter() {
                for e in earlier.steps.iter().filter(|e| e.location == s.location) {
                    for c in &s.changes {
                        if let Some(x) = e.changes.iter().find(|x| overlaps(&x.pointer, &c.pointer)) {
                            return Err(Error::Conflict {
                                what: format!(
                                    "cannot combine '{}' and '{}' in one transaction: both change {} at {} / {}",
                                    earlier.workflow,
                                    p.workflow,
                                    s.location.file().display(),
                                    if x.pointer.is_empty() { "(document)" } else { &x.pointer },
                                    if c.pointer.is_empty() { "(document)" } else { &c.pointer }
                                ),
                                hint: Some("apply them one after the other".into()),
                                details: vec![],
                            });
                        }
                    }
                }
            }
            out.push_step(s.location.clone(), format!("{}: {}", p.workflow, s.title), s.changes.clone());
        }
        out.notes.extend(p.notes.iter().map(|n| format!("{}: {n}", p.workflow)));
    }
    Ok(out)
}
