//! Which OpenClaw database schemas clawauth writes, decided from what matters to the tables it
//! writes: the primary schema version (`PRAGMA user_version` and `schema_meta('primary')`), the
//! other `schema_meta` scopes OpenClaw records (known per release), and the shape of the
//! written tables themselves (the columns clawauth reads and sets, and every trigger on them).
//! One verdict serves the loader (`status`, plans), the engine's preflight and the write
//! itself, so a database is refused for the same reason, in the same words, everywhere.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// Agent database `PRAGMA user_version`s written by the releases we have verified
/// (1: 2026.6.5 – 7.35; 23: 2026.9.6).
pub const KNOWN_AGENT_DB_VERSIONS: &[i64] = &[1, 23];
/// `state/openclaw.sqlite` `PRAGMA user_version`s written by verified releases (18: 2026.9.6).
pub const KNOWN_STATE_DB_VERSIONS: &[i64] = &[18];

/// `schema_meta` scopes besides `primary`, and the highest version a verified release wrote.
/// A 2026.9.6 gateway records its start-up data migrations here (`startup-migrations/global 3`,
/// `state-migrations/global 3`) when it first starts on a state dir; they move rows, not the
/// shape of the tables clawauth writes, which the primary version and the shape check cover.
const KNOWN_SCOPES: &[(&str, i64)] = &[("startup-migrations", 3), ("state-migrations", 3)];

/// The tables clawauth writes and the columns it reads or sets in them.
const WRITTEN: &[(&str, &[&str])] = &[
    ("auth_profile_store", &["store_key", "store_json", "updated_at"]),
    ("auth_profile_state", &["state_key", "state_json", "updated_at"]),
    ("config_machine_state", &["state_key", "value_json", "updated_at_ms"]),
    (
        "session_nodes",
        &[
            "session_key",
            "current_session_id",
            "entry_json",
            "entry_valid",
            "updated_at",
            "parent_session_key",
            "spawned_by",
            "fork_source_session_key",
        ],
    ),
];

/// Every trigger a verified release puts on a written table. clawauth redoes what each does
/// (`crate::layout::session_row`); a trigger it does not know could do what it cannot redo.
const KNOWN_TRIGGERS: &[&str] = &[
    "session_nodes_entry_valid_after_insert",
    "session_nodes_entry_valid_after_entry_update",
    "session_nodes_entry_valid_after_identity_update",
    "session_nodes_canonical_pending_after_insert",
    "session_nodes_canonical_pending_after_update",
    "session_nodes_canonical_pending_after_delete",
];

/// The primary schema versions a verified release wrote for this kind of database.
pub fn known_versions(db: &Path) -> &'static [i64] {
    if db.file_name().is_some_and(|n| n == "openclaw-agent.sqlite") {
        KNOWN_AGENT_DB_VERSIONS
    } else {
        KNOWN_STATE_DB_VERSIONS
    }
}

/// What a database says about its schema, and whether clawauth writes it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub user_version: i64,
    /// `(meta_key, role, schema_version)` of every `schema_meta` row.
    pub schema_meta: Vec<(String, String, i64)>,
    /// Why clawauth will not write this database (the part that is unknown), if it will not.
    pub refused: Option<String>,
}

fn q(db: &Path, e: impl std::fmt::Display) -> Error {
    Error::sqlite(db, e)
}

pub(crate) fn has_table(conn: &Connection, db: &Path, table: &str) -> Result<bool> {
    conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
    .map_err(|e| q(db, e))
}

/// The column names of a table, in order (empty when it does not exist).
pub(crate) fn columns(conn: &Connection, db: &Path, table: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT name FROM pragma_table_info(?1)").map_err(|e| q(db, e))?;
    let rows = st.query_map([table], |r| r.get(0)).map_err(|e| q(db, e))?;
    rows.collect::<rusqlite::Result<_>>().map_err(|e| q(db, e))
}

/// Read the schema markers and the shape of the written tables through `conn` (a read-only
/// connection, or the writer's own transaction) and decide.
pub fn verdict(conn: &Connection, db: &Path) -> Result<Verdict> {
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| q(db, e))?;
    let mut schema_meta = vec![];
    if has_table(conn, db, "schema_meta")? {
        let mut st = conn
            .prepare("SELECT meta_key, role, schema_version FROM schema_meta ORDER BY meta_key")
            .map_err(|e| q(db, e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            .map_err(|e| q(db, e))?;
        for r in rows {
            schema_meta.push(r.map_err(|e| q(db, e))?);
        }
    }
    let refused = refusal(conn, db, user_version, &schema_meta)?;
    Ok(Verdict { user_version, schema_meta, refused })
}

fn refusal(conn: &Connection, db: &Path, uv: i64, meta: &[(String, String, i64)]) -> Result<Option<String>> {
    let known = known_versions(db);
    if !known.contains(&uv) {
        return Ok(Some(format!("unknown schema version {uv} (user_version {uv}; verified: {known:?})")));
    }
    for (key, role, v) in meta {
        if key == "primary" {
            if !known.contains(v) {
                return Ok(Some(format!(
                    "unknown schema version {v} (schema_meta primary/{role} {v}, user_version {uv}; verified: {known:?})"
                )));
            }
            continue;
        }
        match KNOWN_SCOPES.iter().find(|(k, _)| k == key) {
            Some((_, max)) if v <= max => {}
            Some((_, max)) => {
                return Ok(Some(format!(
                    "unknown schema version {v} (schema_meta {key}/{role} {v}; verified releases write at most {max})"
                )))
            }
            None => {
                return Ok(Some(format!(
                    "unknown schema_meta scope `{key}` ({role} {v}) that no verified release writes"
                )))
            }
        }
    }
    for (table, cols) in WRITTEN {
        if !has_table(conn, db, table)? {
            continue;
        }
        let have = columns(conn, db, table)?;
        if let Some(c) = cols.iter().find(|c| !have.iter().any(|h| h == *c)) {
            return Ok(Some(format!("table {table} has no column {c}, which every verified release has")));
        }
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 ORDER BY name")
            .map_err(|e| q(db, e))?;
        let triggers: Vec<String> = st
            .query_map([table], |r| r.get(0))
            .map_err(|e| q(db, e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| q(db, e))?;
        if let Some(t) = triggers.iter().find(|t| !KNOWN_TRIGGERS.contains(&t.as_str())) {
            return Ok(Some(format!("table {table} has a trigger {t} that no verified release creates")));
        }
    }
    Ok(None)
}

/// The error for a refused database, naming it and the unknown part.
pub fn refused_error(db: &Path, why: &str) -> Error {
    Error::Refused(format!("{}: {why}; clawauth reads it but will not write", db.display()))
}
