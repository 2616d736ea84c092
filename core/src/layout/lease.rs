//! The one reader of OpenClaw's SQLite leases (`state/openclaw.sqlite`, 2026.6.5+), and what
//! each kind means for a writer (spec section 8, read in 2026.9.6's dist code and seen live):
//!
//! - `agent_database_leases` is a *registration*: every process that opens an agent database
//!   adds a row (owner pid + start time); several coexist; a row is stale when its pid is gone
//!   or started at another time. It is not a write lock — a running gateway always has one.
//! - `state_leases` rows are named leases with an expiry. Scope `gateway-owner` (key `global`)
//!   is the gateway that serves this state dir, with `payload_json`
//!   `{owner:{pid,host,startedAt}, port, mode}`. Scope `core:agent-database-maintenance`
//!   (OpenClaw's doctor or maintenance running) and `startup-migrations` (a starting gateway
//!   migrating the schema) mean "nobody else writes now". Other scopes guard OpenClaw's own
//!   lifecycles (plugins, skills, worktrees) and do not concern auth or session rows.

use crate::error::{Error, Result};
use crate::layout::store;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Lease scopes during which no other process may write OpenClaw's databases.
pub const EXCLUSIVE_SCOPES: [&str; 2] = ["core:agent-database-maintenance", "startup-migrations"];
pub const GATEWAY_OWNER: &str = "gateway-owner";

#[derive(Debug, Clone)]
pub struct StateLease {
    pub scope: String,
    pub key: String,
    pub owner: String,
    pub expires_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub created_at: Option<i64>,
    pub payload: Option<Value>,
}

impl StateLease {
    pub fn exclusive(&self) -> bool {
        EXCLUSIVE_SCOPES.contains(&self.scope.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub agent_id: String,
    pub path: String,
    pub pid: i64,
    pub start_time: Option<i64>,
    /// The registering process still runs (same pid, same start time when one was recorded).
    pub live: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Leases {
    pub db: PathBuf,
    /// Unexpired `state_leases` rows (a row without an expiry counts as unexpired).
    pub state: Vec<StateLease>,
    /// Every `agent_database_leases` row, live or stale.
    pub registrations: Vec<Registration>,
}

impl Leases {
    /// The first unexpired lease during which nobody else writes.
    pub fn exclusive(&self) -> Option<&StateLease> {
        self.state.iter().find(|l| l.exclusive())
    }

    pub fn gateway_owner(&self) -> Option<&StateLease> {
        self.state.iter().find(|l| l.scope == GATEWAY_OWNER)
    }

    /// Refuse a write while an exclusive lease is held (exit 3, naming it); a gateway's
    /// ownership and the processes' registrations are no reason to refuse.
    pub fn check_writable(&self) -> Result<()> {
        if let Some(l) = self.exclusive() {
            let until = l.expires_at.map(|e| format!(" until {}", crate::text::rfc3339_ms(e))).unwrap_or_default();
            let what = if l.scope == "startup-migrations" {
                "a starting gateway is migrating the databases"
            } else {
                "OpenClaw's doctor or database maintenance is running"
            };
            return Err(Error::lock_held(
                format!(
                    "{}: state_leases holds {}/{} by {}{until}: {what}",
                    self.db.display(),
                    l.scope,
                    l.key,
                    l.owner
                ),
                "wait for it to finish and try again; nobody else may write during it",
            ));
        }
        Ok(())
    }
}

/// Read the leases of a state dir; `None` when it has no state database.
pub fn read(state_dir: &Path, now_ms: i64) -> Result<Option<Leases>> {
    let p = crate::layout::load::state_db_path(state_dir);
    if !p.exists() {
        return Ok(None);
    }
    let db = store::open_ro(&p)?;
    let mut out = Leases { db: p.clone(), ..Leases::default() };
    let e = |x| Error::sqlite(&p, x);
    if db.has_table("state_leases")? {
        let cols = db.columns("state_leases")?;
        let opt = |c: &str| if cols.iter().any(|x| x == c) { c.to_string() } else { "NULL".to_string() };
        let sql = format!(
            "SELECT scope, lease_key, owner, expires_at, {}, {}, {} FROM state_leases WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY scope, lease_key",
            opt("heartbeat_at"),
            opt("created_at"),
            opt("payload_json")
        );
        let mut st = db.conn.prepare(&sql).map_err(e)?;
        let rows = st
            .query_map([now_ms], |r| {
                Ok(StateLease {
                    scope: r.get(0)?,
                    key: r.get(1)?,
                    owner: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    expires_at: r.get(3)?,
                    heartbeat_at: r.get(4)?,
                    created_at: r.get(5)?,
                    payload: r.get::<_, Option<String>>(6)?.and_then(|s| serde_json::from_str(&s).ok()),
                })
            })
            .map_err(e)?;
        for r in rows {
            out.state.push(r.map_err(e)?);
        }
    }
    if db.has_table("agent_database_leases")? {
        let cols = db.columns("agent_database_leases")?;
        let start = if cols.iter().any(|c| c == "owner_start_time") { "owner_start_time" } else { "NULL" };
        let mut st = db
            .conn
            .prepare(&format!("SELECT agent_id, path, owner_pid, {start} FROM agent_database_leases ORDER BY agent_id"))
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                // OpenClaw records the start time as a number; tolerate text
                let start: Option<i64> = match r.get_ref(3)? {
                    rusqlite::types::ValueRef::Integer(i) => Some(i),
                    rusqlite::types::ValueRef::Real(f) => Some(f as i64),
                    rusqlite::types::ValueRef::Text(t) => {
                        std::str::from_utf8(t).ok().and_then(|s| s.trim().parse().ok())
                    }
                    _ => None,
                };
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, start))
            })
            .map_err(e)?;
        for r in rows {
            let (agent_id, path, pid, start_time) = r.map_err(e)?;
            let live = crate::sys::same_process_alive(pid, start_time);
            out.registrations.push(Registration { agent_id, path, pid, start_time, live });
        }
    }
    Ok(Some(out))
}
