//! OpenClaw's invariants of one `session_nodes` row (2026.8.1+), for the writer only: what its
//! validator requires of the entry and the columns beside it (2026.9.6
//! `validateCanonicalSessionRow` + `parseSqliteSessionEntryRecord`), and how its writer
//! (`writeSessionEntry`) leaves a row it wrote. Triggers reset `entry_valid` to 0 on every
//! `UPDATE OF entry_json | current_session_id | updated_at` and queue the row in
//! `session_canonical_validation_pending`; the writer then sets `entry_valid = 1` and removes
//! the queue mark (`certifyCanonicalSessionValidationRow`), in the same transaction. A running
//! gateway refuses every turn on a row whose `entry_valid` is not 1 ("invalid persisted session
//! row requires repair"), so clawauth never commits one.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use std::path::Path;

/// The table OpenClaw queues rows in for its start-up re-validation.
const PENDING: &str = "session_canonical_validation_pending";

/// The columns of a row that OpenClaw's validator compares with its entry.
#[derive(Debug, Clone)]
pub struct Row {
    pub current_session_id: String,
    pub updated_at: i64,
    pub entry_valid: i64,
    pub parent_session_key: Option<String>,
    pub spawned_by: Option<String>,
    pub fork_source_session_key: Option<String>,
    /// Queued for OpenClaw's own re-validation (a row in `session_canonical_validation_pending`).
    pub pending: bool,
}

fn has_pending_table(conn: &Connection, db: &Path) -> Result<bool> {
    super::schema::has_table(conn, db, PENDING)
}

/// The row's validated columns now, inside the caller's transaction (`None`: no such row).
pub fn read(conn: &Connection, db: &Path, key: &str) -> Result<Option<Row>> {
    let row = conn
        .query_row(
            "SELECT current_session_id, updated_at, entry_valid, parent_session_key, spawned_by, \
             fork_source_session_key FROM session_nodes WHERE session_key = ?1",
            [key],
            |r| {
                Ok(Row {
                    current_session_id: r.get(0)?,
                    updated_at: r.get(1)?,
                    entry_valid: r.get(2)?,
                    parent_session_key: r.get(3)?,
                    spawned_by: r.get(4)?,
                    fork_source_session_key: r.get(5)?,
                    pending: false,
                })
            },
        )
        .optional()
        .map_err(|e| Error::sqlite(db, format!("session_nodes[{key}]: {e}")))?;
    let Some(mut row) = row else { return Ok(None) };
    if has_pending_table(conn, db)? {
        row.pending = conn
            .query_row(&format!("SELECT count(*) FROM {PENDING} WHERE session_key = ?1"), [key], |r| r.get::<_, i64>(0))
            .map_err(|e| Error::sqlite(db, e))?
            > 0;
    }
    Ok(Some(row))
}

