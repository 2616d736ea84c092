//! Layout detection and loading (spec section 0): decides per agent whether the live store is
//! JSON (A, B) or SQLite (C, D), reads it read-only into the era-free model, and notes stranded
//! legacy files and migration archives beside it. Problems with one file become warnings that
//! name the file; they never abort the whole read.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::json::Style;
use crate::layout::discover::{AgentPaths, Install};
use crate::layout::store::{self, Location, RoDb};
use crate::layout::{session_nodes, sessions};
use crate::model::*;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use crate::layout::schema::{KNOWN_AGENT_DB_VERSIONS, KNOWN_STATE_DB_VERSIONS};

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub repo: Option<PathBuf>,
    pub active_slot: Option<String>,
    /// A one-session repair's chat: where sessions can be looked up by key (`session_nodes`),
    /// only that chat's rows (its key up to ASCII case) are read and the agent is marked
    /// `partial`; a `sessions.json` is still read whole.
    pub one_session: Option<String>,
}

pub fn state_db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("state").join("openclaw.sqlite")
}
pub fn agent_db_path(agent_dir: &Path) -> PathBuf {
    agent_dir.join("openclaw-agent.sqlite")
}

pub fn load(install: Install, ctx: &Context, opts: &LoadOptions) -> Result<State> {
    crate::layout::bigfile::configure(ctx);
    let mut warnings = install.warnings.clone();
    let mut state_db_error = None;
    let state_db = open_state_db(&install.state_dir, &mut warnings, &mut state_db_error);
    let default = install.all_agents.iter().find(|a| a.is_default).cloned();
    let mut agents = vec![];
    // the main agent's store as the others inherit it: read once, not once per agent
    let mut main_auth: Option<Auth> = None;
    for paths in &install.selected {
        let mut a = load_agent(&install, paths, state_db.as_ref(), ctx, opts.one_session.as_deref())?;
        // the shared store may live in it (layout D): nothing may be planned on a state read
        // without it
        a.unreadable.extend(state_db_error.clone());
        a.unreadable.extend(install.config_unreadable.clone());
        if let Some(def) = default.as_ref().filter(|d| d.id != paths.id) {
            if a.layout != Layout::D {
                // non-main agents also read the main agent's store (own ids and keys win)
                if main_auth.is_none() {
                    main_auth = Some(load_agent(&install, def, state_db.as_ref(), ctx, None)?.auth);
                }
                inherit(&mut a.auth, main_auth.as_ref().expect("read just above"));
            }
        }
        agents.push(a);
    }
    let preference_path = install.state_dir.join("codex_profile_id");
    let preference = match store::read_file(&preference_path) {
        Ok(Some(b)) => match String::from_utf8(b) {
            Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Ok(_) => None,
            Err(_) => {
                warnings.push(format!("{}: not UTF-8; ignored", preference_path.display()));
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    };
    let repo_path = opts.repo.clone().unwrap_or_else(|| install.state_dir.join("codex-oauth-profiles.json"));
    let repo = match store::read_file(&repo_path) {
        Ok(Some(b)) => match store::parse_json(&repo_path, &b) {
            Ok(v) => match v.get("profiles").and_then(Value::as_object) {
                Some(p) => Some(Repo { path: repo_path.clone(), profiles: p.clone() }),
                None => {
                    warnings.push(format!("{}: no \"profiles\" object; repo ignored", repo_path.display()));
                    None
                }
            },
            Err(e) => {
                warnings.push(e.to_string());
                None
            }
        },
        Ok(None) => {
            if opts.repo.is_some() {
                return Err(Error::NotFound(format!("repo {} does not exist", repo_path.display())));
            }
            None
        }
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    };
    let provider = agents.first().map(|a| a.provider.clone()).unwrap_or_else(|| "openai-codex".into());
    let (active_slot, active_slot_explicit) = match &opts.active_slot {
        Some(s) => (s.clone(), true),
        None => {
            let default = format!("{provider}:default");
            // a router may copy into another id than `<provider>:default`: find it by content
            let found = repo
                .as_ref()
                .zip(agents.first())
                .and_then(|(r, a)| crate::model::slot::detect(r, &a.auth.profiles, &default));
            (found.unwrap_or(default), false)
        }
    };
    let gateway =
        crate::layout::gateway::detect(&install.state_dir, &install.config_path, install.config.as_ref(), ctx);
    Ok(State {
        gateway,
        install,
        now_ms: ctx.now_ms,
        agents,
        preference_path,
        preference,
        repo,
        repo_path,
        active_slot,
        active_slot_explicit,
        warnings,
    })
}

fn open_state_db(state_dir: &Path, warnings: &mut Vec<String>, error: &mut Option<String>) -> Option<RoDb> {
    let p = state_db_path(state_dir);
    match store::present(&p) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            // it decides whether the store is shared (layout D): say so, never guess
            warnings.push(e.to_string());
            *error = Some(e.to_string());
            return None;
        }
    }
    match store::open_ro(&p) {
        Ok(db) => Some(db),
        Err(e) => {
            warnings.push(e.to_string());
            *error = Some(e.to_string());
            None
        }
    }
}

