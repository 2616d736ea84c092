//! The one place that knows the clock, the user, the host and the environment, so that tests
//! can pin all four (`CLAWAUTH_NOW`, `CLAWAUTH_USER`, `CLAWAUTH_HOST`) and the library never
//! reads them behind a command's back.

use crate::text::{parse_time_ms, rfc3339_ms};
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
        let host = env.get("CLAWAUTH_HOST").cloned().unwrap_or_else(crate::sys::hostname);
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
