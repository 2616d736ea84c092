//! Workflows: pure functions from the loaded model (plus the documents' current values) to a
//! `Plan`. They never write; the engine applies what they return.

pub mod order;
pub mod pin;

use crate::docio;
use crate::error::{Error, Result};
use crate::model::{AgentState, SessionsLoc, State};
use crate::resolve::{self, Inputs};
use crate::store::Location;
use serde_json::Value;

/// Refuse early when this agent's store must not be written.
pub fn require_writable(agent: &AgentState) -> Result<()> {
    if let Some(r) = &agent.read_only_reason {
        return Err(Error::Other(format!("agent {} is read-only for clawauth: {r}", agent.paths.id)));
    }
    // a broken store is an emergency: plan nothing on top of a state we could not fully read
    if let Some(first) = agent.unreadable.first() {
        return Err(Error::Other(format!(
            "refusing to change agent {} while a live file is unreadable: {first}",
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
            Ok((Location::json_file(path, crate::jsondoc::Style::SESSIONS_FILE), crate::jsondoc::pointer(&[key])))
        }
        SessionsLoc::Nodes { db } => Ok((
            Location::cell(db, "session_nodes", "session_key", key, "entry_json", Some("updated_at")),
            String::new(),
        )),
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

/// Sessions whose effective profile changes when the auth state changes: the blast radius.
pub fn blast_radius(state: &State, agent: &AgentState, after: &AgentState) -> Vec<String> {
    let cfg = state.install.config.as_ref();
    let rules = agent.default_rules();
    let before_in = Inputs::new(agent, cfg, rules, state.now_ms);
    let after_in = Inputs::new(after, cfg, rules, state.now_ms);
    // the order depends only on the session's model scope: resolve it once per scope
    let mut orders: std::collections::HashMap<resolve::ModelScope, (resolve::OrderTrace, resolve::OrderTrace)> =
        std::collections::HashMap::new();
    let mut out = vec![];
    for s in &agent.sessions {
        let scope = resolve::session_scope_of(rules, s);
        let (ob, oa) = orders
            .entry(scope.clone())
            .or_insert_with(|| {
                (
                    resolve::resolve_order(&before_in, &agent.provider, &scope),
                    resolve::resolve_order(&after_in, &agent.provider, &scope),
                )
            })
            .clone();
        let b = resolve::resolve_session_with_order(&before_in, &agent.provider, s, false, ob);
        let a = resolve::resolve_session_with_order(&after_in, &agent.provider, s, false, oa);
        if a.profile != b.profile {
            out.push(format!(
                "{}: {} -> {}",
                s.key,
                b.profile.as_deref().unwrap_or("(none)"),
                a.profile.as_deref().unwrap_or("(none)")
            ));
        }
    }
    out
}

/// Turn a blast radius into plan notes (capped, with a count).
pub fn radius_notes(radius: Vec<String>) -> Vec<String> {
    if radius.is_empty() {
        return vec!["blast radius: no session's effective profile changes".into()];
    }
    let n = radius.len();
    let mut notes = vec![format!("blast radius: {n} session(s) change effective profile:")];
    notes.extend(radius.into_iter().take(20).map(|r| format!("  {r}")));
    if n > 20 {
        notes.push(format!("  … and {} more", n - 20));
    }
    notes
}
