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
    let (Some(repo), Some(slot)) = (&state.repo, slot_cred) else {
        return vec![];
    };
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
