//! `restore-token`: put back one broken credential from a copy of the same identity, and touch
//! nothing else. Sources: OpenClaw's own migration archives and backups (and legacy files
//! stranded beside a SQLite store), the external repo, other agents' stores, `--from FILE`, and
//! clawauth's journal (change values and pre-image snapshots). Candidates are matched by
//! identity — accountId first, then the JWT's user id, then email — and ranked by freshness
//! (`expires`, else the token's `exp`). Refresh tokens are single-use: a candidate older than
//! a known rotation of the account (the current credential, or one the journal saw) is dead
//! and is refused unless `--force`.

use super::profile::{freshness, identity};
use super::*;
use crate::json::{pointer, split_pointer};
use crate::model::{num_field, str_field};
use crate::txn::journal::Journal;
use crate::txn::plan::{Change, Plan};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A place credentials were found, with the credentials in it.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: &'static str,
    pub label: String,
    pub creds: Vec<(String, Value)>,
}

/// One restore candidate, shown without secrets.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub kind: &'static str,
    pub source: String,
    /// Other sources holding the same credential.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
    pub source_id: String,
    pub matched_by: &'static str,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub expires: Option<i64>,
    /// The access token's `exp`, in ms.
    pub token_exp: Option<i64>,
    pub access_fp: Option<String>,
    pub refresh_fp: Option<String>,
    /// `current`, `ok`, or why it is refused.
    pub verdict: String,
    #[serde(skip)]
    pub cred: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub profile: String,
    pub identity: (Option<String>, Option<String>, Option<String>),
    pub candidates: Vec<Candidate>,
    /// Index into `candidates` of the one restore would pick.
    pub pick: Option<usize>,
    pub searched: Vec<String>,
    pub warnings: Vec<String>,
}

pub struct Args<'a> {
    pub profile: &'a str,
    pub from: &'a [PathBuf],
    pub force: bool,
    /// Credentials clawauth's journal has seen (`journal_sources`).
    pub journal: Vec<Source>,
}

/// Credentials in a JSON document: `{profiles: {...}}`, a flat `{id: credential}` map, or one
/// credential.
pub fn creds_in(v: &Value) -> Vec<(String, Value)> {
    let is_cred = |c: &Value| {
        c.is_object()
            && ["access", "refresh"].iter().any(|k| c.get(*k).and_then(Value::as_str).is_some_and(|s| !s.is_empty()))
    };
    if is_cred(v) {
        return vec![("(credential)".into(), v.clone())];
    }
    let map = v.get("profiles").and_then(Value::as_object).or_else(|| v.as_object());
    map.into_iter().flatten().filter(|(_, c)| is_cred(c)).map(|(k, c)| (k.clone(), c.clone())).collect()
}

fn file_source(kind: &'static str, path: &Path, base: &Path) -> Result<Source> {
    let bytes = crate::layout::store::read_file(path)?
        .ok_or_else(|| Error::NotFound(format!("{} does not exist", path.display())))?;
    let v = crate::layout::store::parse_json(path, &bytes)?;
    let rel = crate::text::rel(base, path);
    Ok(Source { kind, label: format!("{kind} {rel}"), creds: creds_in(&v) })
}

/// Every credential clawauth's journal holds: change before/after values on `/profiles/...`
/// or whole documents, and the pre-image snapshots.
pub fn journal_sources(j: &Journal) -> Result<Vec<Source>> {
    let mut out = vec![];
    for row in j.list(i64::MAX as usize)? {
        let mut creds = vec![];
        for s in j.steps(row.id)? {
            for c in &s.changes {
                let segs = split_pointer(&c.pointer);
                for v in [&c.before, &c.after].into_iter().flatten() {
                    match segs.as_slice() {
                        [p, id] if p == "profiles" => creds.push((id.clone(), v.clone())),
                        [p] if p == "profiles" => creds.extend(creds_in(&serde_json::json!({ "profiles": v }))),
                        [] if v.get("profiles").is_some() => creds.extend(creds_in(v)),
                        _ => {}
                    }
                }
            }
        }
        for (_, snap) in j.snapshots(row.id)? {
            if let Some(v) = snap.content.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()) {
                if v.get("profiles").is_some() {
                    creds.extend(creds_in(&v));
                }
            }
        }
        if !creds.is_empty() {
            out.push(Source { kind: "journal", label: format!("journal txn {} ({})", row.id, row.workflow), creds });
        }
    }
    Ok(out)
}

