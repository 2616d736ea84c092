//! `cooldown clear`: remove a profile's cooldown, blocked and disabled windows and reset its
//! error counters in `usageStats`, in every routing document the layout merges (inline state,
//! `auth-state.json`, SQLite state rows, the layout-D overlay), so no shadowed copy keeps the
//! window alive. `lastUsed` and `lastFailureAt` are history and stay.

use super::*;
use crate::json::pointer;
use crate::txn::plan::{Change, Plan};

/// The window fields OpenClaw reads (2026.5.28 and 2026.9.6 spellings).
pub const WINDOW_FIELDS: &[&str] = &[
    "cooldownUntil",
    "cooldownReason",
    "cooldownModel",
    "cooldownClassification",
    "blockedUntil",
    "blockedReason",
    "blockedSource",
    "blockedModel",
    "blockedScope",
    "disabledUntil",
    "disabledReason",
];

/// The entry with its windows and counters cleared: `None` when nothing would be left.
pub fn cleared_entry(entry: &Value) -> Option<Value> {
    let mut m = entry.as_object().cloned()?;
    for f in WINDOW_FIELDS {
        m.remove(*f);
    }
    m.remove("failureCounts");
    if m.contains_key("errorCount") {
        m.insert("errorCount".into(), Value::from(0));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Per-field changes for one usageStats entry (so a concurrent `lastUsed` update is kept).
fn entry_changes(id: &str, entry: &Value) -> Vec<Change> {
    let Some(m) = entry.as_object() else { return vec![] };
    match cleared_entry(entry) {
        None => vec![Change::new(pointer(&["usageStats", id]), Some(entry.clone()), None)],
        Some(new) => {
            let mut out = vec![];
            for (k, v) in m {
                let n = new.get(k);
                if n != Some(v) {
                    out.push(Change::new(pointer(&["usageStats", id, k]), Some(v.clone()), n.cloned()));
                }
            }
            out
        }
    }
}

/// `cooldown clear PROFILE` (`Some`) or `cooldown clear --all` (`None`).
pub fn clear(state: &State, profile: Option<&str>) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let target = match profile {
        // a usageStats key without a profile (a retired id) can still be cleared
        Some(p) if agent.map_profile_id(p).is_none() && agent.auth.usage_stats.contains_key(p) => Some(p.to_string()),
        Some(p) => Some(profile_arg(agent, p)?),
        None => None,
    };
    let what = target.clone().unwrap_or_else(|| "every profile".into());
    let mut plan = Plan::new("cooldown clear", format!("clear cooldowns and error counters of {what}"));
    plan.agent = Some(agent.paths.id.clone());
    let mut after = agent.clone();
    for loc in routing_locations(agent) {
        let Some(usage) = current_or_none(&loc, "/usageStats")? else { continue };
        let Some(m) = usage.as_object() else { continue };
        let mut changes = vec![];
        let mut ids = vec![];
        for (id, entry) in m {
            if target.as_deref().is_some_and(|t| t != id) {
                continue;
            }
            let c = entry_changes(id, entry);
            if !c.is_empty() {
                ids.push(id.clone());
                changes.extend(c);
            }
        }
        if !changes.is_empty() {
            plan.push(loc, format!("clear windows and counters of {}", ids.join(", ")), changes);
        }
    }
    for (id, entry) in agent.auth.usage_stats.iter() {
        if !matches!(target.as_deref(), Some(t) if t != id) {
            match cleared_entry(entry) {
                Some(v) => after.auth.usage_stats.insert(id.clone(), v),
                None => after.auth.usage_stats.remove(id),
            };
        }
    }
    if !plan.is_empty() {
        plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
        plan.notes
            .push("a running gateway keeps its own copy in memory and may write the window back; stop it first".into());
    }
    Ok(plan)
}
