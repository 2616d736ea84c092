//! OpenClaw's own file lock (`auth-profiles.json.lock`, and `sessions.json.lock` of older
//! releases): created with O_EXCL, body `{"pid": N, "createdAt": ISO}` pretty-printed. A lock
//! whose pid is alive is never taken over, however old; a dead pid's lock, or a pid-less lock
//! older than 30 s, is stale and removed the way OpenClaw removes it (only if unchanged).

use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const STALE_MS: i64 = 30_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Live { pid: i64, created_at: Option<String> },
    Stale { pid: Option<i64>, created_at: Option<String>, why: String },
}

pub use crate::sys::pid_alive;

/// Classify an existing lock file the way OpenClaw does.
pub fn inspect(path: &Path, now_ms: i64) -> Option<Holder> {
    let bytes = crate::layout::store::read_file(path).ok()??;
    Some(classify(&bytes, now_ms))
}

fn classify(bytes: &[u8], now_ms: i64) -> Holder {
    let v: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let pid = v.as_ref().and_then(|v| v.get("pid")).and_then(|p| p.as_i64()).filter(|p| *p > 0);
    let created_at = v.as_ref().and_then(|v| v.get("createdAt")).and_then(|c| c.as_str()).map(str::to_owned);
    match pid {
        Some(pid) if pid_alive(pid) => Holder::Live { pid, created_at },
        Some(pid) => Holder::Stale { pid: Some(pid), created_at, why: format!("pid {pid} is not running") },
        None => {
            let age = created_at
                .as_deref()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map(|d| now_ms - d.timestamp_millis());
            match age {
                Some(a) if a > STALE_MS => {
                    Holder::Stale { pid: None, created_at, why: format!("no pid and {}s old", a / 1000) }
                }
                // OpenClaw never treats a lock without pid and createdAt as stale: neither do we
                _ => Holder::Live { pid: 0, created_at },
            }
        }
    }
}

/// A held lock; released on drop (only if the file is still ours).
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    ino: u64,
    body: Vec<u8>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let (Ok(m), Ok(Some(b))) = (std::fs::metadata(&self.path), crate::layout::store::read_file(&self.path)) {
            if m.ino() == self.ino && b == self.body {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Take `<dir>/<name>` (dir resolved like OpenClaw: realpath). Retries briefly while a live
/// process holds it, then refuses with a conflict naming the pid.
pub fn acquire(dir: &Path, name: &str, now_ms: i64, notes: &mut Vec<String>) -> Result<LockGuard> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let path = dir.join(name);
    let body = format!(
        "{{\n  \"pid\": {},\n  \"createdAt\": \"{}\"\n}}\n",
        std::process::id(),
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis())
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default()
    )
    .into_bytes();
    let mut delay = 50u64;
    for attempt in 0..8 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                use std::os::unix::fs::PermissionsExt;
                let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
                if let Err(e) = f.write_all(&body).and_then(|()| f.sync_all()) {
                    // never leave an empty lock behind (a full disk): OpenClaw would wait on it forever
                    let _ = std::fs::remove_file(&path);
                    return Err(Error::io(&path, e));
                }
                let ino = f.metadata().map_err(|e| Error::io(&path, e))?.ino();
                return Ok(LockGuard { path, ino, body });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let Ok(Some(seen)) = crate::layout::store::read_file(&path) else { continue };
                match classify(&seen, now_ms) {
                    Holder::Stale { why, .. } => {
                        // remove it only if nobody replaced it since we read it
                        if crate::layout::store::read_file(&path).ok().flatten().as_deref() == Some(seen.as_slice()) {
                            let _ = std::fs::remove_file(&path);
                            notes.push(format!("removed stale lock {} ({why}), as OpenClaw would", path.display()));
                        }
                        continue;
                    }
                    Holder::Live { pid, created_at } if attempt == 7 => {
                        let who = if pid > 0 {
                            format!("live process pid {pid}")
                        } else {
                            "a process (the lock names no pid)".into()
                        };
                        let since = created_at.map(|c| format!(", since {c}")).unwrap_or_default();
                        return Err(Error::lock_held(
                            format!("{} is held by {who}{since}", path.display()),
                            "a running OpenClaw is writing this store; stop the gateway (or wait) and try again",
                        ));
                    }
                    Holder::Live { .. } => {}
                }
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
        std::thread::sleep(std::time::Duration::from_millis(delay));
        delay = (delay * 2).min(800);
    }
    Err(Error::lock_held(
        format!("could not take {}: it stayed locked through every retry", path.display()),
        "a running OpenClaw is writing this store; stop the gateway (or wait) and try again",
    ))
}

/// Remove `<dir>/<name>` when it is the lock of process `pid` and that process is gone (a
/// clawauth killed while holding it), the way a stale lock is removed on acquisition: only if
/// unchanged. Returns what was removed, for a note.
pub fn clear_left_by(dir: &Path, name: &str, pid: i64, now_ms: i64) -> Option<String> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let path = dir.join(name);
    let seen = crate::layout::store::read_file(&path).ok()??;
    match classify(&seen, now_ms) {
        Holder::Stale { pid: Some(p), why, .. } if p == pid => {
            if crate::layout::store::read_file(&path).ok().flatten().as_deref() == Some(seen.as_slice()) {
                std::fs::remove_file(&path).ok()?;
                return Some(format!("removed stale lock {} ({why}), as OpenClaw would", path.display()));
            }
            None
        }
        _ => None,
    }
}

/// Which OpenClaw lock guards a file, if any.
pub fn lock_name_for(path: &Path) -> Option<&'static str> {
    match path.file_name()?.to_str()? {
        "auth-profiles.json" | "auth-state.json" => Some("auth-profiles.json.lock"),
        "sessions.json" => Some("sessions.json.lock"),
        _ => None,
    }
}
