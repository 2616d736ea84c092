//! `preference set`: the stored preference file `<state>/codex_profile_id` that an external
//! router's helper reads (one profile id and a newline). The file is a text document, so the
//! change is a whole-document compare-and-swap; the id must name a live profile or a repo
//! identity, either Codex spelling.

use super::*;
use crate::txn::plan::{Change, Plan};

/// The preference file as a location.
pub fn location(state: &State) -> Location {
    Location::text_file(&state.preference_path)
}

/// Resolve an id for the preference: a live profile of the selected agent(s), else a repo
/// entry (either Codex spelling). Repo ids win when both exist, since routers read the repo.
pub fn preference_id(state: &State, id: &str) -> Result<String> {
    let id = id.trim();
    let alt = |id: &str| -> Option<String> {
        let (p, rest) = id.split_once(':')?;
        match p {
            "openai-codex" => Some(format!("openai:{rest}")),
            "openai" => Some(format!("openai-codex:{rest}")),
            _ => None,
        }
    };
    if let Some(repo) = &state.repo {
        if repo.profiles.contains_key(id) {
            return Ok(id.to_string());
        }
        if let Some(a) = alt(id).filter(|a| repo.profiles.contains_key(a)) {
            return Ok(a);
        }
    }
    for a in &state.agents {
        if let Some(found) = a.map_profile_id(id) {
            return Ok(found);
        }
    }
    let mut known: Vec<String> = state.agents.iter().flat_map(|a| a.auth.profiles.keys().cloned()).collect();
    if let Some(repo) = &state.repo {
        known.extend(repo.profiles.keys().map(|k| format!("{k} (repo)")));
    }
    known.dedup();
    Err(Error::NotFound(format!(
        "no profile '{id}' in the live store or the repo {} (known: {})",
        state.repo_path.display(),
        if known.is_empty() { "none".into() } else { known.join(", ") }
    )))
}

pub fn set(state: &State, id: &str) -> Result<Plan> {
    for a in &state.agents {
        require_writable(a)?;
    }
    let id = preference_id(state, id)?;
    let loc = location(state);
    let before = current(&loc, "")?;
    let mut plan = Plan::new("preference set", format!("set the stored preference to {id}"));
    plan.agent = state.agents.first().map(|a| a.paths.id.clone());
    plan.push(loc, format!("codex_profile_id = {id}"), vec![Change::new("", before, Some(Value::String(id.clone())))]);
    if !plan.is_empty() {
        plan.notes.push(
            "the stored preference is read by the external router's helper; OpenClaw itself does not read it".into(),
        );
    }
    Ok(plan)
}
