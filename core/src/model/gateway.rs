//! The OpenClaw gateway serving a state dir, as `layout::gateway::detect` found it.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `state_leases` scope `gateway-owner` in this database.
    Lease(PathBuf),
    /// OpenClaw's gateway lock file.
    LockFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Gateway {
    pub pid: i64,
    pub host: String,
    /// The record was made on another host (a shared state dir): its process cannot be seen.
    pub foreign_host: bool,
    pub port: u16,
    /// Where the port came from: `lease`, `lock file`, `config`, `OPENCLAW_GATEWAY_PORT`, `default`.
    pub port_source: &'static str,
    pub mode: Option<String>,
    /// When the gateway took ownership (unix ms).
    pub since_ms: Option<i64>,
    /// Lease expiry (unix ms), when found by its lease.
    pub expires_ms: Option<i64>,
    pub source: Source,
    /// The release that last opened the state database (`schema_meta` `primary`/`global`
    /// `app_version`): a running gateway restamps it when it opens the database.
    pub release: Option<String>,
}

impl Gateway {
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}