type Ident = (Option<String>, Option<String>, Option<String>);

/// How a candidate's identity matches the target's, or `None` when it is another identity.
fn matched_by(t: &Ident, c: &Ident) -> Option<&'static str> {
    fn both(a: &Option<String>, b: &Option<String>) -> bool {
        a.is_some() && b.is_some()
    }
    if (both(&t.0, &c.0) && t.0 != c.0) || (both(&t.1, &c.1) && t.1 != c.1) {
        return None;
    }
    if both(&t.0, &c.0) {
        Some("accountId")
    } else if both(&t.1, &c.1) {
        Some("user id")
    } else if both(&t.2, &c.2) && t.2 == c.2 {
        Some("email")
    } else {
        None
    }
}

/// Every source to search, besides the journal.
fn sources(state: &State, agent: &AgentState, from: &[PathBuf]) -> Result<(Vec<Source>, Vec<String>)> {
    let base = &state.install.state_dir;
    let mut out = vec![];
    let mut warnings = vec![];
    for p in &agent.archives {
        // session archives and transcripts hold chats, not credentials, and can be tens of MB
        if !crate::model::is_credential_archive(p) {
            continue;
        }
        match file_source("archive", p, base) {
            Ok(s) => out.push(s),
            Err(e) => warnings.push(format!("skipped archive: {e}")),
        }
    }
    for p in &agent.stranded {
        if p.file_name().is_some_and(|n| n == "auth-profiles.json") {
            match file_source("stranded", p, base) {
                Ok(s) => out.push(s),
                Err(e) => warnings.push(format!("skipped stranded file: {e}")),
            }
        }
    }
    if let Some(repo) = &state.repo {
        out.push(Source {
            kind: "repo",
            label: format!("repo {}", crate::text::rel(base, &repo.path)),
            creds: repo.profiles.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
    }
    for other in state.install.all_agents.iter().filter(|a| a.id != agent.paths.id) {
        let db = crate::layout::load::agent_db_path(&other.agent_dir);
        let locs = [
            Location::json_file(other.agent_dir.join("auth-profiles.json"), crate::json::Style::AUTH_FILE),
            Location::agent_store_row(&db),
        ];
        for loc in locs {
            if Some(&loc) == agent.auth.store_loc.as_ref() {
                continue;
            }
            match current_or_none(&loc, "") {
                Ok(Some(v)) => out.push(Source {
                    kind: "agent",
                    label: format!("agent {} {}", other.id, loc.display(base)),
                    creds: creds_in(
                        &serde_json::json!({ "profiles": v.get("profiles").cloned().unwrap_or(Value::Null) }),
                    ),
                }),
                Ok(None) => {}
                Err(e) => warnings.push(format!("skipped agent {}: {e}", other.id)),
            }
        }
    }
    for f in from {
        // a file the operator named must be usable: no silent skip
        out.push(file_source("file", f, base)?);
    }
    Ok((out, warnings))
}

fn claim_exp_ms(c: &Value) -> Option<i64> {
    str_field(c, "access")
        .and_then(|a| crate::model::token::decode_claims(&a))
        .and_then(|c| c.exp)
        .map(|s| s.saturating_mul(1000))
}

/// Find, rank and judge every candidate for `args.profile`.
pub fn candidates(state: &State, args: &Args) -> Result<Listing> {
    let agent = one_agent(state)?;
    let id = profile_arg(agent, args.profile)?;
    let cur = agent.auth.profiles.get(&id).cloned().unwrap_or(Value::Null);
    let mut target = identity(&id, &cur, state.now_ms);
    if target.2.is_none() {
        // `<provider>:<email>` ids name the email even when the entry is too broken to say
        target.2 = id.split_once(':').map(|(_, r)| r).filter(|r| r.contains('@')).map(str::to_lowercase);
    }
    if target.0.is_none() && target.1.is_none() && target.2.is_none() {
        return Err(Error::Other(format!(
            "{id}: the entry names no accountId, user id or email, so no copy can be matched to it; restore it by hand"
        )));
    }
    let (mut srcs, mut warnings) = sources(state, agent, args.from)?;
    srcs.extend(args.journal.iter().cloned());
    let mut searched: Vec<String> = srcs.iter().map(|s| s.label.clone()).collect();
    searched.dedup();
    let secret = |c: &Value, k: &str| str_field(c, k);
    let mut list: Vec<Candidate> = vec![];
    for s in &srcs {
        for (sid, c) in &s.creds {
            let ci = identity(sid, c, state.now_ms);
            // a copy whose token disagrees with its own accountId is itself broken
            let stored = str_field(c, "accountId");
            let claim =
                str_field(c, "access").and_then(|a| crate::model::token::decode_claims(&a)).and_then(|x| x.account_id);
            if stored.is_some() && claim.is_some() && stored != claim {
                warnings.push(format!("{} {sid}: token account differs from its accountId; not a candidate", s.label));
                continue;
            }
            let Some(how) = matched_by(&target, &ci) else { continue };
            if let Some(dup) = list.iter_mut().find(|x| {
                secret(&x.cred, "access") == secret(c, "access") && secret(&x.cred, "refresh") == secret(c, "refresh")
            }) {
                if !dup.also_in.contains(&s.label) && dup.source != s.label {
                    dup.also_in.push(s.label.clone());
                }
                continue;
            }
            list.push(Candidate {
                kind: s.kind,
                source: s.label.clone(),
                also_in: vec![],
                source_id: sid.clone(),
                matched_by: how,
                account_id: ci.0,
                user_id: ci.1,
                email: ci.2,
                expires: num_field(c, "expires"),
                token_exp: claim_exp_ms(c),
                access_fp: secret(c, "access").as_deref().map(crate::model::token::fingerprint),
                refresh_fp: secret(c, "refresh").as_deref().map(crate::model::token::fingerprint),
                verdict: "ok".into(),
                cred: c.clone(),
            });
        }
    }
    // known rotations: the credential there now, and every one of this identity the journal saw
    let mut known: Vec<(String, Value)> = vec![];
    if cur.is_object() {
        known.push((format!("the current {id}"), cur.clone()));
    }
    for s in args.journal.iter() {
        for (sid, c) in &s.creds {
            if matched_by(&target, &identity(sid, c, state.now_ms)).is_some() {
                known.push((s.label.clone(), c.clone()));
            }
        }
    }
    for c in list.iter_mut() {
        if secret(&c.cred, "access") == secret(&cur, "access") && secret(&c.cred, "refresh") == secret(&cur, "refresh")
        {
            c.verdict = "current".into();
            continue;
        }
        let f = freshness(&c.cred);
        let newer = known
            .iter()
            .filter(|(_, k)| freshness(k) > f && secret(k, "refresh") != secret(&c.cred, "refresh"))
            .max_by_key(|(_, k)| freshness(k));
        if let Some((label, k)) = newer {
            c.verdict = format!(
                "older than a known rotation ({label}, expires {}): its refresh token is likely dead",
                crate::text::rfc3339_ms(freshness(k))
            );
        }
    }
    // usable first, newest first, then by how good a source is (see `kind_rank`)
    list.sort_by_key(|c| {
        (verdict_rank(&c.verdict), std::cmp::Reverse((freshness(&c.cred), c.token_exp.unwrap_or(0))), kind_rank(c.kind))
    });
    let pick = list.iter().position(|c| c.verdict != "current");
    Ok(Listing { profile: id, identity: target, candidates: list, pick, searched, warnings })
}

/// One credential in a backup `restore-token` could restore from, without secrets.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSource {
    /// `archive` (OpenClaw's migration archive or backup) or `stranded` (a legacy store).
    pub kind: &'static str,
    /// The file, relative to the state dir.
    pub path: String,
    pub profile: String,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub refresh_fp: Option<String>,
    pub expires: Option<i64>,
}

/// Every credential in the agent's backups (credential archives, stranded legacy stores) as
/// `status` lists them: newest first, then by kind. A backup that cannot be read is left out
/// (`restore-token --list` names it).
pub fn backups(state: &State, agent: &AgentState) -> Vec<RestoreSource> {
    let base = &state.install.state_dir;
    let files = agent.archives.iter().filter(|p| crate::model::is_credential_archive(p)).map(|p| ("archive", p)).chain(
        agent
            .stranded
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "auth-profiles.json"))
            .map(|p| ("stranded", p)),
    );
    let mut out = vec![];
    for (kind, p) in files {
        let Ok(src) = file_source(kind, p, base) else { continue };
        let rel = p.strip_prefix(base).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string());
        for (id, c) in &src.creds {
            let (account_id, _, email) = identity(id, c, state.now_ms);
            out.push(RestoreSource {
                kind,
                path: rel.clone(),
                profile: id.clone(),
                account_id,
                email,
                refresh_fp: str_field(c, "refresh").as_deref().map(crate::model::token::fingerprint),
                expires: Some(freshness(c)).filter(|f| *f > 0),
            });
        }
    }
    out.sort_by_key(|r| (std::cmp::Reverse(r.expires.unwrap_or(0)), kind_rank(r.kind)));
    out
}

