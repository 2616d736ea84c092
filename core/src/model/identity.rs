//! The one notion of identity (DESIGN §1): who a credential really is. Account id first (the
//! stored `accountId`, else the token's `chatgpt_account_id`), then the token's user id, then
//! the email (the token's claim, else the stored one). Every comparison — `status`/`explain`
//! "differs", doctor's CA011/CA015, the usage cross-check, blast radii, the demo verdict —
//! asks this module, so two profile ids holding one login are never reported as two accounts,
//! and one email in two workspaces is never reported as one.

use crate::model::{AgentState, ProfileView};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
}

impl Identity {
    pub fn of(v: &ProfileView) -> Identity {
        Identity {
            account_id: v.account().map(str::to_owned),
            user_id: v.user_id().map(str::to_owned),
            email: v.claim_email().map(str::to_owned).or_else(|| v.email.clone()),
        }
    }

    /// The identity of a credential as stored.
    pub fn of_raw(id: &str, raw: &Value, now: i64) -> Identity {
        Identity::of(&ProfileView::new(id, raw, now, false))
    }

    /// Nothing to compare by.
    pub fn is_unknown(&self) -> bool {
        self.account_id.is_none() && self.user_id.is_none() && self.email.is_none()
    }

    /// One login. With account ids on both sides they decide (same email in two workspaces is
    /// two identities), and the user ids too when both are known (two members of one team
    /// workspace have separate quotas); without account ids, the user ids, else the email
    /// (case-insensitive). Unknown never equals unknown.
    pub fn same(&self, o: &Identity) -> bool {
        match (&self.account_id, &o.account_id) {
            (Some(a), Some(b)) => {
                a == b
                    && match (&self.user_id, &o.user_id) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    }
            }
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => match (&self.user_id, &o.user_id) {
                (Some(x), Some(y)) => x == y,
                _ => match (&self.email, &o.email) {
                    (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                    _ => false,
                },
            },
        }
    }

    /// A short label: `bob@example.com, account acct-1`.
    pub fn short(&self) -> String {
        let mut parts = vec![];
        if let Some(e) = &self.email {
            parts.push(e.clone());
        }
        if let Some(a) = &self.account_id {
            parts.push(format!("account {a}"));
        }
        if parts.is_empty() {
            "unknown identity".into()
        } else {
            parts.join(", ")
        }
    }
}

impl AgentState {
    /// The identity a profile of this agent holds (`None`: no such profile).
    pub fn identity_of(&self, id: &str, now: i64) -> Option<Identity> {
        self.auth.profiles.get(id).map(|raw| Identity::of_raw(id, raw, now))
    }

    /// Do two (optional) profile ids serve the same login? Equal ids always do; two absent
    /// ids do; otherwise both must exist and hold one identity.
    pub fn same_identity(&self, a: Option<&str>, b: Option<&str>, now: i64) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) if x == y => true,
            (Some(x), Some(y)) => match (self.identity_of(x, now), self.identity_of(y, now)) {
                (Some(i), Some(j)) => i.same(&j),
                _ => false,
            },
            _ => false,
        }
    }

    /// How the usage `/status` shows (from profile `usage`) relates to the profile that replies:
    /// another identity's quota (`differs`), or another profile id holding the reply's own
    /// login (`same_login`, the quota being spent). Both false when nothing replies.
    pub fn usage_relation(&self, reply: Option<&str>, usage: Option<&str>, now: i64) -> UsageRelation {
        if reply.is_none() {
            return UsageRelation::default();
        }
        let same = self.same_identity(reply, usage, now);
        UsageRelation { differs: usage.is_some() && !same, same_login: reply != usage && same }
    }
}

/// See `AgentState::usage_relation`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UsageRelation {
    pub differs: bool,
    pub same_login: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(a: Option<&str>, u: Option<&str>, e: Option<&str>) -> Identity {
        Identity { account_id: a.map(Into::into), user_id: u.map(Into::into), email: e.map(Into::into) }
    }

    #[test]
    fn account_then_user_then_email() {
        let bob = id(Some("acct-bob"), Some("user-bob"), Some("bob@example.com"));
        assert!(bob.same(&id(Some("acct-bob"), Some("user-bob"), Some("BOB@example.com"))));
        // same email, other workspace: two identities
        assert!(!bob.same(&id(Some("acct-team"), Some("user-bob"), Some("bob@example.com"))));
        // one workspace, two members
        assert!(!bob.same(&id(Some("acct-bob"), Some("user-carol"), None)));
        assert!(id(None, None, Some("A@x")).same(&id(None, None, Some("a@x"))));
        assert!(!id(None, None, None).same(&id(None, None, None)));
        assert!(!id(Some("a"), None, Some("e")).same(&id(None, None, Some("e"))));
    }
}
