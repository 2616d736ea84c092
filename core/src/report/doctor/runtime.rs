//! Doctor checks on the running system: OpenClaw's lock files, SQLite leases and processes.

use super::{Out, Remedy};
use crate::layout::lock::{self, Holder};
use crate::model::State;
use crate::text::{rel, rfc3339_ms};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        let rel = rel(&out.state.install.state_dir, &p);
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

/// The gateway serving this state dir (its `gateway-owner` lease or lock file) and OpenClaw's
/// exclusive leases. Processes' `agent_database_leases` registrations are no finding: every
/// process that opens a database has one.
pub(super) fn leases(out: &mut Out) {
    let state = out.state;
    if let Some(g) = &state.gateway {
        let sqlite = state.agents.iter().any(|a| a.layout.is_sqlite());
        let found_by = match &g.source {
            crate::model::gateway::Source::Lease(db) => {
                format!("its state_leases gateway-owner row in {}", rel(&out.state.install.state_dir, db))
            }
            crate::model::gateway::Source::LockFile(p) => format!("its lock file {}", p.display()),
        };
        let ev = json!({
            "source": match &g.source { crate::model::gateway::Source::Lease(_) => "gateway-owner lease", _ => "gateway lock file" },
            "pid": g.pid, "host": g.host, "port": g.port, "port_source": g.port_source,
            "since": g.since_ms.map(rfc3339_ms), "mode": g.mode, "release": g.release,
        });
        if sqlite && !g.foreign_host {
            out.push(
                "CA026",
                None,
                vec![format!("pid {}", g.pid)],
                format!(
                    "an OpenClaw gateway (pid {}, port {}) serves this state dir ({found_by}): repairs are written beside it and it is asked to reload after each",
                    g.pid, g.port
                ),
                ev,
                Remedy::NothingToFix,
                vec![],
            );
        } else {
            let why = if g.foreign_host {
                format!("it runs on host {}, where clawauth cannot ask it to reload", g.host)
            } else {
                "a JSON-era gateway may write its in-memory copy back over a repair; clawauth asks it to reload and re-checks the files afterwards".into()
            };
            out.push(
                "CA021",
                None,
                vec![format!("pid {}", g.pid)],
                format!(
                    "an OpenClaw gateway (pid {}, port {}) serves this state dir ({found_by}): {why}",
                    g.pid, g.port
                ),
                ev,
                Remedy::ReportOnly,
                vec!["after a repair, check `clawauth status` again, or stop the gateway while repairing".into()],
            );
        }
    }
    let Ok(Some(leases)) = crate::layout::lease::read(&state.install.state_dir, state.now_ms) else { return };
    let rel = rel(&out.state.install.state_dir, &leases.db);
    if let Some(l) = leases.exclusive() {
        out.push(
            "CA021",
            None,
            vec![rel.clone()],
            format!(
                "{rel}: state_leases {}/{} is held by {}{}: OpenClaw is maintaining or migrating its databases; every write is refused until it ends",
                l.scope,
                l.key,
                l.owner,
                l.expires_at.map(|e| format!(" until {}", rfc3339_ms(e))).unwrap_or_default()
            ),
            json!({"source": "state_leases", "db": rel, "scope": l.scope, "lease_key": l.key, "owner": l.owner, "expires_at": l.expires_at.map(rfc3339_ms)}),
            Remedy::ReportOnly,
            vec!["wait for OpenClaw's maintenance to finish".into()],
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

/// Whether the process at `/proc/PID` works on `state_dir`, from its environment.
fn serves(proc_entry: &Path, state_dir: &Path) -> bool {
    let Ok(env) = std::fs::read(proc_entry.join("environ")) else { return false };
    let var = |k: &str| {
        env.split(|b| *b == 0).find_map(|kv| {
            let kv = std::str::from_utf8(kv).ok()?;
            kv.strip_prefix(k)?.strip_prefix('=').map(str::to_owned)
        })
    };
    let dir = var("OPENCLAW_STATE_DIR")
        .filter(|s| !s.trim().is_empty())
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".openclaw")));
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    dir.is_some_and(|d| canon(&d) == canon(state_dir))
}

pub(super) fn processes(out: &mut Out, proc_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(proc_dir) else { return };
    let state_gateway = out.state.gateway.as_ref().map(|g| g.pid);
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
        if !(joined.contains("openclaw") && joined.contains("gateway")) {
            continue;
        }
        // only a gateway of this state dir: its OPENCLAW_STATE_DIR (or its HOME's ~/.openclaw)
        if serves(&e.path(), &out.state.install.state_dir) && state_gateway != Some(pid) {
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
            format!("an OpenClaw gateway process works on this state dir (pid {pid}) but left no lease or lock clawauth can read: it may write its in-memory auth state back over a repair, and it is not asked to reload"),
            json!({"source": "process", "pid": pid, "command": cmd}),
            Remedy::ReportOnly,
            vec!["stop the OpenClaw gateway before repairing".into()],
        );
    }
}

// ---------------------------------------------------------------------------------------------

/// Why OpenClaw must not migrate this state dir now: doctor's runtime findings (CA021: a lock
/// held by a live process, a live `agent_database_leases` row or unexpired `state_leases` lease
/// such as `gateway-owner`, a running gateway process). A gateway process is counted only when
/// it runs on this state dir (its `OPENCLAW_STATE_DIR`, else `$HOME/.openclaw`) or when its
/// environment cannot be read.
pub fn gateway_blockers(state: &State, proc_dir: &Path) -> Vec<String> {
    let opts = super::Options { rules: None, proc_dir: proc_dir.to_path_buf() };
    let report = super::run(state, &opts);
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mine = canon(&state.install.state_dir);
    let mut out = vec![];
    for f in report.findings.iter().filter(|f| f.code == "CA021") {
        if f.evidence.get("source").and_then(Value::as_str) == Some("process") {
            let Some(pid) = f.evidence.get("pid").and_then(Value::as_i64) else { continue };
            if let Ok(env) = std::fs::read(proc_dir.join(pid.to_string()).join("environ")) {
                let vars: BTreeMap<String, String> = env
                    .split(|b| *b == 0)
                    .filter_map(|kv| {
                        let s = String::from_utf8_lossy(kv);
                        s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))
                    })
                    .collect();
                let dir = vars
                    .get("OPENCLAW_STATE_DIR")
                    .map(PathBuf::from)
                    .or_else(|| vars.get("HOME").map(|h| Path::new(h).join(".openclaw")));
                if dir.is_some_and(|d| canon(&d) != mine) {
                    continue;
                }
            }
        }
        out.push(f.message.clone());
    }
    out
}