/// Usable copies first, then the one there now, then the refused (older than a rotation).
pub fn verdict_rank(v: &str) -> u8 {
    match v {
        "ok" => 0,
        "current" => 1,
        _ => 2,
    }
}

/// Between copies equally fresh: OpenClaw's own backups first, then the router's repo, other
/// agents' live stores (a second live copy of one refresh token), a file named with `--from`,
/// and clawauth's journal.
fn kind_rank(k: &str) -> u8 {
    match k {
        "archive" => 0,
        "stranded" => 1,
        "repo" => 2,
        "agent" => 3,
        "file" => 4,
        _ => 5,
    }
}

/// The restore plan: replace `/profiles/<id>` with the freshest candidate.
pub fn plan(state: &State, args: &Args) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let listing = candidates(state, args)?;
    let id = listing.profile.clone();
    let Some(pick) = listing.pick.map(|i| &listing.candidates[i]) else {
        return Err(Error::NotFound(format!(
            "no restore source holds another copy of {id}'s identity (searched {} source(s): {}); pass --from FILE",
            listing.searched.len(),
            if listing.searched.is_empty() { "none".into() } else { listing.searched.join(", ") }
        )));
    };
    let mut plan = Plan::new("restore-token", format!("restore {id} from {} ({})", pick.source, pick.source_id));
    plan.agent = Some(agent.paths.id.clone());
    if pick.verdict != "ok" {
        let msg = format!("{id}: the freshest copy, from {}, is {}", pick.source, pick.verdict);
        if !args.force {
            return Err(Error::conflict_hint(
                msg,
                "see `clawauth restore-token --list`; pass --force to restore it anyway (or log in again)",
            ));
        }
        plan.notes.push(format!("forced: {msg}"));
    }
    let store = store_location(agent)?;
    let ptr = pointer(&["profiles", &id]);
    let before = current(&store, &ptr)?;
    let mut cred = pick.cred.clone();
    // the id keeps its provider: a backup from before OpenClaw's provider rename says `openai-codex`
    let provider = before
        .as_ref()
        .and_then(|b| b.get("provider"))
        .cloned()
        .unwrap_or_else(|| Value::String(agent.provider.clone()));
    if let Some(m) = cred.as_object_mut() {
        m.insert("provider".into(), provider);
    }
    plan.push(
        store,
        format!("restore credential {id} (matched by {})", pick.matched_by),
        vec![Change::new(ptr, before, Some(cred.clone()))],
    );
    plan.notes.push(format!(
        "restoring the copy from {} ({}): expires {}, refresh {}",
        pick.source,
        pick.source_id,
        pick.expires.map(crate::text::rfc3339_ms).unwrap_or_else(|| "?".into()),
        pick.refresh_fp.clone().unwrap_or_else(|| "none".into())
    ));
    if pick.kind == "agent" || pick.also_in.iter().any(|s| s.starts_with("agent ")) {
        plan.notes.push(
            "warning: this copy is live in another agent's store too; one refresh token in two places logs one of them out on the next refresh".into(),
        );
    }
    plan.notes.extend(listing.warnings.iter().cloned());
    let mut after = agent.clone();
    after.auth.profiles.insert(id, cred);
    plan.notes.extend(radius_notes(blast_radius(state, agent, &after)));
    Ok(plan)
}