fn schema_of(db: &RoDb) -> Result<DbSchema> {
    let v = crate::layout::schema::verdict(&db.conn, &db.path)?;
    Ok(DbSchema {
        path: db.path.clone(),
        user_version: v.user_version,
        schema_meta: v.schema_meta,
        app_version: db.app_version(),
        known: v.refused.is_none(),
        refused: v.refused,
    })
}

/// Split a routing-state document into its three maps, checking types.
fn routing(v: &Value, origin: &str, auth: &mut Auth, warnings: &mut Vec<String>) {
    for (key, field) in [("order", 0), ("lastGood", 1), ("usageStats", 2)] {
        let Some(x) = v.get(key) else { continue };
        let Some(m) = x.as_object() else {
            warnings.push(format!("{origin}: `{key}` is {} instead of an object; ignored", json_type(x)));
            continue;
        };
        let target = match field {
            0 => &mut auth.order,
            1 => &mut auth.last_good,
            _ => &mut auth.usage_stats,
        };
        for (k, val) in m {
            target.insert(k.clone(), val.clone());
            auth.origin.insert(format!("{key}/{k}"), origin.to_string());
        }
    }
}

fn load_agent(
    install: &Install,
    paths: &AgentPaths,
    state_db: Option<&RoDb>,
    ctx: &Context,
    one_session: Option<&str>,
) -> Result<AgentState> {
    let _ = ctx;
    let base = &install.state_dir;
    let rel = |p: &Path| crate::text::rel(base, p);
    let dir = &paths.agent_dir;
    let auth_json = dir.join("auth-profiles.json");
    let state_json = dir.join("auth-state.json");
    let sessions_json = paths.sessions_dir.join("sessions.json");
    let agent_db_p = agent_db_path(dir);
    let mut warnings = vec![];
    let mut unreadable: Vec<String> = vec![];
    let mut schemas = vec![];
    let mut read_only_reason = None;

    let agent_db = if store::present(&agent_db_p)? {
        match store::open_ro(&agent_db_p) {
            Ok(db) => Some(db),
            Err(e) => {
                warnings.push(e.to_string());
                read_only_reason = Some(e.to_string());
                None
            }
        }
    } else {
        None
    };

    // --- detect
    let shared = match state_db {
        Some(db) if db.has_table("config_machine_state")? => db
            .cell("config_machine_state", "state_key", "auth.sharedStore", "value_json")?
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.get("location").and_then(Value::as_str).map(|s| s == "state-db"))
            .unwrap_or(false),
        _ => false,
    };
    let agent_has_auth = match &agent_db {
        Some(db) => db.cell("auth_profile_store", "store_key", "primary", "store_json")?.is_some(),
        None => false,
    };
    let layout = if shared {
        Layout::D
    } else if agent_has_auth {
        Layout::C
    } else if store::present(&state_json)? {
        Layout::B
    } else {
        Layout::A
    };
    // an unknown schema is read (with a warning) but never written
    let mut note_schema = |s: DbSchema, applies: bool| {
        if let Some(why) = s.refused.as_ref().filter(|_| applies) {
            read_only_reason.get_or_insert(format!("{}: {why}; clawauth reads it but will not write", rel(&s.path)));
        }
        schemas.push(s);
    };
    if let Some(db) = state_db.filter(|_| layout == Layout::D) {
        note_schema(schema_of(db)?, true);
    }
    if let Some(db) = &agent_db {
        note_schema(schema_of(db)?, layout.is_sqlite());
    }

    let mut auth = Auth::default();
    let mut files = vec![];
    let mut file_status = |role: &str, loc: String, exists: bool, live: bool, note: Option<String>| {
        files.push(FileStatus { role: role.into(), location: loc, exists, live, note });
    };

    let provider;
    match layout {
        Layout::A | Layout::B => {
            let loc = Location::json_file(&auth_json, Style::AUTH_FILE);
            let mut blocked = vec![];
            match read_json_doc(&auth_json, &mut blocked) {
                Ok(Some(v)) => {
                    profiles_from(&v, &rel(&auth_json), &mut auth, &mut warnings);
                    if layout == Layout::A {
                        routing(&v, &rel(&auth_json), &mut auth, &mut warnings);
                    } else {
                        let mut inline = Auth::default();
                        routing(&v, &format!("{} (inline)", rel(&auth_json)), &mut inline, &mut vec![]);
                        let mut m = Map::new();
                        for (k, x) in [
                            ("order", &inline.order),
                            ("lastGood", &inline.last_good),
                            ("usageStats", &inline.usage_stats),
                        ] {
                            if !x.is_empty() {
                                m.insert(k.into(), Value::Object(x.clone()));
                            }
                        }
                        if !m.is_empty() {
                            auth.inline_state = Some(m);
                        }
                        // the inline copy is the base; auth-state.json wins per provider key
                        auth.order = inline.order;
                        auth.last_good = inline.last_good;
                        auth.usage_stats = inline.usage_stats;
                        auth.origin = inline.origin;
                    }
                    file_status("auth store", rel(&auth_json), true, true, None);
                }
                Ok(None) => file_status("auth store", rel(&auth_json), false, true, Some("no profiles".into())),
                Err(e) => {
                    warnings.push(e.to_string());
                    unreadable.push(e.to_string());
                    file_status("auth store", rel(&auth_json), true, true, Some(format!("unreadable: {e}")));
                }
            }
            auth.store_loc = Some(loc.clone());
            if layout == Layout::B {
                match read_json_doc(&state_json, &mut blocked) {
                    Ok(Some(v)) => {
                        routing(&v, &rel(&state_json), &mut auth, &mut warnings);
                        file_status("routing state", rel(&state_json), true, true, None);
                    }
                    Ok(None) => file_status("routing state", rel(&state_json), false, true, None),
                    Err(e) => {
                        warnings.push(e.to_string());
                        unreadable.push(e.to_string());
                        file_status("routing state", rel(&state_json), true, true, Some(format!("unreadable: {e}")));
                    }
                }
                auth.state_loc = Some(Location::json_file(&state_json, Style::AUTH_FILE));
            } else {
                auth.state_loc = Some(loc);
            }
            warnings.extend(blocked.iter().cloned());
            unreadable.extend(blocked);
            provider = json_era_provider(&auth);
        }
        Layout::C => {
            let db = agent_db.as_ref().expect("layout C has an agent db");
            let store_loc = Location::agent_store_row(&agent_db_p);
            let state_loc = Location::agent_state_row(&agent_db_p);
            let r = rel(&agent_db_p);
            if let Some(v) = cell_json(db, &store_loc, &mut warnings) {
                profiles_from(&v, &format!("{r}#auth_profile_store"), &mut auth, &mut warnings);
            }
            file_status("auth store", store_loc.display(base), true, true, None);
            let has_state = match cell_json(db, &state_loc, &mut warnings) {
                Some(v) => {
                    routing(&v, &format!("{r}#auth_profile_state"), &mut auth, &mut warnings);
                    true
                }
                None => false,
            };
            file_status("routing state", state_loc.display(base), has_state, true, None);
            auth.store_loc = Some(store_loc);
            auth.state_loc = Some(state_loc);
            provider = "openai".into();
        }
        Layout::D => {
            let sdb = state_db.expect("layout D has a state db");
            let sp = state_db_path(base);
            let store_loc = Location::machine_state_row(&sp, "authProfiles.store");
            let state_loc = Location::machine_state_row(&sp, "authProfiles.state");
            let overlay_loc = Location::agent_state_row(&agent_db_p);
            let r = rel(&sp);
            if let Some(v) = cell_json(sdb, &store_loc, &mut warnings) {
                profiles_from(&v, &format!("{r}#authProfiles.store"), &mut auth, &mut warnings);
            }
            file_status("auth store (shared)", store_loc.display(base), true, true, None);
            let shared_state = cell_json(sdb, &state_loc, &mut warnings);
            if let Some(v) = &shared_state {
                routing(v, &format!("{r}#authProfiles.state"), &mut auth, &mut warnings);
                auth.shared_state = v.as_object().cloned();
            }
            file_status("routing state (shared)", state_loc.display(base), shared_state.is_some(), true, None);
            // 2026.9.6 builds the agent-local store from the agent DB's `auth_profile_store`
            // row; without that row the local store is null and the overlay state row is
            // ignored (resolver notes 4.5, verified) — so it is merged only when the row exists
            let agent_store_loc = Location::agent_store_row(&agent_db_p);
            let agent_store = agent_db.as_ref().and_then(|db| cell_json(db, &agent_store_loc, &mut warnings));
            if let Some(n) = agent_store
                .as_ref()
                .and_then(|v| v.get("profiles"))
                .and_then(Value::as_object)
                .map(Map::len)
                .filter(|n| *n > 0)
            {
                warnings.push(format!(
                    "{}: {n} agent-local profile(s) beside the shared store; clawauth shows and edits the shared store's",
                    agent_store_loc.display(base)
                ));
            }
            let overlay = agent_db.as_ref().and_then(|db| cell_json(db, &overlay_loc, &mut warnings));
            let overlay_active = agent_store.is_some();
            if let Some(v) = overlay.as_ref().filter(|_| overlay_active) {
                routing(v, &format!("{} (agent overlay)", overlay_loc.display(base)), &mut auth, &mut warnings);
                auth.overlay = v.as_object().cloned();
            }
            let note = if overlay.is_some() && !overlay_active {
                "IGNORED by OpenClaw 2026.9: the agent DB has no auth_profile_store row; `order set` creates it"
            } else {
                "merged per provider key over the shared state; `models auth order set` writes here"
            };
            file_status(
                "routing overlay (agent)",
                overlay_loc.display(base),
                overlay.is_some(),
                true,
                Some(note.into()),
            );
            auth.store_loc = Some(store_loc);
            auth.state_loc = Some(state_loc);
            auth.overlay_loc = Some(overlay_loc);
            provider = "openai".into();
        }
    }

    // --- sessions
    let sessions_in_db = match &agent_db {
        Some(db) if layout.is_sqlite() => db.has_rows("session_nodes")? || !sessions_json.exists(),
        _ => false,
    };
    let mut invalid_rows = vec![];
    let mut partial = None;
    let (sessions_loc, sessions_list) = if sessions_in_db {
        let db = agent_db.as_ref().expect("checked");
        let by_key = match one_session {
            Some(k) => session_nodes::read_session_nodes_by_key(db, k),
            None => Ok(None),
        };
        let read = match by_key {
            Ok(Some(n)) => Ok((n, Some(PartialSessions::default()))),
            // no such chat (the error counts the sessions), or a full read was asked for
            Ok(None) => session_nodes::read_session_nodes(db).map(|n| (n, None)),
            Err(e) => Err(e),
        };
        match read {
            Ok((session_nodes::Nodes { sessions: s, warnings: w, invalid }, p)) => {
                warnings.extend(w);
                invalid_rows = invalid;
                let note = match &p {
                    Some(_) => format!("{} session(s) read by key", s.len()),
                    None => format!("{} sessions", s.len()),
                };
                partial = p;
                file_status("sessions", format!("{}#session_nodes", rel(&agent_db_p)), true, true, Some(note));
                (SessionsLoc::Nodes { db: agent_db_p.clone() }, s)
            }
            Err(e) => {
                warnings.push(e.to_string());
                unreadable.push(e.to_string());
                (SessionsLoc::Nodes { db: agent_db_p.clone() }, vec![])
            }
        }
    } else if sessions_json.exists() || std::fs::symlink_metadata(&sessions_json).is_ok() {
        let by_key = one_session.and_then(|k| json_sessions_by_key(&sessions_json, k));
        let (s, note) = match by_key {
            Some(s) => {
                partial = Some(PartialSessions::default());
                let note = format!("{} session(s) read by key", s.len());
                (s, note)
            }
            None => json_sessions(&sessions_json, &mut warnings, &mut unreadable),
        };
        file_status("sessions", rel(&sessions_json), true, true, Some(note));
        (SessionsLoc::File { path: sessions_json.clone() }, s)
    } else {
        file_status("sessions", rel(&sessions_json), false, true, None);
        (SessionsLoc::File { path: sessions_json.clone() }, vec![])
    };

    // --- stranded legacy files and archives
    let mut stranded = vec![];
    if layout.is_sqlite() {
        for p in [&auth_json, &state_json] {
            if p.exists() {
                stranded.push(p.clone());
                file_status(
                    "stranded legacy file",
                    rel(p),
                    true,
                    false,
                    Some("not read by this OpenClaw; edits here do nothing".into()),
                );
            }
        }
        if matches!(sessions_loc, SessionsLoc::Nodes { .. }) && sessions_json.exists() {
            stranded.push(sessions_json.clone());
            file_status(
                "stranded legacy file",
                rel(&sessions_json),
                true,
                false,
                Some("sessions now live in session_nodes".into()),
            );
        }
    }
    let archives = find_archives(paths);

    let mut agent = AgentState {
        rules_override: None,
        paths: paths.clone(),
        layout,
        provider,
        files,
        schemas,
        read_only_reason,
        stranded,
        archives,
        auth,
        sessions_loc,
        invalid_rows,
        sessions: sessions_list.into(),
        partial,
        warnings,
        unreadable,
        hints: crate::model::release::Hints {
            state_db_version: state_db.and_then(|db| db.user_version().ok()),
            config_touched: install
                .config
                .as_ref()
                .and_then(|c| c.pointer("/meta/lastTouchedVersion"))
                .and_then(Value::as_str)
                .and_then(crate::model::release::Release::parse),
        },
    };
    // the one release evidence that lives in other sessions: looked for only when it matters
    if let (Some(_), SessionsLoc::File { path }) = (&agent.partial, &agent.sessions_loc) {
        let without = agent.detect_release().release;
        agent.partial.as_mut().expect("checked").user_link = true;
        let with = agent.detect_release().release;
        agent.partial.as_mut().expect("checked").user_link = false;
        // no byte sequence `user-link` (nor any `\u` escape that could spell it): no such pin
        let mentioned = || match crate::layout::bigfile::open(path) {
            Ok(Some(big)) => big.mentions_user_link,
            _ => true,
        };
        if with != without && mentioned() {
            // the file says it may hold one: read it whole after all
            let path = path.clone();
            let (s, note) = json_sessions(&path, &mut agent.warnings, &mut agent.unreadable);
            agent.sessions = s.into();
            agent.partial = None;
            if let Some(f) = agent.files.iter_mut().find(|f| f.role == "sessions") {
                f.note = Some(note);
            }
        }
    } else if let (Some(_), Some(db)) = (&agent.partial, &agent_db) {
        let without = agent.detect_release().release;
        agent.partial.as_mut().expect("checked").user_link = true;
        let with = agent.detect_release().release;
        let found = if with == without { Ok(false) } else { session_nodes::any_user_link(db) };
        agent.partial.as_mut().expect("checked").user_link = match found {
            Ok(f) => f,
            Err(e) => {
                agent.warnings.push(e.to_string());
                agent.unreadable.push(e.to_string());
                false
            }
        };
    }
    Ok(agent)
}

