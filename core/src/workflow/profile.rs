//! `profile remove | rename | merge`: change which ids hold credentials and rewrite every
//! reference to them in the same transaction — order lists, lastGood, usageStats (in every
//! routing document the layout merges) and session pins (one step per chat). The config
//! (`openclaw.json`) is never rewritten; the plan warns when it names the old id.

use super::*;
use crate::json::pointer;
use crate::model::{num_field, Session};
use crate::txn::plan::{Change, Plan};

fn refuse_inherited(agent: &AgentState, id: &str) -> Result<()> {
    if agent.auth.inherited.iter().any(|i| i == id) {
        return Err(Error::Usage(format!(
            "{id} is inherited from the main agent's store; change it there (--agent main), not in agent {}",
            agent.paths.id
        )));
    }
    Ok(())
}

/// Push the reference rewrites of `from` into the plan, one step per routing document.
fn push_references(plan: &mut Plan, agent: &AgentState, from: &str, to: Option<&str>) -> Result<()> {
    let title = match to {
        Some(t) => format!("references {from} -> {t}"),
        None => format!("drop references to {from}"),
    };
    for (loc, changes) in reference_changes(agent, from, to)? {
        plan.push(loc, title.clone(), changes);
    }
    Ok(())
}

/// Sessions pinned to `from`, re-pinned to `to` with the same source and compaction count.
fn repin_sessions(plan: &mut Plan, state: &State, agent: &AgentState, from: &str, to: &str) -> Result<()> {
    for s in agent.sessions.iter().filter(|s| s.pin.as_deref() == Some(from)) {
        let (loc, prefix) = session_location(agent, &s.key)?;
        let entry = current(&loc, &prefix)?.unwrap_or(Value::Null);
        let wanted =
            [Some(Value::String(to.to_string())), entry.get(PIN_FIELDS[1]).cloned(), entry.get(PIN_FIELDS[2]).cloned()];
        let changes = pin_field_changes(Some(s), &loc, &prefix, wanted, state.now_ms)?;
        plan.push_step(loc, format!("{}: pin {from} -> {to}", s.key), changes);
    }
    Ok(())
}

fn config_warnings(plan: &mut Plan, state: &State, id: &str) {
    let m = config_mentions(state, id);
    if !m.is_empty() {
        plan.notes.push(format!(
            "warning: openclaw.json still names {id} in {}; clawauth never rewrites the config — edit it yourself",
            m.join(", ")
        ));
    }
}

fn side_notes(plan: &mut Plan, state: &State, id: &str) {
    if state.active_slot == id {
        plan.notes.push(format!(
            "warning: {id} is the external router's active slot; the router will write it again on its next switch"
        ));
    }
    config_warnings(plan, state, id);
}

/// `profile remove ID`: the credential, every routing reference, and each pin on it: re-pinned
/// to what OpenClaw's resolver would pick without the profile, or unpinned.
pub fn remove(state: &State, id: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let id = profile_arg(agent, id)?;
    refuse_inherited(agent, &id)?;
    let store = store_location(agent)?;
    let mut plan = Plan::new("profile remove", format!("remove profile {id} and every reference to it"));
    plan.agent = Some(agent.paths.id.clone());
    if agent.layout == crate::model::Layout::D {
        plan.notes.push(format!(
            "layout D: {id} is removed from the shared store (state/openclaw.sqlite), so every agent loses it, not only {}",
            agent.paths.id
        ));
    }
    let cred = current(&store, &pointer(&["profiles", &id]))?;
    plan.push(store, format!("remove credential {id}"), vec![Change::new(pointer(&["profiles", &id]), cred, None)]);
    push_references(&mut plan, agent, &id, None)?;
    let mut after = agent.clone();
    after.auth.profiles.remove(&id);
    rewrite_auth(&mut after, &id, None);
    let cfg = state.install.config.as_ref();
    let rules = agent.rules();
    let inp = resolve::Inputs::new(&after, cfg, rules, state.now_ms);
    let mut repinned: Vec<(String, Option<String>)> = vec![];
    for s in agent.sessions.iter().filter(|s| s.pin.as_deref() == Some(id.as_str())) {
        let trace = resolve::resolve_session(&inp, &agent.provider, s, false);
        let (wanted, what) = match &trace.write {
            resolve::PinWrite::SetAuto { profile, compaction_count } => (
                pin_values(profile, "auto", Some(*compaction_count)),
                format!("re-pin to {profile} (auto), as OpenClaw would pick"),
            ),
            _ => (
                [None, None, None],
                // where the chat lands once unpinned (the trace above still reads the pin)
                match resolve::resolve_session(&inp, &agent.provider, &unpinned(s), false).profile {
                    Some(p) => format!("unpin (OpenClaw then picks {p} from the order)"),
                    None => "unpin (OpenClaw would pick no profile for it)".to_string(),
                },
            ),
        };
        repinned.push((s.key.clone(), wanted[0].as_ref().and_then(|v| v.as_str()).map(str::to_owned)));
        let (loc, prefix) = session_location(agent, &s.key)?;
        let changes = pin_field_changes(Some(s), &loc, &prefix, wanted, state.now_ms)?;
        plan.push_step(loc, format!("{}: pinned to {id}: {what}", s.key), changes);
    }
    // the radius sees the pins as the plan leaves them
    for (key, pin) in repinned {
        if let Some(s) = std::sync::Arc::make_mut(&mut after.sessions).iter_mut().find(|s| s.key == key) {
            s.pin_source = pin.as_ref().map(|_| "auto".into());
            s.pin = pin.map(Into::into);
        }
    }
    if state.preference.as_deref() == Some(id.as_str()) {
        plan.notes
            .push(format!("warning: the stored preference names {id}; set another with `clawauth preference set`"));
    }
    side_notes(&mut plan, state, &id);
    plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    Ok(plan)
}

