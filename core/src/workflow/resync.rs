//! `resync`: bring session pins in line with the auth order, using OpenClaw's own resolver.
//! A stale `auto` pin — to a missing or incompatible profile, one outside the effective order,
//! one in cooldown, or one that masks an explicit order's first choice — is re-selected to what
//! the resolver picks for the chat unpinned (or cleared when it would pick none). `user` pins
//! are the operator's and stay unless the chat is named with `--session`. Pins left on retired
//! `openai-codex:*` ids after OpenClaw's provider migration move to the same identity's live
//! `openai:*` id, keeping their source. One transaction, one step per chat, so
//! `undo --step N` reverts one chat.

use super::*;
use crate::model::Session;
use crate::txn::plan::Plan;

/// The live id that a pin on a retired `openai-codex:*` id means: the `openai:*` profile of the
/// same account (and user, when known), found through OpenClaw's own backups; else the same
/// name under the live provider.
pub fn migrated_pin(agent: &AgentState, old: &str, now_ms: i64) -> Option<(String, String)> {
    let rest = old.strip_prefix("openai-codex:")?;
    if agent.provider != "openai" || agent.auth.profiles.contains_key(old) {
        return None;
    }
    let old_cred = agent.archives.iter().chain(agent.stranded.iter()).find_map(|p| {
        let v: Value = serde_json::from_slice(&crate::layout::store::read_file(p).ok()??).ok()?;
        let profiles = v.get("profiles").unwrap_or(&v);
        profiles.get(old).filter(|c| c.is_object()).cloned()
    });
    if let Some(c) = old_cred {
        let (acct, user, _) = super::profile::identity(old, &c, now_ms);
        if let Some(acct) = acct {
            let mut hits: Vec<&String> = agent
                .auth
                .profiles
                .iter()
                .filter(|(id, p)| {
                    let (a, u, _) = super::profile::identity(id, p, now_ms);
                    id.starts_with("openai:") && a.as_deref() == Some(acct.as_str()) && (user.is_none() || u == user)
                })
                .map(|(id, _)| id)
                .collect();
            // the same name wins among several profiles of one account
            hits.sort_by_key(|id| id.strip_prefix("openai:") != Some(rest));
            if let Some(h) = hits.first() {
                return Some(((*h).clone(), format!("same account {acct}")));
            }
        }
    }
    let same_name = format!("openai:{rest}");
    agent.auth.profiles.contains_key(&same_name).then(|| (same_name, "same name; no backup told its account".into()))
}

/// Why an auto pin is stale, or `None` when it agrees with the order.
fn staleness(inp: &resolve::Inputs, agent: &AgentState, s: &Session, pin: &str, pick: Option<&str>) -> Option<String> {
    let trace = resolve::resolve_session(inp, &agent.provider, s, false);
    if !agent.auth.profiles.contains_key(pin) {
        return Some(format!("{pin} does not exist"));
    }
    if !trace.order.order.is_empty() && !trace.order.order.iter().any(|p| p == pin) {
        return Some(format!("{pin} is not in the effective order ({})", trace.order.order.join(", ")));
    }
    let scope = resolve::session_scope_of(inp.rules, s);
    if resolve::in_cooldown(inp, pin, &scope) {
        return Some(format!("{pin} is in cooldown"));
    }
    if trace.order.has_explicit_order && pick.is_some_and(|p| p != pin) {
        return Some(format!("{pin} masks the order's first choice {}", pick.unwrap_or_default()));
    }
    None
}

/// `resync [--session KEY] [--auto-only]`; without `--session` every chat is considered.
pub fn resync(state: &State, session: Option<&str>, auto_only: bool) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let named: Vec<String> = match session {
        Some(k) => session_keys(agent, k)?,
        None => vec![],
    };
    let scope_desc = session.map(|k| k.to_string()).unwrap_or_else(|| "every chat".into());
    let mut plan = Plan::new(
        "resync",
        format!("bring {}pins of {scope_desc} in line with the order", if auto_only { "auto " } else { "" }),
    );
    plan.agent = Some(agent.paths.id.clone());
    let cfg = state.install.config.as_ref();
    let rules = agent.rules();
    let inp = resolve::Inputs::new(agent, cfg, rules, state.now_ms);
    let mut after = agent.clone();
    let mut skipped_user = 0usize;
    for s in agent.sessions.iter() {
        if session.is_some() && !named.contains(&s.key) {
            continue;
        }
        let Some(pin) = s.pin.as_deref().map(str::trim).filter(|p| !p.is_empty()) else { continue };
        let source = resolve::resolve_session(&inp, &agent.provider, s, false).pin_source.unwrap_or_default();
        let is_user = matches!(source.as_str(), "user" | "user-link");
        if is_user && auto_only {
            skipped_user += 1;
            continue;
        }
        let (loc, prefix) = session_location(agent, &s.key)?;
        // a retired id after OpenClaw's provider migration: same identity, same source
        if let Some((live, how)) = migrated_pin(agent, pin, state.now_ms) {
            let entry = current(&loc, &prefix)?.unwrap_or(Value::Null);
            let wanted = [
                Some(Value::String(live.clone())),
                entry.get(PIN_FIELDS[1]).cloned(),
                entry.get(PIN_FIELDS[2]).cloned(),
            ];
            let changes = pin_field_changes(Some(s), &loc, &prefix, wanted, state.now_ms)?;
            plan.push_step(loc, format!("{}: retired id {pin} -> {live} ({how}), {source} pin kept", s.key), changes);
            if let Some(x) = std::sync::Arc::make_mut(&mut after.sessions).iter_mut().find(|x| x.key == s.key) {
                x.pin = Some(live.into());
            }
            continue;
        }
        if is_user && session.is_none() {
            skipped_user += 1;
            continue;
        }
        let unpinned = Session { pin: None, pin_source: None, pin_compaction: None, ..s.clone() };
        let fresh = resolve::resolve_session(&inp, &agent.provider, &unpinned, false);
        let Some(why) = staleness(&inp, agent, s, pin, fresh.profile.as_deref()) else { continue };
        let (wanted, what) = match (&fresh.write, &fresh.profile) {
            (resolve::PinWrite::SetAuto { profile, compaction_count }, _) => {
                (pin_values(profile, "auto", Some(*compaction_count)), format!("re-select {profile} (auto)"))
            }
            (_, Some(p)) => (pin_values(p, "auto", s.compaction_count), format!("re-select {p} (auto)")),
            (_, None) => ([None, None, None], "clear the pin (the order has no usable profile)".to_string()),
        };
        let changes = pin_field_changes(Some(s), &loc, &prefix, wanted.clone(), state.now_ms)?;
        plan.push_step(loc, format!("{}: {source} pin stale: {why}: {what}", s.key), changes);
        if let Some(x) = std::sync::Arc::make_mut(&mut after.sessions).iter_mut().find(|x| x.key == s.key) {
            x.pin = wanted[0].as_ref().and_then(Value::as_str).map(Into::into);
            x.pin_source = wanted[1].as_ref().and_then(Value::as_str).map(Into::into);
            x.pin_compaction = wanted[2].clone();
        }
    }
    if skipped_user > 0 {
        plan.notes.push(format!(
            "{skipped_user} user pin(s) left alone; name a chat with --session (without --auto-only) to resync it"
        ));
    }
    if !plan.is_empty() {
        plan.notes.extend(radius_notes(super::blast_radius(state, agent, &after)));
    }
    Ok(plan)
}
