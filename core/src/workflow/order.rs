//! `order set` / `order clear`: the stored auth order, with the meaning of OpenClaw's own
//! `models auth order set|clear` — unknown ids refused, duplicates removed — written where the
//! detected layout keeps it: inline in A, `auth-state.json` in B, the agent's
//! `auth_profile_state` in C, the per-agent overlay in D (where 2026.9.6 writes it).

use super::*;
use crate::json::pointer;
use crate::model::Layout;
use crate::txn::plan::{Change, Plan};
use serde_json::json;

/// The key under `order` that OpenClaw would read for `provider` (first case-insensitive
/// match), or the provider itself.
fn order_key(doc_value: Option<&Value>, provider: &str) -> String {
    doc_value
        .and_then(|v| v.get("order"))
        .and_then(Value::as_object)
        .and_then(|m| m.keys().find(|k| resolve::normalize_provider(k) == provider).cloned())
        .unwrap_or_else(|| provider.to_string())
}

pub fn set(state: &State, provider_arg: &str, ids: &[String]) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let provider = agent.map_provider(&resolve::normalize_provider(provider_arg));
    if ids.is_empty() {
        return Err(Error::Usage(
            "order set needs at least one profile id (use `order clear` to remove the order)".into(),
        ));
    }
    let mut list: Vec<String> = vec![];
    for id in ids {
        let id = profile_arg(agent, id.trim())?;
        if !list.contains(&id) {
            list.push(id);
        }
    }
    let loc = match agent.layout {
        Layout::D => agent.auth.overlay_loc.clone(),
        _ => agent.auth.state_loc.clone(),
    }
    .ok_or_else(|| Error::Other(format!("agent {}: no routing-state location", agent.paths.id)))?;
    let doc = current(&loc, "")?;
    let key = order_key(doc.as_ref(), &provider);
    let mut plan = Plan::new("order set", format!("set the {provider} auth order to {}", list.join(", ")));
    plan.agent = Some(agent.paths.id.clone());
    let new_list = json!(list);
    let title = format!("order[{key}] = {}", list.join(", "));
    match &doc {
        None if !matches!(loc, Location::Cell { .. }) => {
            plan.push(
                loc.clone(),
                format!("create with {title}"),
                vec![Change::new("", None, Some(json!({"version": 1, "order": {key.clone(): new_list}})))],
            );
        }
        None => {
            plan.push(
                loc.clone(),
                format!("create row with {title}"),
                vec![Change::new("", None, Some(json!({"version": 1, "order": {key.clone(): new_list}})))],
            );
        }
        // no `order` map (never set, or `order clear` dropped it): the change is the whole map, so
        // that its undo removes the map again instead of leaving an empty `{}` behind
        // (an `order` of the wrong type is left to fail as before: nothing written)
        Some(v) if v.get("order").is_none() => {
            plan.push(loc.clone(), title, vec![Change::new("/order", None, Some(json!({key.clone(): new_list})))]);
        }
        Some(v) => {
            let p = pointer(&["order", &key]);
            let before = v.pointer(&p).cloned();
            plan.push(loc.clone(), title, vec![Change::new(p, before, Some(new_list))]);
        }
    }
    let mut revived_auth = None;
    if agent.layout == Layout::D {
        plan.notes.push("layout D: written to this agent's overlay (auth_profile_state 'primary'), where OpenClaw 2026.9.6's `models auth order set` writes; it wins over the shared order for this agent".into());
        // 2026.9 ignores the overlay state unless the agent DB also has a store row
        if let Some(Location::Cell { db, .. }) = &agent.auth.overlay_loc {
            let store_row = Location::agent_store_row(db);
            if current(&store_row, "")?.is_none() {
                if let Some(v) = &doc {
                    plan.notes.push("the agent's overlay row exists but OpenClaw 2026.9 ignores it until the agent DB has an auth_profile_store row; creating that row makes all of the overlay (lastGood, usageStats too) live".into());
                    // the blast radius must count what the revived overlay brings with it
                    let mut revived = agent.clone();
                    for (field, target) in [
                        ("order", &mut revived.auth.order),
                        ("lastGood", &mut revived.auth.last_good),
                        ("usageStats", &mut revived.auth.usage_stats),
                    ] {
                        // the overlay wins per provider key (per profile id for usageStats)
                        if let Some(m) = v.get(field).and_then(Value::as_object) {
                            target.extend(m.clone());
                        }
                    }
                    revived_auth = Some(revived.auth);
                }
                plan.push(
                    store_row,
                    "create the empty agent store row 2026.9 requires for the overlay",
                    vec![Change::new("", None, Some(json!({"version": 1, "profiles": {}})))],
                );
            }
        }
    }
    let mut after = agent.clone();
    if let Some(a) = revived_auth {
        after.auth = a;
    }
    after.auth.order.insert(key, json!(list));
    plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    Ok(plan)
}

pub fn clear(state: &State, provider_arg: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let provider = agent.map_provider(&resolve::normalize_provider(provider_arg));
    let mut plan = Plan::new("order clear", format!("clear the stored {provider} auth order"));
    plan.agent = Some(agent.paths.id.clone());
    // every document the operator's view merges: the layout's state, plus the inline copy in
    // B and the overlay in D, so that what they see is really cleared
    let mut locs: Vec<Location> = vec![];
    locs.extend(agent.auth.state_loc.clone());
    if agent.layout == Layout::B {
        locs.extend(agent.auth.store_loc.clone());
    }
    if agent.layout == Layout::D {
        locs.extend(agent.auth.overlay_loc.clone());
    }
    for loc in locs {
        let Some(v) = current(&loc, "")? else {
            continue;
        };
        let Some(m) = v.get("order").and_then(Value::as_object) else {
            continue;
        };
        let keys: Vec<&String> = m.keys().filter(|k| resolve::normalize_provider(k) == provider).collect();
        if keys.is_empty() {
            continue;
        }
        let changes = if keys.len() == m.len() {
            // OpenClaw drops an emptied order map entirely
            vec![Change::new("/order", Some(Value::Object(m.clone())), None)]
        } else {
            keys.iter().map(|k| Change::new(pointer(&["order", k]), m.get(*k).cloned(), None)).collect()
        };
        plan.push(loc, format!("remove order[{provider}]"), changes);
    }
    let mut after = agent.clone();
    after.auth.order.retain(|k, _| resolve::normalize_provider(k) != provider);
    if !plan.is_empty() {
        plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    }
    Ok(plan)
}