/// A session as it reads with its pin removed.
fn unpinned(s: &Session) -> Session {
    let mut u = s.clone();
    u.pin = None;
    u.pin_source = None;
    u.pin_compaction = None;
    u.stored = None;
    u
}

/// `profile rename OLD NEW`: the credential moves to the new id; every reference follows,
/// including the stored preference when it names OLD.
pub fn rename(state: &State, old: &str, new: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let old = profile_arg(agent, old)?;
    refuse_inherited(agent, &old)?;
    let new = new.trim().to_string();
    if new.is_empty() || !new.contains(':') {
        return Err(Error::Usage(format!("'{new}' is not a profile id: expected <provider>:<name>")));
    }
    if agent.auth.profiles.contains_key(&new) {
        // the command line is fine; the state has the id already: an error, not a usage error
        return Err(Error::State(format!(
            "profile {new} already exists in agent {}; use `profile merge` to fold two ids of one identity",
            agent.paths.id
        )));
    }
    let store = store_location(agent)?;
    let cred = current(&store, &pointer(&["profiles", &old]))?;
    let mut plan = Plan::new("profile rename", format!("rename profile {old} to {new}"));
    plan.agent = Some(agent.paths.id.clone());
    plan.push(
        store,
        format!("move credential {old} -> {new}"),
        vec![
            Change::new(pointer(&["profiles", &old]), cred.clone(), None),
            Change::new(pointer(&["profiles", &new]), None, cred.clone()),
        ],
    );
    push_references(&mut plan, agent, &old, Some(&new))?;
    repin_sessions(&mut plan, state, agent, &old, &new)?;
    if state.preference.as_deref() == Some(old.as_str()) {
        let loc = super::preference::location(state);
        let before = current(&loc, "")?;
        plan.push(
            loc,
            format!("codex_profile_id = {new}"),
            vec![Change::new("", before, Some(Value::String(new.clone())))],
        );
    }
    let cred_provider =
        cred.as_ref().and_then(|c| c.get("provider")).and_then(Value::as_str).map(resolve::normalize_provider);
    if let (Some(cp), Some((np, _))) = (cred_provider, new.split_once(':')) {
        if cp != resolve::normalize_provider(np) {
            plan.notes.push(format!("warning: {new} has prefix '{np}' but the credential's provider is '{cp}'"));
        }
    }
    side_notes(&mut plan, state, &old);
    let mut after = agent.clone();
    if let Some(c) = after.auth.profiles.remove(&old) {
        after.auth.profiles.insert(new.clone(), c);
    }
    rewrite_auth(&mut after, &old, Some(&new));
    // pins follow the rename, so no session should change account; the radius shows it
    let mut renamed = after.clone();
    for s in
        std::sync::Arc::make_mut(&mut renamed.sessions).iter_mut().filter(|s| s.pin.as_deref() == Some(old.as_str()))
    {
        s.pin = Some(new.as_str().into());
    }
    plan.notes.extend(radius_notes(blast_radius(state, agent, &renamed)));
    Ok(plan)
}

