//! The OpenClaw gateway that serves a state dir, if one runs — found from what OpenClaw itself
//! records, never from a process list:
//!
//! 1. the `gateway-owner` lease in `state/openclaw.sqlite` (2026.8+: `payload_json`
//!    `{owner:{pid,host,startedAt}, port, mode}`, renewed about every 240 s, expiring 300 s
//!    after the last heartbeat);
//! 2. OpenClaw's gateway lock file, `gateway.<sha256(config path)[..8]>.lock` with
//!    `{pid, createdAt, configPath, port?, startTime?}` — under `<state>/tmp/openclaw-<uid>/`
//!    (2026.9) or `$TMPDIR/openclaw-<uid>/` (`/tmp` by default; the JSON era and 2026.7).
//!
//! A record counts only when its process is alive on this host with the recorded start time
//! (a pid reused by another process is not the gateway). The port comes from the record, else
//! `gateway.port` in the config, else `OPENCLAW_GATEWAY_PORT`, else OpenClaw's default 18789.

use crate::context::Context;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// OpenClaw's default gateway port.
pub const DEFAULT_PORT: u16 = 18789;

pub use crate::model::gateway::{Gateway, Source};

fn as_i64(v: Option<&Value>) -> Option<i64> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

fn config_port(config: Option<&Value>) -> Option<u16> {
    let v = config?.get("gateway")?.get("port")?;
    as_i64(Some(v)).and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
}

fn port_of(
    record: Option<i64>,
    record_source: &'static str,
    config: Option<&Value>,
    ctx: &Context,
) -> (u16, &'static str) {
    if let Some(p) = record.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
        return (p, record_source);
    }
    if let Some(p) = config_port(config) {
        return (p, "config");
    }
    if let Some(p) = ctx.var("OPENCLAW_GATEWAY_PORT").and_then(|s| s.trim().parse::<u16>().ok()).filter(|p| *p > 0) {
        return (p, "OPENCLAW_GATEWAY_PORT");
    }
    (DEFAULT_PORT, "default")
}

/// The lock file names OpenClaw would use for this config path.
fn lock_candidates(state_dir: &Path, config_path: &Path, ctx: &Context) -> Vec<PathBuf> {
    let uid = unsafe { libc::getuid() };
    let hash = hex::encode(Sha256::digest(config_path.to_string_lossy().as_bytes()));
    let name = format!("gateway.{}.lock", &hash[..8]);
    let mut dirs = vec![state_dir.join("tmp")];
    dirs.push(ctx.var("TMPDIR").filter(|t| !t.is_empty()).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp")));
    let mut out: Vec<PathBuf> = dirs.into_iter().map(|d| d.join(format!("openclaw-{uid}")).join(&name)).collect();
    out.dedup();
    out
}

/// Find the gateway serving `state_dir`. Never fails: an unreadable record is no gateway.
pub fn detect(state_dir: &Path, config_path: &Path, config: Option<&Value>, ctx: &Context) -> Option<Gateway> {
    let me = crate::sys::hostname();
    if let Ok(Some(leases)) = crate::layout::lease::read(state_dir, ctx.now_ms) {
        if let Some(l) = leases.gateway_owner() {
            let owner = l.payload.as_ref().and_then(|p| p.get("owner"));
            let pid = as_i64(owner.and_then(|o| o.get("pid"))).unwrap_or(0);
            let host = owner.and_then(|o| o.get("host")).and_then(Value::as_str).unwrap_or_default().to_string();
            let start = as_i64(owner.and_then(|o| o.get("startedAt")));
            let foreign_host = !host.is_empty() && host != me;
            if foreign_host || (pid > 0 && crate::sys::same_process_alive(pid, start)) {
                let (port, port_source) =
                    port_of(as_i64(l.payload.as_ref().and_then(|p| p.get("port"))), "lease", config, ctx);
                return Some(Gateway {
                    pid,
                    host,
                    foreign_host,
                    port,
                    port_source,
                    mode: l.payload.as_ref().and_then(|p| p.get("mode")).and_then(Value::as_str).map(str::to_owned),
                    since_ms: l.created_at,
                    expires_ms: l.expires_at,
                    source: Source::Lease(leases.db.clone()),
                    release: crate::layout::store::open_ro(&leases.db).ok().and_then(|db| db.app_version()),
                });
            }
        }
    }
    for lock in lock_candidates(state_dir, config_path, ctx) {
        let Ok(Some(bytes)) = crate::layout::store::read_file(&lock) else { continue };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else { continue };
        // the lock names the config it serves: it must be ours
        if v.get("configPath").and_then(Value::as_str) != Some(&*config_path.to_string_lossy()) {
            continue;
        }
        let pid = as_i64(v.get("pid")).unwrap_or(0);
        if pid <= 0 || !crate::sys::same_process_alive(pid, as_i64(v.get("startTime"))) {
            continue;
        }
        let (port, port_source) = port_of(as_i64(v.get("port")), "lock file", config, ctx);
        let since_ms = v
            .get("createdAt")
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_millis());
        return Some(Gateway {
            pid,
            host: me,
            foreign_host: false,
            port,
            port_source,
            mode: None,
            since_ms,
            expires_ms: None,
            source: Source::LockFile(lock),
            release: None,
        });
    }
    None
}
