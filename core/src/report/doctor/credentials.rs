//! Doctor checks on credentials: broken, expired or duplicated tokens, one identity under
//! several ids, refresh tokens shared across agents.

use super::{agent_flag, command, inherited_by, remedy, Out, Remedy};
use crate::model::resolve;
use crate::model::token::{self, TokenState};
use crate::model::{num_field, str_field, AgentState, ProfileView};
use crate::text::{relative, rfc3339_ms};
use crate::workflow::Repair;
use serde_json::{json, Value};
use std::collections::BTreeMap;

// credentials

pub(super) fn credentials(out: &mut Out, a: &AgentState) {
    let now = out.state.now_ms;
    let agent = a.paths.id.as_str();
    let flag = agent_flag(out.state, agent);
    let cfg = out.state.install.config.as_ref();
    let views = a.profile_views(now);
    for v in views.iter().filter(|v| !v.inherited) {
        let raw = &a.auth.profiles[&v.id];
        let also = inherited_by(out.state, a, &v.id);
        let restore = remedy(&flag, restore_token(&v.id));
        let is_oauth = v.kind.as_deref() == Some("oauth");
        // CA007
        if let (Some(stored), Some(claim)) = (&v.account_id, v.claims.as_ref().and_then(|c| c.account_id.as_ref())) {
            if stored != claim {
                out.push(
                    "CA007",
                    Some(agent),
                    vec![v.id.clone()],
                    format!("{}: stored accountId {stored} but the access token belongs to account {claim} ({}): the wrong login is stored under this id", v.id, v.claim_email().unwrap_or("no email")),
                    json!({"profile": v.id, "stored_account_id": stored, "token_account_id": claim, "token_email": v.claim_email(), "stored_email": v.email, "access": v.access_fp, "inherited_by": also}),
                    restore.clone(),
                    vec![],
                );
            }
        }
        // CA008
        let mut problems = v.problems.clone();
        let access = raw.get("access").and_then(Value::as_str);
        if is_oauth || access.is_some() {
            match v.token_state {
                TokenState::NotAJwt => problems.push("access token is not a decodable JWT".into()),
                TokenState::Missing if is_oauth => problems.push("no access token".into()),
                _ => {}
            }
        }
        if !problems.is_empty() {
            out.push(
                "CA008",
                Some(agent),
                vec![v.id.clone()],
                format!("{}: broken credential entry: {}", v.id, problems.join("; ")),
                json!({"profile": v.id, "problems": problems, "type": v.kind, "provider": v.provider, "access": v.access_fp, "refresh": v.refresh_fp, "token_state": v.token_state, "inherited_by": also}),
                restore.clone(),
                vec![],
            );
        }
        // CA009
        let has_refresh = raw.get("refresh").and_then(Value::as_str).is_some_and(|r| !r.trim().is_empty());
        if v.token_state == TokenState::Expired && !has_refresh {
            let exp = v.claims.as_ref().and_then(|c| c.exp).map(|s| s.saturating_mul(1000)).or(v.expires);
            out.push(
                "CA009",
                Some(agent),
                vec![v.id.clone()],
                format!(
                    "{}: the access token expired{} and there is no refresh token: OpenClaw cannot renew it",
                    v.id,
                    exp.map(|e| format!(" {}", relative(e, now))).unwrap_or_default()
                ),
                json!({"profile": v.id, "expired_at": exp.map(rfc3339_ms), "access": v.access_fp, "refresh": Value::Null, "inherited_by": also}),
                restore.clone(),
                vec![format!("openclaw models auth login --provider {} (re-login)", v.provider.clone().unwrap_or_default())],
            );
        }
        // CA013
        if let Some(te) = v.claim_email() {
            let pc = cfg.and_then(|c| c.pointer("/auth/profiles")).and_then(|p| p.get(&v.id));
            let fields = [
                ("config auth.profiles.email", pc.and_then(|p| str_field(p, "email"))),
                ("config auth.profiles.displayName", pc.and_then(|p| str_field(p, "displayName"))),
                ("credential email", v.email.clone()),
                ("credential displayName", v.display_name.clone()),
            ];
            let lies: Vec<Value> = fields
                .iter()
                .filter_map(|(f, val)| {
                    let s = val.as_deref()?.trim();
                    // a display name that is not an address is a name, not a claim about the token
                    (s.contains('@') && !s.eq_ignore_ascii_case(te)).then(|| json!({"field": f, "value": s}))
                })
                .collect();
            if !lies.is_empty() {
                let (label, src) = resolve::display_label(cfg, &a.auth.profiles, &v.id);
                out.push(
                    "CA013",
                    Some(agent),
                    vec![v.id.clone()],
                    format!(
                        "{}: the label says {} but the token's email is {te}",
                        v.id,
                        lies.iter().filter_map(|l| l["value"].as_str()).collect::<Vec<_>>().join(" / ")
                    ),
                    json!({"profile": v.id, "token_email": te, "mismatches": lies, "label": label, "label_source": src}),
                    Remedy::ReportOnly,
                    vec![],
                );
            }
        }
    }

    // CA011 and CA012 over everything this agent's runtime sees, once per group
    let mut by_identity: BTreeMap<(String, String), Vec<&ProfileView>> = BTreeMap::new();
    let mut by_email: BTreeMap<String, Vec<&ProfileView>> = BTreeMap::new();
    for v in &views {
        if let Some(acct) = v.account() {
            by_identity.entry((acct.to_string(), v.user_id().unwrap_or("").to_string())).or_default().push(v);
        }
        if let Some(e) = v.claim_email().map(str::to_owned).or_else(|| v.email.clone()) {
            by_email.entry(e.to_lowercase()).or_default().push(v);
        }
    }
    let slot = &out.state.active_slot;
    let router = out.state.repo.is_some();
    for ((acct, user), group) in &by_identity {
        // on a router the active slot is a copy of a repo identity by design (every
        // `activate` makes one): it is no duplicate, and nothing is ever merged into or out of it
        let group: Vec<&ProfileView> = group.iter().copied().filter(|v| !(router && v.id == *slot)).collect();
        if group.len() < 2 || group.iter().all(|v| v.inherited) {
            continue;
        }
        let ids: Vec<String> = group.iter().map(|v| v.id.clone()).collect();
        // a stale `<provider>:default` beside a named profile is the one to drop (openclaw#59704)
        let keep = ids.iter().find(|i| !i.ends_with(":default")).cloned().unwrap_or_else(|| ids[0].clone());
        let drops: Vec<&String> = ids.iter().filter(|i| **i != keep).collect();
        let merge = |d: &String| Repair::ProfileMerge { keep: keep.clone(), drop: d.clone() };
        let fix = remedy(&flag, merge(drops[0]));
        let fixes: Vec<String> = drops.iter().skip(1).map(|d| command(&flag, merge(d))).collect();
        out.push(
            "CA011",
            Some(agent),
            ids.clone(),
            format!("{} hold the same identity (account {acct}{}): rotation counts it twice and their tokens diverge", ids.join(" and "), if user.is_empty() { String::new() } else { format!(", user {user}") }),
            json!({"profiles": ids, "account_id": acct, "user_id": if user.is_empty() { Value::Null } else { json!(user) }, "emails": group.iter().map(|v| v.claim_email().map(str::to_owned).or_else(|| v.email.clone())).collect::<Vec<_>>(), "refresh": group.iter().map(|v| v.refresh_fp.clone()).collect::<Vec<_>>(), "keep": keep}),
            fix,
            fixes,
        );
    }
    for (email, group) in &by_email {
        let mut accts: Vec<&str> = group.iter().filter_map(|v| v.account()).collect();
        accts.sort();
        accts.dedup();
        if accts.len() < 2 || group.iter().all(|v| v.inherited) {
            continue;
        }
        let ids: Vec<String> = group.iter().map(|v| v.id.clone()).collect();
        out.push(
            "CA012",
            Some(agent),
            ids.clone(),
            format!("{email} signs in to {} workspaces ({}): separate identities, kept as separate profiles — correct", accts.len(), ids.join(", ")),
            json!({"email": email, "profiles": group.iter().map(|v| json!({"profile": v.id, "account_id": v.account(), "plan": v.plan.clone().or_else(|| v.claims.as_ref().and_then(|c| c.plan.clone()))})).collect::<Vec<_>>()}),
            Remedy::NothingToFix,
            vec![],
        );
    }
}