/// A string column's counterpart in the entry: absent or null is `None`; any other non-string
/// can never equal a TEXT column (`Err`).
fn text_field(v: Option<&Value>) -> std::result::Result<Option<&str>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// The entry's `updatedAt` as the integer OpenClaw stores beside it, if it is one.
pub fn entry_updated_at(entry: &[u8]) -> Option<i64> {
    let v: Value = serde_json::from_slice(entry).ok()?;
    let t = v.get("updatedAt")?;
    t.as_i64()
        .or_else(|| t.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

/// Would OpenClaw accept `entry` in this row, with `updated_at` set to `updated_at`? `Err`
/// says what its validator would reject.
pub fn check(row: &Row, entry: &[u8], updated_at: i64) -> std::result::Result<(), String> {
    let v: Value = serde_json::from_slice(entry).map_err(|e| format!("the entry is not JSON ({e})"))?;
    let Some(obj) = v.as_object() else { return Err("the entry is not a JSON object".into()) };
    let Some(session_id) = obj.get("sessionId").and_then(Value::as_str) else {
        return Err("the entry has no string sessionId".into());
    };
    let Some(entry_updated) = obj.get("updatedAt").and_then(Value::as_f64).filter(|f| f.is_finite()) else {
        return Err("the entry has no finite numeric updatedAt".into());
    };
    if session_id != row.current_session_id {
        return Err(format!(
            "the entry's sessionId {session_id:?} is not the row's current_session_id {:?}",
            row.current_session_id
        ));
    }
    if entry_updated != updated_at as f64 {
        return Err(format!("the entry's updatedAt {entry_updated} is not the row's updated_at {updated_at}"));
    }
    let lineage = |name: &str, col: &Option<String>, field: std::result::Result<Option<&str>, ()>| match field {
        Ok(f) if f == col.as_deref() => Ok(()),
        _ => Err(format!("the entry's {name} does not match the row's lineage column ({col:?})")),
    };
    let spawned = text_field(obj.get("spawnedBy"));
    let parent = match text_field(obj.get("parentSessionKey")) {
        Ok(None) => spawned,
        other => other,
    };
    lineage("parentSessionKey", &row.parent_session_key, parent)?;
    lineage("spawnedBy", &row.spawned_by, spawned)?;
    let fork = match obj.get("forkSource") {
        Some(Value::Object(f)) => text_field(f.get("sessionKey")),
        _ => Ok(None),
    };
    lineage("forkSource.sessionKey", &row.fork_source_session_key, fork)
}

/// The `updated_at` a write of `entry` into this row sets (the entry's own `updatedAt`,
/// 2026.9.6 `bindSessionNode`), once OpenClaw's validator is known to accept the row with it.
pub fn accept(row: &Row, db: &Path, key: &str, entry: &[u8]) -> Result<i64> {
    // without an integer updatedAt the check refuses the entry
    let updated_at = entry_updated_at(entry).unwrap_or(row.updated_at);
    check(row, entry, updated_at).map_err(|why| rejected(db, key, &why))?;
    Ok(updated_at)
}

/// Leave a row as OpenClaw's writer does after writing it: `entry_valid = 1`, and the queue
/// mark our write's trigger added removed. A mark that was there before (`was_pending`) is
/// left for OpenClaw's own start-up validation, which checks more than the entry.
pub fn settle(conn: &Connection, db: &Path, key: &str, was_pending: bool) -> Result<()> {
    conn.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key = ?1", [key])
        .map_err(|e| Error::sqlite(db, format!("session_nodes[{key}]: cannot mark valid: {e}")))?;
    if !was_pending && has_pending_table(conn, db)? {
        conn.execute(&format!("DELETE FROM {PENDING} WHERE session_key = ?1"), [key])
            .map_err(|e| Error::sqlite(db, format!("{PENDING}[{key}]: {e}")))?;
    }
    Ok(())
}

/// The error for an entry OpenClaw would reject: the change is refused (exit 1, a state
/// problem, not a conflict), the row left as it is.
pub fn rejected(db: &Path, key: &str, why: &str) -> Error {
    Error::bad(
        format!("{}#session_nodes[{key}]", db.display()),
        format!(
            "OpenClaw would reject this session row after the change: {why}; nothing written \
             (to rebuild the row, stop the gateway and run `openclaw doctor --fix`)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            current_session_id: "s1".into(),
            updated_at: 10,
            entry_valid: 1,
            parent_session_key: None,
            spawned_by: None,
            fork_source_session_key: None,
            pending: false,
        }
    }

    #[test]
    fn accepts_what_openclaw_accepts() {
        assert_eq!(check(&row(), br#"{"sessionId":"s1","updatedAt":10,"authProfileOverride":"p"}"#, 10), Ok(()));
        let mut r = row();
        r.parent_session_key = Some("agent:main:main".into());
        r.spawned_by = Some("agent:main:main".into());
        assert_eq!(check(&r, br#"{"sessionId":"s1","updatedAt":10,"spawnedBy":"agent:main:main"}"#, 10), Ok(()));
    }

    #[test]
    fn rejects_what_openclaw_rejects() {
        for (entry, what) in [
            (&br#"[]"#[..], "not a JSON object"),
            (br#"{"updatedAt":10}"#, "sessionId"),
            (br#"{"sessionId":"s1","updatedAt":"10"}"#, "updatedAt"),
            (br#"{"sessionId":"s2","updatedAt":10}"#, "current_session_id"),
            (br#"{"sessionId":"s1","updatedAt":11}"#, "updated_at"),
            (br#"{"sessionId":"s1","updatedAt":10,"spawnedBy":"agent:main:x"}"#, "parentSessionKey"),
            (br#"{"sessionId":"s1","updatedAt":10,"forkSource":{"sessionKey":"k"}}"#, "forkSource"),
            (br#"{"sessionId":"s1","updatedAt":10,"parentSessionKey":7}"#, "parentSessionKey"),
        ] {
            let e = check(&row(), entry, 10).unwrap_err();
            assert!(e.contains(what), "{e} should mention {what}");
        }
    }
}
