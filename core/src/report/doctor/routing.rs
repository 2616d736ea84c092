//! Doctor checks on routing state and the external router: the stored and configured order,
//! lastGood, usageStats windows, retired keys, and the repo identity in the active slot.

use super::{
    agent_flag, command, inherited_origin, remedy, Out, Remedy, MAX_BLOCKED_MS, MAX_COOLDOWN_MS, MAX_DISABLED_MS,
    SLACK_MS,
};
use crate::model::{num_field, resolve, str_field, token, AgentState};
use crate::report::explain::Identity;
use crate::report::status;
use crate::text::{rel, relative, rfc3339_ms};
use crate::workflow::Repair;
use serde_json::{json, Map, Value};

// routing state: order, lastGood, usageStats

/// The id a retired `openai-codex:*` id became, if that profile exists.
pub(super) fn live_id(a: &AgentState, id: &str) -> Option<String> {
    id.strip_prefix("openai-codex:").map(|r| format!("openai:{r}")).filter(|x| a.auth.profiles.contains_key(x))
}

pub(super) fn routing(out: &mut Out, a: &AgentState) {
    let agent = a.paths.id.as_str();
    let flag = agent_flag(out.state, agent);
    // after the provider rename the runtime asks for `openai`: keys of the retired spelling
    // are dead, and they are reported once, as CA023, not again as CA001/CA014
    let renamed = a.provider == "openai" && a.auth.profiles.keys().any(|k| k.starts_with("openai:"));
    let retired_provider = |k: &str| renamed && resolve::normalize_provider(k) == "openai-codex";

    // CA001
    for (p, v) in &a.auth.order {
        if retired_provider(p) || inherited_origin(a, &format!("order/{p}")) {
            continue;
        }
        let ids: Vec<String> =
            v.as_array().map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
        let missing: Vec<String> = ids.iter().filter(|id| !a.auth.profiles.contains_key(id.trim())).cloned().collect();
        if missing.is_empty() {
            continue;
        }
        let keep: Vec<String> = ids.iter().filter(|id| !missing.contains(id)).cloned().collect();
        let provider = resolve::normalize_provider(p);
        let fix = if keep.is_empty() {
            remedy(&flag, Repair::OrderClear { provider: provider.clone() })
        } else {
            remedy(&flag, Repair::OrderSet { provider: provider.clone(), ids: keep.clone() })
        };
        let mut subjects = vec![format!("order/{p}")];
        subjects.extend(missing.iter().cloned());
        out.push(
            "CA001",
            Some(agent),
            subjects,
            format!("order[{p}] names {} which do(es) not exist; OpenClaw skips them", missing.join(", ")),
            json!({"provider": p, "order": ids, "missing": missing, "stored_in": a.auth.origin.get(&format!("order/{p}"))}),
            fix,
            vec![],
        );
    }

    // CA014
    for (p, v) in &a.auth.last_good {
        if retired_provider(p) || inherited_origin(a, &format!("lastGood/{p}")) {
            continue;
        }
        let Some(id) = v.as_str() else { continue };
        if a.auth.profiles.contains_key(id.trim()) {
            continue;
        }
        let provider = resolve::normalize_provider(p);
        let (fix, alts) = match a.map_profile_id(id) {
            Some(new) => (
                remedy(&flag, Repair::LastgoodSet { provider: provider.clone(), id: new.clone() }),
                vec![command(&flag, Repair::LastgoodClear { provider: provider.clone() })],
            ),
            None => (remedy(&flag, Repair::LastgoodClear { provider: provider.clone() }), vec![]),
        };
        out.push(
            "CA014",
            Some(agent),
            vec![format!("lastGood/{p}"), id.to_string()],
            format!("lastGood[{p}] names {id}, which does not exist"),
            json!({"provider": p, "last_good": id, "stored_in": a.auth.origin.get(&format!("lastGood/{p}"))}),
            fix,
            alts,
        );
    }

    // CA023
    if renamed {
        let mut keys = vec![];
        let mut mapping = Map::new();
        let mut lost_windows = vec![];
        for p in a.auth.order.keys().filter(|k| retired_provider(k)) {
            if !inherited_origin(a, &format!("order/{p}")) {
                keys.push(format!("order/{p}"));
            }
        }
        for p in a.auth.last_good.keys().filter(|k| retired_provider(k)) {
            if !inherited_origin(a, &format!("lastGood/{p}")) {
                keys.push(format!("lastGood/{p}"));
            }
        }
        for (id, st) in &a.auth.usage_stats {
            if id.starts_with("openai-codex:")
                && !a.auth.profiles.contains_key(id)
                && !inherited_origin(a, &format!("usageStats/{id}"))
            {
                keys.push(format!("usageStats/{id}"));
                if let Some(w) = status::active_window(Some(st), out.state.now_ms) {
                    lost_windows
                        .push(json!({"profile": id, "kind": w.kind, "until": w.until_rfc3339, "reason": w.reason}));
                }
            }
        }
        let mut ids: Vec<String> = vec![];
        for v in a.auth.order.iter().filter(|(k, _)| retired_provider(k)).map(|(_, v)| v) {
            ids.extend(v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
        }
        ids.extend(
            a.auth
                .last_good
                .iter()
                .filter(|(k, _)| retired_provider(k))
                .filter_map(|(_, v)| v.as_str().map(str::to_owned)),
        );
        ids.extend(keys.iter().filter_map(|k| k.strip_prefix("usageStats/")).map(str::to_owned));
        for id in ids {
            if let Some(n) = live_id(a, &id) {
                mapping.insert(id, Value::String(n));
            }
        }
        if !keys.is_empty() {
            let live_order = a.auth.order.keys().any(|k| resolve::normalize_provider(k) == "openai");
            let origins: Vec<String> = keys.iter().filter_map(|k| a.auth.origin.get(k)).cloned().collect::<Vec<_>>();
            let mut origins_d = origins.clone();
            origins_d.sort();
            origins_d.dedup();
            out.push(
                "CA023",
                Some(agent),
                keys.clone(),
                format!(
                    "routing state still uses the retired openai-codex ids while the live profiles are openai:* — {}{}",
                    if live_order { "" } else { "the stored order no longer applies, " },
                    if lost_windows.is_empty() { "and their stats are ignored".to_string() } else { format!("and {} active cooldown/block window(s) silently stopped applying", lost_windows.len()) }
                ),
                json!({"retired_keys": keys, "renames": mapping, "live_order_exists": live_order, "ignored_windows": lost_windows, "stored_in": origins_d}),
                remedy(&flag, Repair::RekeyState),
                vec![],
            );
        }
    }

    // CA017: layout B inline state that auth-state.json shadows per key
    if let Some(inline) = &a.auth.inline_state {
        let mut shadowed = vec![];
        for (field, live) in
            [("order", &a.auth.order), ("lastGood", &a.auth.last_good), ("usageStats", &a.auth.usage_stats)]
        {
            let Some(m) = inline.get(field).and_then(Value::as_object) else { continue };
            for (k, v) in m {
                let from = a.auth.origin.get(&format!("{field}/{k}")).cloned().unwrap_or_default();
                if from.ends_with("auth-state.json") && live.get(k) != Some(v) {
                    shadowed.push(json!({"key": format!("{field}/{k}"), "inline": token::redact(v), "auth_state": live.get(k).map(token::redact)}));
                }
            }
        }
        if !shadowed.is_empty() {
            let keys: Vec<String> = shadowed.iter().filter_map(|s| s["key"].as_str().map(str::to_owned)).collect();
            out.push(
                "CA017",
                Some(agent),
                keys.clone(),
                format!(
                    "auth-profiles.json carries inline routing state for {} that auth-state.json overrides: edits to the inline copy do nothing, and OpenClaw drops it on its next write",
                    keys.join(", ")
                ),
                json!({"shadowed": shadowed}),
                Remedy::ReportOnly,
                vec![],
            );
        }
    }

    // CA018
    let billing_max = out
        .state
        .install
        .config
        .as_ref()
        .and_then(|c| c.pointer("/auth/cooldowns/billingMaxHours"))
        .and_then(Value::as_f64)
        .map(|h| (h * 3_600_000.0) as i64)
        .unwrap_or(0)
        .max(MAX_DISABLED_MS);
    let now = out.state.now_ms;
    for (id, st) in &a.auth.usage_stats {
        if inherited_origin(a, &format!("usageStats/{id}")) {
            continue;
        }
        for (field, max) in
            [("cooldownUntil", MAX_COOLDOWN_MS), ("blockedUntil", MAX_BLOCKED_MS), ("disabledUntil", billing_max)]
        {
            let Some(until) = num_field(st, field) else { continue };
            if until - now <= max + SLACK_MS {
                continue;
            }
            let reason_key = field.replace("Until", "Reason");
            out.push(
                "CA018",
                Some(agent),
                vec![id.clone()],
                format!(
                    "{id}: {field} ends {} ({}), longer than OpenClaw ever sets ({}): the profile is shut out until someone clears it",
                    rfc3339_ms(until),
                    relative(until, now),
                    human_ms(max)
                ),
                json!({"profile": id, "field": field, "until": until, "until_rfc3339": rfc3339_ms(until), "reason": st.get(&reason_key), "longest_openclaw_sets_ms": max}),
                remedy(&flag, Repair::CooldownClear { profile: Some(id.to_string()) }),
                vec![],
            );
        }
    }
}

pub(super) fn human_ms(ms: i64) -> String {
    if ms % 86_400_000 == 0 {
        format!("{} d", ms / 86_400_000)
    } else if ms % 3_600_000 == 0 {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

// ---------------------------------------------------------------------------------------------

// external router

pub(super) fn router(out: &mut Out) {
    let state = out.state;
    let Some(first) = state.agents.first() else { return };
    let now = state.now_ms;
    let slot = &state.active_slot;
    let slot_cred = first.auth.profiles.get(slot);
    let mut holds = None;
    if let (Some(repo), Some(cred)) = (&state.repo, slot_cred) {
        let cands = status::repo_matches(state, Some(cred));
        holds = cands.iter().find(|m| m.full()).map(|m| m.repo_id.clone());
        if holds.is_none() {
            let best = cands
                .iter()
                .max_by_key(|m| (m.account_id && m.workspace) as u8 * 4 + m.refresh as u8 * 2 + m.access as u8)
                .map(|m| m.repo_id.clone());
            let target = state.preference.clone().filter(|p| repo.profiles.contains_key(p)).or(best);
            let fix = match &target {
                Some(t) => remedy(&None, activate(t)),
                None => Remedy::ReportOnly,
            };
            out.push(
                "CA005",
                None,
                vec![slot.clone(), rel(&out.state.install.state_dir, &repo.path)],
                format!(
                    "the active slot {slot} holds a credential that matches no profile in {} (a stale or edited copy){}",
                    rel(&out.state.install.state_dir, &repo.path),
                    target.as_ref().map(|t| format!("; the intended one is probably {t}")).unwrap_or_default()
                ),
                json!({"slot": slot, "slot_account_id": str_field(cred, "accountId"), "slot_access": str_field(cred, "access").map(|s| token::fingerprint(&s)), "slot_refresh": str_field(cred, "refresh").map(|s| token::fingerprint(&s)), "partial_matches": cands, "preference": state.preference}),
                fix,
                vec![],
            );
        }
    }
    if let (Some(pref), Some(cred)) = (&state.preference, slot_cred) {
        let slot_id = Identity::of_raw(slot, cred, now);
        let (pref_id, in_repo) = match state.repo.as_ref().and_then(|r| r.profiles.get(pref)) {
            Some(raw) => (Some(Identity::of_raw(pref, raw, now)), true),
            None => (
                first
                    .map_profile_id(pref)
                    .and_then(|id| first.auth.profiles.get(&id))
                    .map(|raw| Identity::of_raw(pref, raw, now)),
                false,
            ),
        };
        if pref_id.as_ref().map(|p| !p.same(&slot_id)).unwrap_or(true) {
            let (fix, alts) = match (in_repo, &holds) {
                (true, Some(h)) => {
                    (remedy(&None, activate(pref)), vec![command(&None, Repair::PreferenceSet { id: h.to_string() })])
                }
                (true, None) => (remedy(&None, activate(pref)), vec![]),
                (false, Some(h)) => (remedy(&None, Repair::PreferenceSet { id: h.to_string() }), vec![]),
                (false, None) => (Remedy::ReportOnly, vec![]),
            };
            out.push(
                "CA006",
                None,
                vec![pref.clone(), slot.clone()],
                format!(
                    "codex_profile_id selects {pref} ({}) but the active slot {slot} holds {}",
                    pref_id.as_ref().map(|i| i.short()).unwrap_or_else(|| "no such profile".into()),
                    slot_id.short()
                ),
                json!({"preference": pref, "preference_identity": pref_id, "preference_in_repo": in_repo, "slot": slot, "slot_identity": slot_id, "slot_holds_repo_profile": holds}),
                fix,
                alts,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// `activate ID` with no chat pinned and no override.
fn activate(id: &str) -> Repair {
    Repair::Activate { repo_profile: id.to_string(), session: None, force: false }
}
