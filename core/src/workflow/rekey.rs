//! `rekey-state` (CA023): after OpenClaw renamed the Codex provider `openai-codex` to `openai`
//! and its profiles to `openai:*`, some migrations (2026.7.35's doctor) left the routing state
//! keyed by the retired ids — the stored order and every cooldown silently stopped applying.
//! This renames those keys and ids to the live ones in every routing document, as one
//! transaction.

use super::*;
use crate::txn::plan::Plan;
use serde_json::Map;

const OLD: &str = "openai-codex";
const NEW: &str = "openai";

/// The live id for a retired one: `openai-codex:x` -> `openai:x` when that profile exists.
fn live_id(agent: &AgentState, id: &str) -> Option<String> {
    let rest = id.strip_prefix("openai-codex:")?;
    let new = format!("{NEW}:{rest}");
    agent.auth.profiles.contains_key(&new).then_some(new)
}

fn is_old_provider(k: &str) -> bool {
    resolve::normalize_provider(k) == OLD
}

/// One routing document rekeyed: (order, lastGood, usageStats).
pub(crate) fn rekey(agent: &AgentState, doc: &Value) -> [Map<String, Value>; 3] {
    let get = |k: &str| doc.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
    let (order, last_good, usage) = (get("order"), get("lastGood"), get("usageStats"));
    let map_id = |v: &Value| -> Option<Value> {
        match v.as_str() {
            Some(s) if s.starts_with("openai-codex:") => live_id(agent, s).map(Value::String),
            _ => Some(v.clone()),
        }
    };
    let mut new_order = Map::new();
    for (k, list) in &order {
        let key = if is_old_provider(k) { NEW.to_string() } else { k.clone() };
        if is_old_provider(k) && order.keys().any(|o| resolve::normalize_provider(o) == NEW) {
            // a live order exists already: it wins, the retired one is dropped
            continue;
        }
        let items: Vec<Value> = match list.as_array() {
            Some(a) => {
                let mut out: Vec<Value> = vec![];
                for v in a.iter().filter_map(map_id) {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                out
            }
            None => {
                new_order.insert(key, list.clone());
                continue;
            }
        };
        if !items.is_empty() {
            new_order.insert(key, Value::Array(items));
        }
    }
    let mut new_lg = Map::new();
    for (k, v) in &last_good {
        if is_old_provider(k) {
            if last_good.keys().any(|o| resolve::normalize_provider(o) == NEW) {
                continue;
            }
            if let Some(n) = map_id(v) {
                new_lg.insert(NEW.into(), n);
            }
        } else {
            new_lg.insert(k.clone(), v.clone());
        }
    }
    let mut new_usage = Map::new();
    for (k, v) in &usage {
        match live_id(agent, k) {
            Some(n) if !usage.contains_key(&n) => {
                new_usage.insert(n, v.clone());
            }
            Some(_) => {}
            None => {
                new_usage.insert(k.clone(), v.clone());
            }
        }
    }
    [new_order, new_lg, new_usage]
}

pub fn plan(state: &State) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    if agent.provider != NEW {
        return Err(Error::Usage(format!(
            "agent {} runs the `{}` provider: its `openai-codex` keys are live, not retired",
            agent.paths.id, agent.provider
        )));
    }
    let mut plan =
        Plan::new("rekey-state", "rename routing state from retired openai-codex ids to the live openai ids");
    plan.agent = Some(agent.paths.id.clone());
    for loc in routing_locations(agent) {
        let Some(doc) = current_or_none(&loc, "")? else { continue };
        let get = |k: &str| doc.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        let new = rekey(agent, &doc);
        let mut changes = vec![];
        for (i, key) in ["order", "lastGood", "usageStats"].iter().enumerate() {
            changes.extend(map_changes(key, &get(key), &new[i]));
        }
        plan.push(loc, "rekey routing state to live ids", changes);
    }
    let mut after = agent.clone();
    let merged = serde_json::json!({"order": agent.auth.order, "lastGood": agent.auth.last_good, "usageStats": agent.auth.usage_stats});
    let [o, l, u] = rekey(agent, &merged);
    after.auth.order = o;
    after.auth.last_good = l;
    after.auth.usage_stats = u;
    if !plan.is_empty() {
        plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    }
    Ok(plan)
}
