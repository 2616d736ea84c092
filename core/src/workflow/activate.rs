//! `activate`: the external-router setup in one transaction — copy a repo identity into the
//! active slot (`--active-slot`, default `<provider>:default`), write the stored preference
//! (`codex_profile_id`) naming it, and with `--session` pin that chat to the slot. A slot that
//! holds a newer rotation of the same account than the repo copy is not overwritten without
//! `--force` (the repo's refresh token is dead). After applying, `verify` checks by signature
//! (accountId, workspace, access, refresh) that the slot holds the repo entry.

use super::*;
use crate::json::pointer;
use crate::txn::plan::{Change, Plan};

/// The repo entry named (either Codex spelling).
pub fn repo_entry(state: &State, id: &str) -> Result<(String, Value)> {
    let repo = state.repo.as_ref().ok_or_else(|| {
        // a repo that exists but could not be read says why, not that there is none
        let path = state.repo_path.display().to_string();
        match state.warnings.iter().find(|w| w.starts_with(&path)) {
            Some(w) => Error::bad(
                &state.repo_path,
                format!("external repo unreadable: {}", &w[path.len()..].trim_start_matches(": ")),
            ),
            None => Error::NotFound(format!("no external repo at {path} (pass --repo PATH to name one)")),
        }
    })?;
    let id = id.trim();
    let alt = id.split_once(':').and_then(|(p, rest)| match p {
        "openai-codex" => Some(format!("openai:{rest}")),
        "openai" => Some(format!("openai-codex:{rest}")),
        _ => None,
    });
    for k in std::iter::once(id.to_string()).chain(alt) {
        if let Some(c) = repo.profiles.get(&k) {
            return Ok((k, c.clone()));
        }
    }
    let known: Vec<&str> = repo.profiles.keys().map(String::as_str).collect();
    Err(Error::NotFound(format!(
        "no profile '{id}' in the repo {} (known: {})",
        repo.path.display(),
        if known.is_empty() { "none".into() } else { known.join(", ") }
    )))
}

pub fn activate(state: &State, repo_id: &str, session: Option<&str>, force: bool) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let (repo_id, repo_cred) = repo_entry(state, repo_id)?;
    let slot = state.active_slot.clone();
    let keys = match session {
        Some(k) => session_keys(agent, k)?,
        None => vec![],
    };
    let store = store_location(agent)?;
    let slot_ptr = pointer(&["profiles", &slot]);
    let current_slot = current(&store, &slot_ptr)?;
    let mut plan = Plan::new("activate", format!("activate repo identity {repo_id} in slot {slot}"));
    plan.agent = Some(agent.paths.id.clone());
    let mut new_cred = repo_cred.clone();
    // the slot's id names the provider the runtime checks; a repo kept under the retired
    // spelling would make the copy incompatible
    let slot_provider = slot.split_once(':').map(|(p, _)| resolve::normalize_provider(p));
    let cred_provider = new_cred.get("provider").and_then(Value::as_str).map(resolve::normalize_provider);
    if let (Some(sp), Some(cp)) = (&slot_provider, &cred_provider) {
        if sp != cp && (sp == "openai" || sp == "openai-codex") {
            if let Some(m) = new_cred.as_object_mut() {
                m.insert("provider".into(), Value::String(sp.clone()));
            }
            plan.notes.push(format!("the repo entry says provider '{cp}'; the copy in {slot} says '{sp}'"));
        }
    }
    if let Some(cur) = &current_slot {
        let (ca, _, _) = super::profile::identity(&slot, cur, state.now_ms);
        let (ra, _, _) = super::profile::identity(&repo_id, &repo_cred, state.now_ms);
        let rotated = ca.is_some()
            && ca == ra
            && super::profile::freshness(cur) > super::profile::freshness(&repo_cred)
            && cur.get("refresh") != repo_cred.get("refresh");
        if rotated {
            let msg = format!(
                "{slot} holds a newer rotation of account {} (expires {}) than the repo's {repo_id} (expires {}): the repo's refresh token has rotated, and copying it would log the chat out",
                ca.unwrap_or_default(),
                crate::text::rfc3339_ms(super::profile::freshness(cur)),
                crate::text::rfc3339_ms(super::profile::freshness(&repo_cred))
            );
            if !force {
                return Err(Error::conflict_hint(
                    msg,
                    "refresh the repo entry from the slot first, or pass --force to copy it anyway",
                ));
            }
            plan.notes.push(format!("forced: {msg}"));
        }
    }
    plan.push(
        store,
        format!("copy repo {repo_id} into {slot}"),
        vec![Change::new(slot_ptr, current_slot, Some(new_cred.clone()))],
    );
    let pref = super::preference::location(state);
    let before = current(&pref, "")?;
    plan.push(
        pref,
        format!("codex_profile_id = {repo_id}"),
        vec![Change::new("", before, Some(Value::String(repo_id.clone())))],
    );
    for k in &keys {
        let (loc, prefix) = session_location(agent, k)?;
        let changes =
            pin_field_changes(agent.session(k), &loc, &prefix, pin_values(&slot, "user", None), state.now_ms)?;
        plan.push_step(loc, format!("pin {k} to {slot} (user)"), changes);
    }
    let on_slot: Vec<&str> = agent
        .sessions
        .iter()
        .filter(|s| s.pin.as_deref() == Some(slot.as_str()) && !keys.contains(&s.key))
        .map(|s| s.key.as_str())
        .collect();
    if !on_slot.is_empty() {
        plan.notes.push(format!(
            "{} chat(s) pinned to {slot} now run as {repo_id}: {}",
            on_slot.len(),
            on_slot.iter().take(10).copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if !agent.auth.order.values().any(|l| l.as_array().is_some_and(|l| l.iter().any(|x| x.as_str() == Some(&slot)))) {
        plan.notes.push(format!("note: {slot} is not in any stored order"));
    }
    let mut after = agent.clone();
    after.auth.profiles.insert(slot.clone(), new_cred);
    for s in std::sync::Arc::make_mut(&mut after.sessions).iter_mut().filter(|s| keys.contains(&s.key)) {
        s.pin = Some(slot.as_str().into());
        s.pin_source = Some("user".into());
        s.pin_compaction = None;
    }
    plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    Ok(plan)
}

/// After applying: the slot must hold the repo entry, by signature.
pub fn verify(state: &State, repo_id: &str) -> Result<String> {
    let agent = one_agent(state)?;
    let slot = &state.active_slot;
    let cred = agent.auth.profiles.get(slot);
    let matches = crate::model::slot::repo_matches(state, cred);
    match matches.iter().find(|m| m.repo_id == repo_id) {
        Some(m) if m.full() => Ok(format!(
            "verified: {slot} holds repo identity {repo_id} (accountId, workspace, access and refresh match)"
        )),
        Some(m) => Err(Error::Other(format!(
            "verification failed: {slot} only partly matches repo {repo_id} (accountId {}, workspace {}, access {}, refresh {}); something changed it",
            m.account_id, m.workspace, m.access, m.refresh
        ))),
        None => Err(Error::Other(format!(
            "verification failed: {slot} does not hold repo identity {repo_id}; something (a running OpenClaw?) changed it"
        ))),
    }
}
