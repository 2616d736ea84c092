//! Building the usage report: which profiles to ask, the identity analysis across answers and
//! the session cross-check against the profile `/status` shows.

#[allow(unused_imports)]
use super::*;
use crate::model::identity::Identity;

// building the report

pub(super) fn is_codex_oauth(v: &ProfileView) -> bool {
    v.kind.as_deref() == Some("oauth")
        && v.provider.as_deref().map(resolve::normalize_provider).is_some_and(|p| p == "openai-codex" || p == "openai")
}

/// Which profiles of one agent to ask about.
pub(super) fn selected(agent: &AgentState, views: &[ProfileView], wanted: &[String]) -> Vec<usize> {
    if wanted.is_empty() {
        return (0..views.len()).filter(|&i| is_codex_oauth(&views[i])).collect();
    }
    let ids: Vec<String> = wanted.iter().filter_map(|w| agent.map_profile_id(w)).collect();
    (0..views.len()).filter(|&i| ids.contains(&views[i].id)).collect()
}

pub struct Options {
    pub endpoint: String,
    pub timeout: Duration,
    pub concurrency: usize,
    pub profiles: Vec<String>,
    pub session: Option<String>,
    pub rules: Option<Rules>,
}

/// Fetch and analyse. Every selected profile gets exactly its own request; identical
/// credentials seen from several agents (inherited from main) are asked once.
pub fn build(state: &State, ctx: &Context, o: &Options) -> Result<UsageReport> {
    let now = state.now_ms;
    for w in &o.profiles {
        if !state.agents.iter().any(|a| a.map_profile_id(w).is_some()) {
            let known: Vec<String> =
                state.agents.iter().flat_map(|a| a.auth.profiles.keys().cloned()).collect::<Vec<_>>();
            return Err(Error::NotFound(format!("no profile '{w}' (profiles: {})", known.join(", "))));
        }
    }
    let filter = SessionFilter { session: o.session.clone(), all: false, limit: SESSION_LIMIT };
    let st = status::build(state, o.rules, &filter)?;
    // a cross-check needs both sides' windows, whatever subset the user asked for
    let mut wanted = o.profiles.clone();
    if o.session.is_some() && !wanted.is_empty() {
        for s in st.agents.iter().flat_map(|a| a.sessions.iter()) {
            wanted.extend(s.effective.iter().chain(&s.usage_source).cloned());
        }
    }
    let url = format!("{}{USAGE_PATH}", o.endpoint);

    // plan requests: (agent, view index) -> job index or an error without a request
    struct Pending {
        view: ProfileView,
        account: Option<(String, &'static str)>,
        result: Option<std::result::Result<Answer, FetchError>>,
        job: Option<usize>,
        elapsed: Option<u64>,
    }
    let mut jobs: Vec<Job> = vec![];
    let mut job_keys: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut per_agent: Vec<Vec<Pending>> = vec![];
    for a in &state.agents {
        let views = a.profile_views(now);
        let idx = selected(a, &views, &wanted);
        let mut pend = vec![];
        for i in idx {
            let v = views[i].clone();
            let raw = a.auth.profiles.get(&v.id);
            let access = raw.and_then(|r| str_field(r, "access")).filter(|s| !s.trim().is_empty());
            let account = v
                .account_id
                .clone()
                .filter(|s| !s.trim().is_empty())
                .map(|s| (s, "credential"))
                .or_else(|| v.claims.as_ref().and_then(|c| c.account_id.clone()).map(|s| (s, "token claim")));
            let mut p = Pending { view: v, account: account.clone(), result: None, job: None, elapsed: None };
            if !is_codex_oauth(&p.view) {
                p.result = Some(Err(FetchError::new(
                    "not_codex_oauth",
                    format!(
                        "not a Codex OAuth profile (type {}, provider {}): it has no usage endpoint",
                        p.view.kind.as_deref().unwrap_or("?"),
                        p.view.provider.as_deref().unwrap_or("?")
                    ),
                )));
            } else if let Some(access) = access.clone().filter(|_| account.is_some()) {
                let (acct, _) = account.clone().expect("checked");
                let key = (p.view.id.clone(), token::secret_hash(&access), acct.clone());
                let j = *job_keys.entry(key).or_insert_with(|| {
                    jobs.push(Job { access, account_id: acct });
                    jobs.len() - 1
                });
                p.job = Some(j);
            } else if access.is_none() {
                p.result = Some(Err(FetchError::new("no_access_token", "no access token stored: nothing to ask with")));
            } else {
                p.result = Some(Err(FetchError::new(
                    "no_account_id",
                    "no accountId stored and none in the token: the usage API needs ChatGPT-Account-Id",
                )));
            }
            pend.push(p);
        }
        per_agent.push(pend);
    }
    let route = super::fetch::route(&o.endpoint, |k| ctx.var(k).map(str::to_owned))?;
    let outcomes = fetch_all(jobs, &url, &route, o.timeout, o.concurrency, ctx.now_ms)?;
    // an endpoint (or a proxy) may echo a bearer token back: every secret the state holds is
    // looked for in what the answer says before anything shows it
    let secrets: Vec<String> = state
        .agents
        .iter()
        .flat_map(|a| a.auth.profiles.values())
        .flat_map(|c| c.as_object().into_iter().flatten())
        .filter(|(k, _)| token::is_secret_key(k))
        .filter_map(|(_, v)| v.as_str().filter(|s| s.len() >= 8).map(str::to_owned))
        .collect();
    for pend in per_agent.iter_mut() {
        for p in pend.iter_mut() {
            if let Some(j) = p.job {
                let (mut r, ms) = outcomes[j].clone();
                if let Ok(ans) = r.as_mut() {
                    super::fetch::scrub(ans, &secrets);
                }
                p.result = Some(r);
                p.elapsed = Some(ms);
            }
        }
    }

    let slot_holds = st.active_slot.matches.clone();
    let mut agents = vec![];
    for ((a, pend), ar) in state.agents.iter().zip(per_agent).zip(&st.agents) {
        let profiles: Vec<ProfileUsage> = pend
            .into_iter()
            .map(|p| {
                let v = p.view;
                let (usage, error) = match p.result.expect("every profile has a result") {
                    Ok(ans) => (Some(ans), None),
                    Err(e) => (None, Some(e)),
                };
                let flags = usage.as_ref().map(|u| mismatch_flags(&v, u)).unwrap_or_default();
                ProfileUsage {
                    active_slot: v.id == state.active_slot
                        || a.map_profile_id(&state.active_slot) == Some(v.id.clone()),
                    inherited: v.inherited,
                    stored: StoredIdentity {
                        account_id: v.account_id.clone(),
                        email: v.email.clone(),
                        user_id: v.user_id().map(str::to_owned),
                        plan: v.plan.clone().or_else(|| v.claims.as_ref().and_then(|c| c.plan.clone())),
                        access_fp: v.access_fp.clone(),
                        token_state: v.token_state,
                    },
                    request_account_id: p.account.as_ref().map(|x| x.0.clone()),
                    request_account_source: p.account.as_ref().map(|x| x.1),
                    ok: usage.is_some(),
                    usage,
                    error,
                    elapsed_ms: p.elapsed,
                    flags,
                    id: v.id,
                }
            })
            .collect();
        let identity = identity_notes(&profiles);
        let sessions: Vec<SessionUsage> = ar
            .sessions
            .iter()
            .map(|s| SessionUsage {
                key: s.key.clone(),
                pin: s.pin.clone(),
                effective: s.effective.clone(),
                effective_source: s.effective_source.clone(),
                usage_source: s.usage_source.clone(),
                differs: s.usage_differs,
            })
            .collect();
        let cross_check = o.session.as_ref().and_then(|_| sessions.first()).map(|s| cross_check(s, &profiles));
        agents.push(AgentUsage {
            id: a.paths.id.clone(),
            provider: a.provider.clone(),
            rules: ar.rules,
            profiles,
            identity,
            sessions,
            cross_check,
        });
    }
    Ok(UsageReport {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: rfc3339_ms(now),
        endpoint: o.endpoint.clone(),
        timeout_seconds: o.timeout.as_secs_f64(),
        concurrency: o.concurrency,
        active_slot: SlotSummary { id: st.active_slot.id.clone(), exists: st.active_slot.exists, holds: slot_holds },
        agents,
        recorded: None,
    })
}

/// The answer names another login than the credential claims to be.
pub(super) fn mismatch_flags(v: &ProfileView, u: &Answer) -> Vec<String> {
    let mut out = vec![];
    if let (Some(api), Some(stored)) = (&u.account_id, v.account()) {
        if api != stored {
            out.push(format!("the API answered for account {api}, but the stored credential says {stored}"));
        }
    }
    let stored_email = v.email.as_deref().or(v.claim_email());
    if let (Some(api), Some(stored)) = (&u.email, stored_email) {
        if !api.eq_ignore_ascii_case(stored) {
            out.push(format!("the API answered for {api}, but the stored credential says {stored}"));
        }
    }
    out
}

/// Group by workspace (the answer's account id, else the stored one): different users in one
/// workspace each have their own quota; the same user twice is one quota seen twice.
pub(super) fn identity_notes(profiles: &[ProfileUsage]) -> Vec<IdentityNote> {
    let mut by_acct: BTreeMap<String, Vec<(&str, Option<String>)>> = BTreeMap::new();
    for p in profiles {
        let acct = p.usage.as_ref().and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone());
        let user = p.usage.as_ref().and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone());
        if let Some(acct) = acct {
            by_acct.entry(acct).or_default().push((&p.id, user));
        }
    }
    let mut out = vec![];
    for (acct, members) in by_acct.into_iter().filter(|(_, m)| m.len() > 1) {
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, user) in &members {
            users.entry(user.clone().unwrap_or_else(|| "?".into())).or_default().push(id.to_string());
        }
        let list = |ids: &[&str], users: &[Option<String>]| -> String {
            ids.iter()
                .zip(users)
                .map(|(i, u)| format!("{i} ({})", u.as_deref().unwrap_or("user unknown")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ids: Vec<&str> = members.iter().map(|m| m.0).collect();
        let us: Vec<Option<String>> = members.iter().map(|m| m.1.clone()).collect();
        if users.len() > 1 {
            out.push(IdentityNote {
                kind: "shared_workspace",
                account_id: Some(acct.clone()),
                profiles: ids.iter().map(|s| s.to_string()).collect(),
                message: format!(
                    "workspace {acct}: {} are separate members of one workspace, not one quota",
                    list(&ids, &us)
                ),
            });
        }
        for (user, same) in users.into_iter().filter(|(u, s)| s.len() > 1 && u != "?") {
            out.push(IdentityNote {
                kind: "same_login",
                account_id: Some(acct.clone()),
                profiles: same.clone(),
                message: format!("{} are the same login ({user} in {acct}): one quota, shown twice", same.join(", ")),
            });
        }
    }
    for p in profiles.iter().filter(|p| !p.flags.is_empty()) {
        for f in &p.flags {
            out.push(IdentityNote {
                kind: "api_mismatch",
                account_id: p.usage.as_ref().and_then(|u| u.account_id.clone()),
                profiles: vec![p.id.clone()],
                message: format!("{}: {f}", p.id),
            });
        }
    }
    out
}

pub(super) fn windows_of(profiles: &[ProfileUsage], id: Option<&str>) -> Option<Vec<UsageWindow>> {
    let p = profiles.iter().find(|p| Some(p.id.as_str()) == id)?;
    p.usage.as_ref().map(|u| u.rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default())
}

/// The identity of a profile: the answer's account, user and email, else the stored
/// credential's — compared by the one notion of identity (`model::identity`).
pub(super) fn login_of(profiles: &[ProfileUsage], id: Option<&str>) -> Option<Identity> {
    let p = profiles.iter().find(|p| Some(p.id.as_str()) == id)?;
    let u = p.usage.as_ref();
    let i = Identity {
        account_id: u.and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone()),
        user_id: u.and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone()),
        email: u.and_then(|u| u.email.clone()).or_else(|| p.stored.email.clone()),
    };
    (!i.is_unknown()).then_some(i)
}