/// Every session of a `sessions.json`, read whole (`sessions::read_sessions_file`), and the
/// note for its file status; a key given twice makes the agent unreadable.
fn json_sessions(path: &Path, warnings: &mut Vec<String>, unreadable: &mut Vec<String>) -> (Vec<Session>, String) {
    match sessions::read_sessions_file(path) {
        Ok((s, w)) => {
            warnings.extend(w);
            let (s, dups) = last_of_duplicates(s);
            if let Some(k) = dups.first() {
                let msg = format!(
                    "{}: the session key {k:?} appears twice{} (OpenClaw keeps only the last); remove one before changing anything",
                    path.display(),
                    if dups.len() > 1 { format!(", and {} more", dups.len() - 1) } else { String::new() }
                );
                warnings.push(msg.clone());
                unreadable.push(msg);
            }
            let note = format!("{} sessions", s.len());
            (s, note)
        }
        Err(e) => {
            warnings.push(e.to_string());
            unreadable.push(e.to_string());
            (vec![], format!("unreadable: {e}"))
        }
    }
}

/// For a one-session repair on a large `sessions.json`: that chat's entries (its key up to
/// ASCII case), found through the file's streamed index (`bigfile`) without summarizing the
/// others. `None` — the file is read whole instead — when it does not stream, when no entry
/// matches (the error counts the sessions), when a key appears twice or an entry of the chat
/// is malformed (the whole read reports it as for any file).
fn json_sessions_by_key(path: &Path, key: &str) -> Option<Vec<Session>> {
    let big = crate::layout::bigfile::open(path).ok()??;
    if big.duplicate_key().is_some() {
        return None;
    }
    let entries = big.entries_like(key).ok()?;
    if entries.is_empty() {
        return None;
    }
    entries.iter().map(|(k, b)| sessions::summarize(k, b).ok()).collect()
}

