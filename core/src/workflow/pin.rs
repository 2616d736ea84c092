//! `pin` / `unpin`: a session's `authProfileOverride`, `authProfileOverrideSource` and
//! `authProfileOverrideCompactionCount`, set or cleared together as OpenClaw does (a user pin
//! carries no compaction count; an auto pin records the session's `compactionCount`), with
//! `updatedAt` bumped, on the session's key and its case-folded aliases.

use super::*;
use crate::model::Session;
use crate::txn::plan::Plan;
use serde_json::json;

pub fn pin(state: &State, key: &str, profile: &str, source: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    if !matches!(source, "user" | "auto") {
        return Err(Error::Usage(format!("--source takes user or auto, not '{source}'")));
    }
    let id = profile_arg(agent, profile)?;
    let cred_provider = agent
        .auth
        .profiles
        .get(&id)
        .and_then(|c| c.get("provider"))
        .and_then(Value::as_str)
        .map(resolve::normalize_provider);
    if cred_provider.as_deref() != Some(agent.provider.as_str()) {
        return Err(Error::Usage(format!(
            "{id} is a {} profile; chats here run on {} (OpenClaw would clear this pin)",
            cred_provider.unwrap_or_else(|| "provider-less".into()),
            agent.provider
        )));
    }
    let keys = session_keys(agent, key)?;
    let mut plan = Plan::new("pin", format!("pin {} to {id} ({source})", keys[0]));
    plan.agent = Some(agent.paths.id.clone());
    for k in &keys {
        let (loc, prefix) = session_location(agent, k)?;
        // an auto pin records the session's compaction count, as OpenClaw's resolver does
        let count = match source {
            "auto" => Some(json!(agent.session(k).and_then(|s| s.compaction_count).unwrap_or(0))),
            _ => None,
        };
        let changes = pin_field_changes(
            agent.session(k),
            &loc,
            &prefix,
            [Some(json!(id)), Some(json!(source)), count],
            state.now_ms,
        )?;
        plan.push(loc, format!("pin {k} to {id} ({source})"), changes);
    }
    if keys.len() > 1 {
        plan.notes.push(format!("the chat is stored under {} case-variant keys; all are pinned together", keys.len()));
    }
    let changed = changed_pins(agent, &keys, Some((&id, source)));
    plan.notes.extend(radius_notes(pin_radius(state, agent, &changed)));
    Ok(plan)
}

pub fn unpin(state: &State, key: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let keys = session_keys(agent, key)?;
    let mut plan = Plan::new("unpin", format!("unpin {}", keys[0]));
    plan.agent = Some(agent.paths.id.clone());
    for k in &keys {
        let (loc, prefix) = session_location(agent, k)?;
        let changes = pin_field_changes(agent.session(k), &loc, &prefix, [None, None, None], state.now_ms)?;
        plan.push(loc, format!("unpin {k}"), changes);
    }
    let changed = changed_pins(agent, &keys, None);
    plan.notes.extend(radius_notes(pin_radius(state, agent, &changed)));
    Ok(plan)
}

/// Each named session as stored and as the plan leaves it (pinned to `to`, or unpinned).
fn changed_pins(agent: &AgentState, keys: &[String], to: Option<(&str, &str)>) -> Vec<(Session, Session)> {
    keys.iter()
        .filter_map(|k| agent.session(k))
        .map(|s| {
            let mut a = s.clone();
            a.stored = None;
            a.pin = to.map(|t| t.0.into());
            a.pin_source = to.map(|t| t.1.into());
            a.pin_compaction = to.filter(|t| t.1 == "auto").map(|_| json!(s.compaction_count.unwrap_or(0)));
            (s.clone(), a)
        })
        .collect()
}
