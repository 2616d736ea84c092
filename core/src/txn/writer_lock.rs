//! One clawauth writer per state dir: an exclusive `flock` on the state directory itself, held
//! by every mutating command for its whole run (recover, plan, confirm, intent, apply). Locking
//! the directory (not a file in it) creates nothing, so a refused or declined run leaves the
//! state dir byte-identical, and the lock is the same whatever `--journal` names. The kernel
//! drops it when the process dies, so a held lock always means a live holder, and an
//! `applying` transaction found while holding it has no live owner on this host.
//! Also: who this process is (pid, start time, host, boot id) as recorded on each transaction.

use crate::error::{Error, Result};
use fs4::fs_std::FileExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a second writer waits by default (`CLAWAUTH_LOCK_TIMEOUT`, seconds, overrides).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct WriterLock {
    _dir: std::fs::File,
    pub path: PathBuf,
}

/// The process that owns a transaction, as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: i64,
    /// Process start time in clock ticks since boot (`/proc/PID/stat` field 22): tells a pid
    /// reused by another process from the original.
    pub start: Option<i64>,
    pub host: String,
    pub boot_id: Option<String>,
}

impl Owner {
    pub fn me() -> Owner {
        let pid = std::process::id() as i64;
        Owner { pid, start: crate::sys::proc_start(pid), host: crate::sys::hostname(), boot_id: crate::sys::boot_id() }
    }
}

/// Whether a recorded owner may still be running, as far as this host can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Provably gone: not running on this boot of this host (or the pid now names another process).
    Gone(String),
    /// Running on this host right now.
    Alive(String),
    /// Another host: this one cannot see its processes.
    Foreign(String),
}

pub fn liveness(o: &Owner) -> Liveness {
    let me = Owner::me();
    if o.host != me.host {
        return Liveness::Foreign(format!("its owner is pid {} on host {}", o.pid, o.host));
    }
    if o.boot_id.is_some() && me.boot_id.is_some() && o.boot_id != me.boot_id {
        return Liveness::Gone(format!("its owner pid {} ran before this host last booted", o.pid));
    }
    if o.pid == me.pid && o.start == me.start {
        return Liveness::Alive("it is this process's own".into());
    }
    // a killed owner stays a zombie until its parent reaps it, but the kernel released its
    // writer lock already: a zombie is gone
    if crate::sys::same_process_alive(o.pid, o.start) {
        return Liveness::Alive(format!("its owner pid {} is still running", o.pid));
    }
    Liveness::Gone(format!("its owner pid {} is not running", o.pid))
}

fn wait_limit(ctx: &crate::context::Context) -> Duration {
    ctx.var("CLAWAUTH_LOCK_TIMEOUT")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_WAIT)
}

/// Take the writer lock of `state_dir`, waiting up to the bounded time; then a conflict (exit 3)
/// naming the holder. `on_wait` is told once, with a message for the person, when it has to wait
/// (the library prints nothing: the caller shows it).
pub fn acquire(state_dir: &Path, ctx: &crate::context::Context, on_wait: &mut dyn FnMut(&str)) -> Result<WriterLock> {
    let dir = std::fs::File::open(state_dir).map_err(|e| Error::io(state_dir, e))?;
    let limit = wait_limit(ctx);
    let start = Instant::now();
    let mut said = false;
    loop {
        match FileExt::try_lock_exclusive(&dir) {
            Ok(true) => return Ok(WriterLock { _dir: dir, path: state_dir.to_path_buf() }),
            Ok(false) => {}
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {}
            Err(e) => return Err(Error::io(state_dir, e)),
        }
        let who = holder(&dir);
        if start.elapsed() >= limit {
            return Err(Error::lock_held(
                format!(
                    "another clawauth is changing {}: the writer lock is held by {who}; waited {:.1}s",
                    state_dir.display(),
                    limit.as_secs_f64()
                ),
                "wait for it to finish and run this again (CLAWAUTH_LOCK_TIMEOUT sets the wait in seconds)",
            ));
        }
        if !said {
            on_wait(&format!("waiting for {who} to finish changing {} ...", state_dir.display()));
            said = true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Who holds the flock on `dir`: pid, command line and start time, from `/proc/locks`.
fn holder(dir: &std::fs::File) -> String {
    let Ok(m) = dir.metadata() else { return "another process".into() };
    let (maj, min) = (libc::major(m.dev()), libc::minor(m.dev()));
    let want = format!("{maj:02x}:{min:02x}:{}", m.ino());
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let pid = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let i = f.iter().position(|x| *x == "FLOCK")?;
        (f.get(i + 4) == Some(&want.as_str())).then(|| f.get(i + 3)?.parse::<i64>().ok()).flatten()
    });
    let Some(pid) = pid.filter(|p| *p > 0) else { return "another clawauth process".into() };
    let parts = crate::sys::cmdline(pid);
    let cmd = match parts.first() {
        Some(first) => {
            let base = Path::new(first).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let s = std::iter::once(base).chain(parts.iter().skip(1).cloned()).collect::<Vec<_>>().join(" ");
            crate::text::shorten(&s, 120)
        }
        None => String::new(),
    };
    let since = crate::sys::proc_start(pid).and_then(crate::sys::start_epoch_ms).map(crate::text::rfc3339_ms);
    let mut out = format!("pid {pid}");
    if !cmd.is_empty() {
        out.push_str(&format!(" (`{cmd}`)"));
    }
    if let Some(s) = since {
        out.push_str(&format!(", running since {s}"));
    }
    out
}