/// In the JSON era the live Codex provider is `openai-codex`, unless every Codex profile has
/// already been renamed to `openai:*` (2026.6.1 after `doctor --fix`).
fn json_era_provider(auth: &Auth) -> String {
    let codex = auth.profiles.keys().any(|k| k.starts_with("openai-codex:"));
    let openai_oauth = auth
        .profiles
        .iter()
        .any(|(k, v)| k.starts_with("openai:") && v.get("type").and_then(Value::as_str) == Some("oauth"));
    if !codex && openai_oauth {
        "openai".into()
    } else {
        "openai-codex".into()
    }
}

/// Sessions as `JSON.parse` reads a `sessions.json` with a key given twice: the last entry
/// wins. Returns the keys that were duplicated (usually none: one pass, no copies).
fn last_of_duplicates(mut list: Vec<Session>) -> (Vec<Session>, Vec<String>) {
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(list.len());
    let mut dups = vec![];
    for (i, s) in list.iter().enumerate() {
        if last.insert(s.key.as_str(), i).is_some() {
            dups.push(s.key.clone());
        }
    }
    if dups.is_empty() {
        return (list, dups);
    }
    let keep: std::collections::HashSet<usize> = last.into_values().collect();
    let mut i = 0;
    list.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    (list, dups)
}