pub(super) fn cross_check(s: &SessionUsage, profiles: &[ProfileUsage]) -> CrossCheck {
    let (us, ef) = (s.usage_source.as_deref(), s.effective.as_deref());
    let same_login = us != ef
        && match (login_of(profiles, us), login_of(profiles, ef)) {
            (Some(a), Some(b)) => a.same(&b),
            _ => false,
        };
    let message = match (us, ef) {
        (Some(u), Some(e)) if u != e && same_login => format!(
            "/status shows the usage of {u} and this session's replies use {e}: different profiles, but the same login, so the quota shown is the one being spent"
        ),
        (Some(u), Some(e)) if u != e => format!(
            "/status shows the usage of {u}, but this session's replies use {e}: the quota it shows is not the one being spent"
        ),
        (Some(u), Some(_)) => format!("/status shows the usage of {u}, the profile that serves this session"),
        (None, Some(e)) => format!("/status shows no usage (no usable oauth/token profile); replies use {e}"),
        (Some(u), None) => format!("/status shows the usage of {u}, but no profile would serve this session"),
        (None, None) => "no profile serves this session and /status shows no usage".into(),
    };
    CrossCheck {
        session: s.key.clone(),
        usage_source: s.usage_source.clone(),
        effective: s.effective.clone(),
        differs: us.is_some() && ef.is_some() && us != ef && !same_login,
        same_login,
        message,
        usage_source_windows: windows_of(profiles, us),
        effective_windows: windows_of(profiles, ef),
    }
}

// ---------------------------------------------------------------------------------------------
