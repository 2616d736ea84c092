//! Doctor checks on the running system: OpenClaw's lock files, SQLite leases and processes.

use super::*;

// the running system: locks, leases, processes

pub(super) fn locks(out: &mut Out) {
    let state = out.state;
    let mut paths: Vec<PathBuf> = vec![];
    for a in &state.agents {
        paths.push(a.paths.agent_dir.join("auth-profiles.json.lock"));
        paths.push(a.paths.sessions_dir.join("sessions.json.lock"));
    }
    if let Ok(rd) = std::fs::read_dir(state.install.state_dir.join("locks").join("oauth-refresh")) {
        let mut v: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "lock")).collect();
        v.sort();
        paths.extend(v);
    }
    paths.dedup();
    for p in paths {
        let Some(h) = lock::inspect(&p, state.now_ms) else { continue };
        let rel = out.rel(&p);
        match h {
            Holder::Stale { pid, created_at, why } => out.push(
                "CA020",
                None,
                vec![rel.clone()],
                format!(
                    "{rel} is stale ({why}); OpenClaw removes it on its next attempt, clawauth only with confirmation"
                ),
                json!({"lock": rel, "pid": pid, "created_at": created_at, "why": why}),
                Remedy::ReportOnly,
                vec![],
            ),
            Holder::Live { pid, created_at } if pid > 0 => out.push(
                "CA021",
                None,
                vec![rel.clone(), format!("pid {pid}")],
                format!("{rel} is held by live process {pid}: OpenClaw is writing this store right now"),
                json!({"source": "lock file", "lock": rel, "pid": pid, "created_at": created_at}),
                Remedy::ReportOnly,
                vec!["stop the OpenClaw gateway before repairing".into()],
            ),
            Holder::Live { created_at, .. } => {
                let never = created_at.is_none();
                out.push(
                    "CA020",
                    None,
                    vec![rel.clone()],
                    if never {
                        format!("{rel} names neither a pid nor a time: OpenClaw never treats it as stale, so it blocks every write until removed")
                    } else {
                        format!("{rel} names no pid; it is younger than OpenClaw's 30 s stale limit")
                    },
                    json!({"lock": rel, "pid": Value::Null, "created_at": created_at, "why": if never { "no pid and no createdAt" } else { "no pid" }}),
                    Remedy::ReportOnly,
                    vec![],
                );
            }
        }
    }
}

pub(super) fn leases(out: &mut Out) {
    let state = out.state;
    let p = crate::layout::load::state_db_path(&state.install.state_dir);
    if !p.exists() {
        return;
    }
    let rel = out.rel(&p);
    let Ok(db) = store::open_ro(&p) else { return };
    let mut found: Vec<(String, Value)> = vec![];
    if db.has_table("agent_database_leases").unwrap_or(false) {
        if let Ok(mut st) = db.conn.prepare("SELECT agent_id, path, owner_pid FROM agent_database_leases") {
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)));
            for (agent, path, pid) in rows.into_iter().flatten().flatten() {
                if lock::pid_alive(pid) {
                    found.push((
                        format!("agent_database_leases: pid {pid} holds agent '{agent}'"),
                        json!({"source": "agent_database_leases", "db": rel, "agent_id": agent, "path": path, "pid": pid}),
                    ));
                }
            }
        }
    }
    if db.has_table("state_leases").unwrap_or(false) {
        if let Ok(mut st) = db.conn.prepare(
            "SELECT scope, lease_key, owner, expires_at FROM state_leases WHERE expires_at IS NOT NULL AND expires_at > ?1",
        ) {
            let rows = st.query_map([state.now_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
            });
            for (scope, key, owner, exp) in rows.into_iter().flatten().flatten() {
                found.push((
                    format!("state_leases: {scope}/{key} held by {owner} until {}", rfc3339_ms(exp)),
                    json!({"source": "state_leases", "db": rel, "scope": scope, "lease_key": key, "owner": owner, "expires_at": rfc3339_ms(exp)}),
                ));
            }
        }
    }
    for (what, ev) in found {
        out.push(
            "CA021",
            None,
            vec![rel.clone()],
            format!("{rel}: {what}: a running OpenClaw holds the database and writes its own copy back"),
            ev,
            Remedy::ReportOnly,
            vec!["stop the OpenClaw gateway before repairing".into()],
        );
    }
}

/// A process's command line as it may be shown: values after secret-looking flags and long
/// arguments are elided.
pub(super) fn safe_cmdline(args: &[String]) -> String {
    let secretish = |s: &str| {
        let l = s.to_lowercase();
        ["token", "key", "secret", "password", "auth"].iter().any(|w| l.contains(w))
    };
    let mut outv = vec![];
    let mut hide_next = false;
    for a in args.iter().take(8) {
        let shown = if hide_next || (a.contains('=') && secretish(a.split('=').next().unwrap_or(""))) {
            "…".to_string()
        } else if a.chars().count() > 80 {
            format!("{}…", a.chars().take(80).collect::<String>())
        } else {
            a.clone()
        };
        hide_next = a.starts_with('-') && !a.contains('=') && secretish(a);
        outv.push(shown);
    }
    if args.len() > 8 {
        outv.push("…".into());
    }
    outv.join(" ")
}

pub(super) fn processes(out: &mut Out, proc_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(proc_dir) else { return };
    let me = std::process::id() as i64;
    let mut hits: Vec<(i64, Vec<String>)> = vec![];
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let Some(argv0) = args.first() else { continue };
        if Path::new(argv0).file_name().is_some_and(|n| n.to_string_lossy().starts_with("clawauth")) {
            continue;
        }
        let joined = args.join(" ").to_lowercase();
        if joined.contains("openclaw") && joined.contains("gateway") {
            hits.push((pid, args));
        }
    }
    hits.sort_by_key(|h| h.0);
    for (pid, args) in hits {
        let cmd = safe_cmdline(&args);
        out.push(
            "CA021",
            None,
            vec![format!("pid {pid}")],
            format!("an OpenClaw gateway is running (pid {pid}): it may write its in-memory auth state back over any repair"),
            json!({"source": "process", "pid": pid, "command": cmd}),
            Remedy::ReportOnly,
            vec!["stop the OpenClaw gateway before repairing".into()],
        );
    }
}

// ---------------------------------------------------------------------------------------------