/// Read an auth store or routing-state file. A key given twice in one of its objects is read
/// as OpenClaw reads it (the last wins) but noted in `blocked`: which copy an operator meant
/// is unknowable, so nothing is written to the agent until one is removed.
fn read_json_doc(path: &Path, blocked: &mut Vec<String>) -> Result<Option<Value>> {
    match store::read_file(path)? {
        None => Ok(None),
        Some(b) => {
            let v = store::parse_json(path, &b)?;
            if !v.is_object() {
                return Err(Error::bad(path, format!("is {} instead of a JSON object", json_type(&v))));
            }
            let span = crate::json::root_span(&b).map_err(|e| Error::bad(path, format!("is not valid JSON: {e}")))?;
            if let Some(k) = crate::json::first_duplicate(&b, span).map_err(|e| Error::bad(path, e.to_string()))? {
                blocked.push(format!(
                    "{}: the key {k:?} appears twice in one object (OpenClaw keeps only the last); remove one before changing anything",
                    path.display()
                ));
            }
            Ok(Some(v))
        }
    }
}

fn cell_json(db: &RoDb, loc: &Location, warnings: &mut Vec<String>) -> Option<Value> {
    let Location::Cell { table, key_col, key, value_col, .. } = loc else {
        return None;
    };
    match db.cell(table, key_col, key, value_col) {
        Ok(Some(t)) => match serde_json::from_str::<Value>(&t) {
            Ok(v) if v.is_object() => Some(v),
            Ok(v) => {
                warnings.push(format!(
                    "{}#{table}[{key}]: {} instead of a JSON object; ignored",
                    db.path.display(),
                    json_type(&v)
                ));
                None
            }
            Err(e) => {
                warnings.push(format!("{}#{table}[{key}]: not valid JSON ({e}); ignored", db.path.display()));
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    }
}

fn profiles_from(v: &Value, origin: &str, auth: &mut Auth, warnings: &mut Vec<String>) {
    match v.get("profiles") {
        Some(Value::Object(m)) => {
            for (id, p) in m {
                auth.profiles.insert(id.clone(), p.clone());
            }
        }
        Some(other) => warnings
            .push(format!("{origin}: `profiles` is {} instead of an object; no profiles read", json_type(other))),
        None => {}
    }
}

fn inherit(own: &mut Auth, main: &Auth) {
    for (id, p) in &main.profiles {
        if !own.profiles.contains_key(id) {
            own.profiles.insert(id.clone(), p.clone());
            own.inherited.push(id.clone());
        }
    }
    for (mine, theirs, name) in [
        (&mut own.order, &main.order, "order"),
        (&mut own.last_good, &main.last_good, "lastGood"),
        (&mut own.usage_stats, &main.usage_stats, "usageStats"),
    ] {
        for (k, v) in theirs {
            if !mine.contains_key(k) {
                mine.insert(k.clone(), v.clone());
                let o = main.origin.get(&format!("{name}/{k}")).cloned().unwrap_or_default();
                own.origin.insert(format!("{name}/{k}"), format!("{o} (inherited from main agent)"));
            }
        }
    }
}

/// OpenClaw's migration archives and backups beside the agent's store.
pub fn find_archives(paths: &AgentPaths) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut scan = |dir: &Path, all: bool| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let hit = all
                    || name.contains(".migrated-")
                    || (name.contains(".sqlite-import.") && name.ends_with(".bak"))
                    || (name.contains(".openai-provider-unification.") && name.ends_with(".bak"));
                if hit && e.path().is_file() {
                    out.push(e.path());
                }
            }
        }
    };
    scan(&paths.agent_dir, false);
    scan(&paths.sessions_dir, false);
    if let Some(agent_root) = paths.sessions_dir.parent() {
        scan(&agent_root.join("session-sqlite-import-archive"), true);
    }
    out.sort();
    out
}
