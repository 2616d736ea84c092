//! The external repo and the active slot: which repo identities the slot's credential matches
//! (by account id, workspace, access and refresh token).

use crate::model::{str_field, token, State};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct RepoMatch {
    pub repo_id: String,
    pub account_id: bool,
    pub workspace: bool,
    pub access: bool,
    pub refresh: bool,
}

impl RepoMatch {
    pub fn full(&self) -> bool {
        self.account_id && self.workspace && self.access && self.refresh
    }
}

pub fn repo_matches(state: &State, slot_cred: Option<&Value>) -> Vec<RepoMatch> {
    match (&state.repo, slot_cred) {
        (Some(repo), Some(slot)) => matches_in(repo, slot),
        _ => vec![],
    }
}

/// The repo entries a credential matches (any of account, access, refresh).
pub fn matches_in(repo: &crate::model::Repo, slot: &Value) -> Vec<RepoMatch> {
    let sig = |c: &Value| {
        let access = str_field(c, "access");
        (
            str_field(c, "accountId"),
            access.as_deref().and_then(token::decode_claims).and_then(|c| c.account_id),
            access.map(|a| token::secret_hash(&a)),
            str_field(c, "refresh").map(|r| token::secret_hash(&r)),
        )
    };
    let s = sig(slot);
    repo.profiles
        .iter()
        .map(|(id, c)| {
            let r = sig(c);
            RepoMatch {
                repo_id: id.clone(),
                account_id: r.0.is_some() && r.0 == s.0,
                workspace: r.1 == s.1,
                access: r.2.is_some() && r.2 == s.2,
                refresh: r.3.is_some() && r.3 == s.3,
            }
        })
        .filter(|m| m.account_id || m.access || m.refresh)
        .collect()
}

/// The same profile name under either Codex spelling (`openai-codex:x` / `openai:x`).
fn same_name(a: &str, b: &str) -> bool {
    let rest = |x: &str| x.split_once(':').map(|(p, r)| (crate::model::resolve::normalize_provider(p), r.to_string()));
    a == b || rest(a).is_some_and(|x| rest(b).is_some_and(|y| x == y))
}

/// Find the active slot when none was named: `<provider>:default` if it exists; else the one
/// live profile that holds a full copy of a repo entry under an id the repo does not use
/// (a router configured with another slot id). `None`: keep the default.
pub fn detect(repo: &crate::model::Repo, live: &serde_json::Map<String, Value>, default: &str) -> Option<String> {
    if live.contains_key(default) {
        return None;
    }
    let hits: Vec<&String> = live
        .iter()
        .filter(|(id, _)| !repo.profiles.keys().any(|r| same_name(r, id)))
        .filter(|(_, c)| matches_in(repo, c).iter().any(RepoMatch::full))
        .map(|(id, _)| id)
        .collect();
    match hits.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}
