//! `lastgood set|clear`: the `lastGood[provider]` pointer. OpenClaw never selects by it, but a
//! stale one naming a removed profile (CA014) confuses every reader of the state.

use super::*;
use crate::json::pointer;
use crate::txn::plan::{Change, Plan};

/// The key under `lastGood` OpenClaw reads for `provider` in a document, or the provider.
fn key_in(doc: Option<&Value>, provider: &str) -> Option<String> {
    doc?.get("lastGood")?.as_object()?.keys().find(|k| resolve::normalize_provider(k) == provider).cloned()
}

pub fn set(state: &State, provider_arg: &str, id: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let provider = agent.map_provider(&resolve::normalize_provider(provider_arg));
    let id = profile_arg(agent, id)?;
    let loc = agent
        .auth
        .state_loc
        .clone()
        .ok_or_else(|| Error::Other(format!("agent {}: no routing state", agent.paths.id)))?;
    let doc = current_or_none(&loc, "")?;
    let mut plan = Plan::new("lastgood set", format!("set lastGood[{provider}] to {id}"));
    plan.agent = Some(agent.paths.id.clone());
    let change = match (&doc, key_in(doc.as_ref(), &provider)) {
        (None, _) => Change::new("", None, Some(serde_json::json!({"version": 1, "lastGood": {provider.clone(): id}}))),
        (Some(d), Some(k)) => {
            let p = pointer(&["lastGood", &k]);
            Change::new(p.clone(), d.pointer(&p).cloned(), Some(Value::String(id.clone())))
        }
        (Some(_), None) => Change::new(pointer(&["lastGood", &provider]), None, Some(Value::String(id.clone()))),
    };
    plan.push(loc, format!("lastGood[{provider}] = {id}"), vec![change]);
    Ok(plan)
}

pub fn clear(state: &State, provider_arg: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let provider = agent.map_provider(&resolve::normalize_provider(provider_arg));
    let mut plan = Plan::new("lastgood clear", format!("clear lastGood[{provider}]"));
    plan.agent = Some(agent.paths.id.clone());
    // every copy the runtime merges (state, inline base, overlay)
    for loc in routing_locations(agent) {
        let Some(doc) = current_or_none(&loc, "")? else { continue };
        let Some(m) = doc.get("lastGood").and_then(Value::as_object) else { continue };
        let mut new = m.clone();
        new.retain(|k, _| resolve::normalize_provider(k) != provider);
        let changes = map_changes("lastGood", m, &new);
        plan.push(loc, format!("remove lastGood[{provider}]"), changes);
    }
    Ok(plan)
}