/// The identity a credential holds as (accountId, user id, lower-cased email): the fields of
/// `model::identity::Identity`, the one notion of identity, for the matchers that rank by field.
pub fn identity(id: &str, cred: &Value, now_ms: i64) -> (Option<String>, Option<String>, Option<String>) {
    let i = crate::model::identity::Identity::of_raw(id, cred, now_ms);
    (i.account_id, i.user_id, i.email.map(|e| e.to_lowercase()))
}

/// How fresh a credential is: stored `expires`, else the access token's `exp`.
pub fn freshness(cred: &Value) -> i64 {
    num_field(cred, "expires")
        .filter(|e| *e > 0)
        .or_else(|| {
            crate::model::str_field(cred, "access")
                .and_then(|a| crate::model::token::decode_claims(&a))
                .and_then(|c| c.exp)
                .map(|s| s.saturating_mul(1000))
        })
        .unwrap_or(0)
}

/// `profile merge KEEP DROP`: two ids holding one identity (same accountId and user id). The
/// freshest credential ends up under KEEP, references to DROP move to KEEP, DROP is removed.
pub fn merge(state: &State, keep: &str, drop: &str) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let keep = profile_arg(agent, keep)?;
    let drop = profile_arg(agent, drop)?;
    if keep == drop {
        return Err(Error::Usage(format!("cannot merge {keep} into itself")));
    }
    refuse_inherited(agent, &keep)?;
    refuse_inherited(agent, &drop)?;
    let store = store_location(agent)?;
    let kc = current(&store, &pointer(&["profiles", &keep]))?.unwrap_or(Value::Null);
    let dc = current(&store, &pointer(&["profiles", &drop]))?.unwrap_or(Value::Null);
    let (ki, di) = (identity(&keep, &kc, state.now_ms), identity(&drop, &dc, state.now_ms));
    let one = |i: &(Option<String>, Option<String>, Option<String>)| crate::model::identity::Identity {
        account_id: i.0.clone(),
        user_id: i.1.clone(),
        email: i.2.clone(),
    };
    // merging needs a known account on both sides, not only a matching email
    let same = ki.0.is_some() && one(&ki).same(&one(&di));
    if !same {
        let show = |i: &(Option<String>, Option<String>, Option<String>)| {
            format!(
                "account {}, user {}, email {}",
                i.0.as_deref().unwrap_or("?"),
                i.1.as_deref().unwrap_or("?"),
                i.2.as_deref().unwrap_or("?")
            )
        };
        return Err(Error::State(format!(
            "{keep} and {drop} hold different identities ({keep}: {}; {drop}: {}); only two ids of one identity can be merged",
            show(&ki),
            show(&di)
        )));
    }
    let mut plan = Plan::new("profile merge", format!("merge {drop} into {keep}"));
    plan.agent = Some(agent.paths.id.clone());
    let mut changes = vec![];
    let mut new_keep = kc.clone();
    if freshness(&dc) > freshness(&kc) {
        new_keep = dc.clone();
        // the id keeps its own provider: the fresher copy may come from a retired spelling
        if let (Some(m), Some(p)) = (new_keep.as_object_mut(), kc.get("provider")) {
            m.insert("provider".into(), p.clone());
        }
        changes.push(Change::new(pointer(&["profiles", &keep]), Some(kc.clone()), Some(new_keep.clone())));
        plan.notes.push(format!("{drop}'s credential is fresher: it moves to {keep}"));
    } else {
        plan.notes.push(format!("{keep}'s credential is the fresher one and stays"));
    }
    changes.push(Change::new(pointer(&["profiles", &drop]), Some(dc.clone()), None));
    plan.push(store, format!("keep the freshest credential under {keep}; remove {drop}"), changes);
    push_references(&mut plan, agent, &drop, Some(&keep))?;
    repin_sessions(&mut plan, state, agent, &drop, &keep)?;
    if state.preference.as_deref() == Some(drop.as_str()) {
        let loc = super::preference::location(state);
        let before = current(&loc, "")?;
        plan.push(
            loc,
            format!("codex_profile_id = {keep}"),
            vec![Change::new("", before, Some(Value::String(keep.clone())))],
        );
    }
    side_notes(&mut plan, state, &drop);
    let mut after = agent.clone();
    after.auth.profiles.remove(&drop);
    after.auth.profiles.insert(keep.clone(), new_keep);
    rewrite_auth(&mut after, &drop, Some(&keep));
    for s in
        std::sync::Arc::make_mut(&mut after.sessions).iter_mut().filter(|s| s.pin.as_deref() == Some(drop.as_str()))
    {
        s.pin = Some(keep.as_str().into());
    }
    plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    Ok(plan)
}