/// CA010: one refresh token in two places, in one agent's store or across agents.
pub(super) fn shared_refresh_tokens(out: &mut Out) {
    let state = out.state;
    let mut seen: BTreeMap<String, Vec<(&AgentState, &str, &Value)>> = BTreeMap::new();
    for a in &state.agents {
        for (id, raw) in &a.auth.profiles {
            if a.auth.inherited.contains(id) {
                continue;
            }
            if let Some(r) = raw.get("refresh").and_then(Value::as_str).filter(|r| !r.trim().is_empty()) {
                seen.entry(token::secret_hash(r)).or_default().push((a, id.as_str(), raw));
            }
        }
    }
    // on a router the active slot holding a full copy of a repo identity shares that
    // identity's refresh token by design: the router's helper owns the rotation
    let by_design = super::router_view(state).filter(|r| r.holds.is_some()).map(|r| r.slot);
    let first = state.agents.first().map(|a| a.paths.id.clone());
    for copies in seen.values_mut() {
        copies.retain(|c| !(by_design.as_deref() == Some(c.1) && Some(&c.0.paths.id) == first.as_ref()));
    }
    for copies in seen.values().filter(|c| c.len() > 1) {
        let fp = copies[0].2.get("refresh").and_then(Value::as_str).map(token::fingerprint).unwrap_or_default();
        let agents: Vec<&str> = {
            let mut v: Vec<&str> = copies.iter().map(|c| c.0.paths.id.as_str()).collect();
            v.dedup();
            v
        };
        let cross = agents.len() > 1;
        // which copy to drop: a non-default agent's copy (it then inherits main's), else a
        // stale `:default` beside a named one (unless it is the router's slot)
        let slot = &state.active_slot;
        let stale = if cross {
            copies.iter().find(|c| !c.0.paths.is_default).unwrap_or(&copies[1])
        } else {
            copies
                .iter()
                .find(|c| c.1.ends_with(":default") && !(state.repo.is_some() && c.1 == slot))
                .or_else(|| copies.iter().find(|c| state.repo.is_some() && c.1 != slot))
                .unwrap_or(&copies[1])
        };
        let flag = agent_flag(state, &stale.0.paths.id);
        let list: Vec<Value> = copies
            .iter()
            .map(|(a, id, raw)| json!({"agent": a.paths.id, "profile": id, "expires": num_field(raw, "expires").map(rfc3339_ms), "account_id": str_field(raw, "accountId")}))
            .collect();
        let places: Vec<String> = copies
            .iter()
            .map(|(a, id, _)| if cross { format!("{id} (agent {})", a.paths.id) } else { id.to_string() })
            .collect();
        out.push(
            "CA010",
            if cross { None } else { Some(agents[0]) },
            copies.iter().map(|c| c.1.to_string()).collect(),
            format!(
                "the same refresh token {fp} is stored in {}: refresh tokens are single-use, so the first refresh logs the other copy out (refresh_token_reused)",
                places.join(" and ")
            ),
            json!({"refresh": fp, "copies": list, "across_agents": cross}),
            remedy(&flag, Repair::ProfileRemove { id: stale.1.to_string() }),
            vec![command(&flag, restore_token(stale.1))],
        );
    }
}

// ---------------------------------------------------------------------------------------------

/// `restore-token ID` from every known source, without overrides.
fn restore_token(id: &str) -> Repair {
    Repair::RestoreToken { profile: id.to_string(), from: vec![], force: false }
}
