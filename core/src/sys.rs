//! Facts about processes on this host, as OpenClaw and clawauth record them: whether a pid
//! runs, its start time (`/proc/PID/stat` field 22, clock ticks since boot — what OpenClaw's
//! locks and leases call `startTime`/`startedAt`), its state, the host name and the boot id.
//! The one place that asks the kernel; lock files, leases, the writer lock and the gateway
//! detector all use it.

/// Whether a process with this pid exists (EPERM counts: it exists, we may not signal it).
pub fn pid_alive(pid: i64) -> bool {
    if pid <= 0 || pid > i32::MAX as i64 {
        return false;
    }
    let rc = unsafe { libc::kill(pid as i32, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn stat_fields(pid: i64) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command (field 2) may hold spaces and parentheses: split after its last ')'
    Some(stat[stat.rfind(')')? + 1..].split_whitespace().map(str::to_owned).collect())
}

/// The process state letter (`R`, `S`, `Z` ...).
pub fn proc_state(pid: i64) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// Process start time in clock ticks since boot.
pub fn proc_start(pid: i64) -> Option<i64> {
    // after the command: state is field 3, starttime field 22
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// A process is the one recorded when it runs, is not a zombie, and (if a start time was
/// recorded) started at that time — a pid reused by another process is not it.
pub fn same_process_alive(pid: i64, start: Option<i64>) -> bool {
    let zombie = matches!(proc_state(pid), Some('Z' | 'X' | 'x'));
    !zombie && pid_alive(pid) && (start.is_none() || proc_start(pid) == start)
}

/// Unix ms of a start time in ticks since boot.
pub fn start_epoch_ms(ticks: i64) -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: i64 = stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| btime * 1000 + ticks * 1000 / hz as i64)
}

pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A process's command line, NUL-separated arguments, control characters replaced.
pub fn cmdline(pid: i64) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).chars().map(|c| if c.is_control() { '?' } else { c }).collect())
                .collect()
        })
        .unwrap_or_default()
}
