//! Doctor checks on sessions: pins on missing, retired or unusable profiles, and stale auto pins.

use super::{agent_flag, command, remedy, Out, Remedy, EVIDENCE_SESSIONS};
use crate::model::resolve::{self, Inputs, ModelScope, OrderTrace, Rules};
use crate::model::{AgentState, Session};
use crate::report::status;
use crate::text::rfc3339_ms;
use crate::workflow::Repair;
use serde_json::{json, Value};
use std::collections::HashMap;

// sessions

pub(super) struct Hit {
    key: String,
    /// built only for the first `EVIDENCE_SESSIONS` hits, the ones the evidence lists
    detail: Option<Value>,
}

/// A hit, its evidence built only when it will be listed.
fn hit(hits: &[Hit], key: &str, detail: impl FnOnce() -> Value) -> Hit {
    Hit { key: key.to_string(), detail: (hits.len() < EVIDENCE_SESSIONS).then(detail) }
}

pub(super) fn sessions(out: &mut Out, a: &AgentState, rules: Rules) {
    let state = out.state;
    let now = state.now_ms;
    let agent = a.paths.id.as_str();
    let flag = agent_flag(state, agent);
    let cfg = state.install.config.as_ref();
    let inp = Inputs::new(a, cfg, rules, now);
    let provider = a.provider.as_str();
    // the order depends only on the session's model scope: one resolution per scope
    let mut orders: HashMap<ModelScope, std::rc::Rc<OrderTrace>> = HashMap::new();
    let plain = resolve::resolve_order(&inp, provider, &ModelScope::Unscoped);
    let mut ca003: Vec<Hit> = vec![];
    let mut ca004: Vec<Hit> = vec![];
    let mut ca015: Vec<Hit> = vec![];
    for s in a.sessions.iter() {
        let pin = s.pin.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if pin.is_none() && !s.is_user_facing() {
            continue;
        }
        let scope = resolve::session_scope_of(rules, s);
        let ot = orders
            .entry(scope.clone())
            .or_insert_with(|| std::rc::Rc::new(resolve::resolve_order(&inp, provider, &scope)))
            .clone();
        let t = resolve::resolve_session_with_order(&inp, provider, s, false, ot);
        let src = t.pin_source.clone().unwrap_or_default();
        if let Some(p) = pin {
            let cand = t.order.candidates.iter().find(|c| c.id == p);
            let unusable = cand.is_some_and(|c| c.in_cooldown);
            let in_order = t.order.order.iter().any(|x| x == p);
            let first_usable =
                t.order.order.iter().find(|id| !t.order.candidates.iter().any(|c| &c.id == *id && c.in_cooldown));
            if !a.auth.profiles.contains_key(p) {
                // CA002
                let same = a.map_profile_id(p);
                let consequence = if t.profile.as_deref() == Some(p) {
                    "OpenClaw 2026.9 keeps a dangling user pin: the chat cannot run".to_string()
                } else {
                    format!(
                        "OpenClaw clears the pin{} and the chat moves to {}",
                        if src == "user" { ", losing the user's choice," } else { "" },
                        t.profile.clone().unwrap_or_else(|| "no profile".into())
                    )
                };
                // a pin left on a retired `openai-codex:*` id whose identity now lives under
                // `openai:*`: resync moves it there keeping its source, in one step per chat
                let migrated = crate::workflow::resync::migrated_pin(a, p, now).map(|(n, _)| n);
                let (fix, alts) = match &same {
                    Some(n) if migrated.as_deref() == Some(n.as_str()) => (
                        remedy(&flag, Repair::Resync { session: Some(s.key.clone()), auto_only: false }),
                        vec![command(&flag, pin_to(&s.key, n, &src)), command(&flag, unpin(&s.key))],
                    ),
                    Some(n) => (remedy(&flag, pin_to(&s.key, n, &src)), vec![command(&flag, unpin(&s.key))]),
                    None => (remedy(&flag, unpin(&s.key)), vec![]),
                };
                let src_note = if t.pin_source_inferred { format!("{src} (inferred)") } else { src.clone() };
                out.push(
                    "CA002",
                    Some(agent),
                    vec![s.key.clone(), p.to_string()],
                    format!("{} is pinned ({src_note}) to {p}, which does not exist: {consequence}", s.key),
                    json!({"session": s.key, "pin": p, "pin_source": src, "pin_source_inferred": t.pin_source_inferred, "same_identity_now": same, "next_reply": t.profile, "rules": rules}),
                    fix,
                    alts,
                );
            } else if src == "auto" && t.profile.as_deref() == Some(p) && in_order && !unusable {
                // CA003: the runtime keeps the auto pin although the order now starts elsewhere
                if let Some(f) = first_usable.filter(|f| f.as_str() != p) {
                    let h = hit(&ca003, &s.key, || json!({"session": s.key, "pin": p, "first_usable_in_order": f}));
                    ca003.push(h);
                }
            } else if src == "auto" && unusable {
                // CA004
                let w = status::active_window(a.auth.usage_stats.get(p), now);
                let h = hit(
                    &ca004,
                    &s.key,
                    || json!({"session": s.key, "pin": p, "window": w.as_ref().map(|w| json!({"kind": w.kind, "until": w.until_rfc3339, "reason": w.reason, "model": w.model})), "next_reply": t.profile}),
                );
                ca004.push(h);
            }
            // CA022: the runtime keeps a user pin it cannot use
            if (src == "user" || src == "user-link")
                && t.profile.as_deref() == Some(p)
                && a.auth.profiles.contains_key(p)
                && (!in_order || unusable)
            {
                let why = if let Some(i) = cand.and_then(|c| c.ineligible.as_ref()) {
                    format!("ineligible: {}", i.describe())
                } else if unusable {
                    let w = status::active_window(a.auth.usage_stats.get(p), now);
                    format!(
                        "unusable: {}",
                        w.map(|w| format!("{} until {}", w.kind, w.until_rfc3339)).unwrap_or_else(|| "window".into())
                    )
                } else {
                    "not in the effective auth order".to_string()
                };
                let mut alts = vec![];
                if let Some(f) = first_usable {
                    alts.push(command(&flag, pin_to(&s.key, f, "user")));
                }
                out.push(
                    "CA022",
                    Some(agent),
                    vec![s.key.clone(), p.to_string()],
                    format!("{} has a user pin on {p}, which is {why}; OpenClaw keeps the pin, so the chat fails over to another model instead of another account", s.key),
                    json!({"session": s.key, "pin": p, "pin_source": src, "reason": why, "effective_order": t.order.order, "rules": rules}),
                    remedy(&flag, unpin(&s.key)),
                    alts,
                );
            }
        }
        // CA015
        if s.is_user_facing() {
            let usage = resolve::usage_source(&inp, &plain, Some(s));
            // another profile id holding the same login shows the quota being spent: no finding
            if a.usage_relation(t.profile.as_deref(), usage.as_deref(), now).differs {
                let h = hit(
                    &ca015,
                    &s.key,
                    || json!({"session": s.key, "next_reply": t.profile, "usage_source": usage, "pin": s.pin}),
                );
                ca015.push(h);
            }
        }
    }
    let resync = |hits: &[Hit]| -> Remedy {
        if hits.len() == 1 {
            remedy(&flag, Repair::Resync { session: Some(hits[0].key.clone()), auto_only: true })
        } else {
            remedy(&flag, Repair::Resync { session: None, auto_only: true })
        }
    };
    let evidence = |hits: &[Hit]| -> Value {
        json!({"count": hits.len(), "sessions": hits.iter().filter_map(|h| h.detail.clone()).collect::<Vec<_>>(), "truncated": hits.len() > EVIDENCE_SESSIONS})
    };
    if !ca003.is_empty() {
        out.push(
            "CA003",
            Some(agent),
            ca003.iter().map(|h| h.key.clone()).collect(),
            format!(
                "{} session(s) keep an auto pin that is not the first usable profile of the current order: the order change does not reach them",
                ca003.len()
            ),
            evidence(&ca003),
            resync(&ca003),
            vec![],
        );
    }
    if !ca004.is_empty() {
        out.push(
            "CA004",
            Some(agent),
            ca004.iter().map(|h| h.key.clone()).collect(),
            format!("{} session(s) have an auto pin on a profile in cooldown/blocked/disabled", ca004.len()),
            evidence(&ca004),
            resync(&ca004),
            vec![],
        );
    }
    if !ca015.is_empty() {
        out.push(
            "CA015",
            Some(agent),
            ca015.iter().map(|h| h.key.clone()).collect(),
            format!(
                "in {} session(s) /status shows the usage of another profile than the one that answers (openclaw#15089: usage ignores the pin)",
                ca015.len()
            ),
            evidence(&ca015),
            Remedy::ReportOnly,
            vec![],
        );
    }

    // CA019: case-variant keys of one chat with different pins
    // only a key that lower-casing changes can share a folded key with another: the groups
    // are those keys' folded forms, then every session is placed in its group (in order)
    let mut groups: HashMap<String, Vec<&Session>> = HashMap::new();
    for s in a.sessions.iter() {
        let k = s.key.as_str();
        if !lowercase_already(k) {
            let lower = k.to_lowercase();
            if lower != k {
                groups.entry(lower).or_default();
            }
        }
    }
    if !groups.is_empty() {
        for s in a.sessions.iter() {
            let k = s.key.as_str();
            let g = if lowercase_already(k) { groups.get_mut(k) } else { groups.get_mut(&k.to_lowercase()) };
            if let Some(g) = g {
                g.push(s);
            }
        }
    }
    let mut folded: Vec<(&String, &Vec<&Session>)> = groups.iter().filter(|(_, g)| g.len() > 1).collect();
    folded.sort_by_key(|(k, _)| *k);
    for (lower, g) in folded {
        let first = (&g[0].pin, &g[0].pin_source);
        if g.iter().all(|s| (&s.pin, &s.pin_source) == first) {
            continue;
        }
        let keys: Vec<String> = g.iter().map(|s| s.key.clone()).collect();
        let target = keys.iter().find(|k| *k == lower).unwrap_or(&keys[0]);
        out.push(
            "CA019",
            Some(agent),
            keys.clone(),
            format!("one chat appears under {} keys that differ only by case, with different pins: OpenClaw picks the most recently updated", keys.join(" and ")),
            json!({"keys": g.iter().map(|s| json!({"key": s.key, "pin": s.pin, "pin_source": s.pin_source, "updated_at": s.updated_at.map(rfc3339_ms)})).collect::<Vec<_>>()}),
            remedy(&flag, Repair::Resync { session: Some(target.to_string()), auto_only: true }),
            vec![],
        );
    }
}

// ---------------------------------------------------------------------------------------------

/// `pin KEY ID`, keeping an auto pin's source (any other stored source pins as the user's).
fn pin_to(key: &str, id: &str, source: &str) -> Repair {
    let source = if source == "auto" { "auto" } else { "user" };
    Repair::Pin { session: key.to_string(), profile: id.to_string(), source: source.to_string() }
}

/// A key `to_lowercase` surely leaves as it is (ASCII without capitals), told without allocating.
fn lowercase_already(k: &str) -> bool {
    k.is_ascii() && !k.bytes().any(|b| b.is_ascii_uppercase())
}

fn unpin(key: &str) -> Repair {
    Repair::Unpin { session: key.to_string() }
}
