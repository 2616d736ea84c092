//! The one place that knows the clock, the user, the host and the environment, so that tests
//! can pin all four (`CLAWAUTH_NOW`, `CLAWAUTH_USER`, `CLAWAUTH_HOST`) and the library never
//! reads them behind a command's back.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Context {
    /// "now" in epoch milliseconds, as OpenClaw compares it against `expires`/`cooldownUntil`.
    pub now_ms: i64,
    pub user: String,
    pub host: String,
    pub env: BTreeMap<String, String>,
}

impl Context {
    /// Build from the real process environment. `CLAWAUTH_NOW` accepts epoch ms or RFC 3339.
    pub fn from_env() -> Self {
        let env: BTreeMap<String, String> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        Self::from_map(env)
    }

    pub fn from_map(env: BTreeMap<String, String>) -> Self {
        let now_ms = env
            .get("CLAWAUTH_NOW")
            .and_then(|s| parse_time_ms(s))
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let user = env
            .get("CLAWAUTH_USER")
            .cloned()
            .or_else(|| env.get("USER").cloned())
            .or_else(|| env.get("LOGNAME").cloned())
            .unwrap_or_else(|| format!("uid-{}", unsafe { libc::geteuid() }));
        let host = env.get("CLAWAUTH_HOST").cloned().unwrap_or_else(hostname);
        Context { now_ms, user, host, env }
    }

    pub fn var(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }

    pub fn home(&self) -> Option<std::path::PathBuf> {
        self.var("OPENCLAW_HOME").or_else(|| self.var("HOME")).map(std::path::PathBuf::from)
    }

    pub fn now_rfc3339(&self) -> String {
        rfc3339_ms(self.now_ms)
    }
}

pub fn parse_time_ms(s: &str) -> Option<i64> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Some(n);
    }
    chrono::DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.timestamp_millis())
}

/// UTC RFC 3339 with second precision, e.g. `2026-05-01T12:00:00Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("@{ms}ms"))
}

/// A short, human "in 3h" / "5m ago" relative to now.
pub fn relative(ms: i64, now_ms: i64) -> String {
    let d = (ms - now_ms) / 1000;
    let a = d.unsigned_abs();
    let s = if a < 90 {
        format!("{a}s")
    } else if a < 90 * 60 {
        format!("{}m", a / 60)
    } else if a < 48 * 3600 {
        format!("{}h", a / 3600)
    } else if a < 3 * 365 * 86400 {
        format!("{}d", a / 86400)
    } else {
        format!("{}y", a / (365 * 86400))
    };
    if d >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
