//! The journal's record of a guarded OpenClaw upgrade (schema 5, `migrations/0005_migrate.sql`):
//! one `migration` row per migration transaction and the trees it took (`before`, `migrated`,
//! `final`). All SQL about migrations lives here.

use crate::error::{Error, Result};
use crate::txn::journal::Journal;
use crate::txn::tree::{Entry, Kind, Tree};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Snapshot and identities recorded; OpenClaw has not run (or the operator runs it).
    Before,
    /// OpenClaw ran; clawauth's repairs are not applied yet.
    Migrated,
    /// Repairs applied (or none were needed).
    Complete,
    /// An undo started and did not finish: `undo` again finishes it.
    Undoing,
    Undone,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::Migrated => "migrated",
            Phase::Complete => "complete",
            Phase::Undoing => "undoing",
            Phase::Undone => "undone",
        }
    }
    fn parse(s: &str) -> Phase {
        match s {
            "migrated" => Phase::Migrated,
            "complete" => Phase::Complete,
            "undoing" => Phase::Undoing,
            "undone" => Phase::Undone,
            _ => Phase::Before,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationRow {
    pub txn_id: i64,
    pub phase: Phase,
    pub store: String,
    pub openclaw: Option<String>,
    pub release_from: Option<String>,
    pub release_to: Option<String>,
    pub layout_from: Option<String>,
    pub layout_to: Option<String>,
    pub record_before: Value,
    pub record_migrated: Option<Value>,
    pub record_final: Option<Value>,
    pub command: Option<Vec<String>>,
    pub exit_code: Option<i64>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub ran_ms: Option<i64>,
    pub repair_txn: Option<i64>,
    pub undo_txn: Option<i64>,
}

fn j(jr: &Journal, e: impl std::fmt::Display) -> Error {
    Error::journal(&jr.path, e)
}

/// Record the start of a migration (the txn row exists already) and its `before` tree.
pub fn insert(jr: &mut Journal, row: &MigrationRow, before: &Tree) -> Result<()> {
    let path = jr.path.clone();
    let tx = jr.conn.transaction().map_err(|e| Error::journal(&path, e))?;
    tx.execute(
        "INSERT INTO migration (txn_id, phase, store, openclaw, release_from, layout_from, record_before) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            row.txn_id,
            row.phase.as_str(),
            row.store,
            row.openclaw,
            row.release_from,
            row.layout_from,
            row.record_before.to_string()
        ],
    )
    .map_err(|e| Error::journal(&path, e))?;
    save_tree_tx(&tx, &path, row.txn_id, "before", before)?;
    tx.commit().map_err(|e| Error::journal(&path, e))
}

fn save_tree_tx(tx: &rusqlite::Transaction, path: &std::path::Path, id: i64, name: &str, tree: &Tree) -> Result<()> {
    tx.execute("DELETE FROM tree_entry WHERE txn_id = ?1 AND tree = ?2", params![id, name])
        .map_err(|e| Error::journal(path, e))?;
    let mut st = tx
        .prepare("INSERT INTO tree_entry (txn_id, tree, path, kind, size, mode, sha256, target) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .map_err(|e| Error::journal(path, e))?;
    for (p, e) in tree {
        st.execute(params![id, name, p, e.kind.as_str(), e.size.map(|s| s as i64), e.mode, e.sha256, e.target])
            .map_err(|e| Error::journal(path, e))?;
    }
    Ok(())
}

pub fn save_tree(jr: &mut Journal, id: i64, name: &str, tree: &Tree) -> Result<()> {
    let path = jr.path.clone();
    let tx = jr.conn.transaction().map_err(|e| Error::journal(&path, e))?;
    save_tree_tx(&tx, &path, id, name, tree)?;
    tx.commit().map_err(|e| Error::journal(&path, e))
}

pub fn load_tree(jr: &Journal, id: i64, name: &str) -> Result<Option<Tree>> {
    let mut st = jr
        .conn
        .prepare("SELECT path, kind, size, mode, sha256, target FROM tree_entry WHERE txn_id = ?1 AND tree = ?2 ORDER BY path")
        .map_err(|e| j(jr, e))?;
    let rows = st
        .query_map(params![id, name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .map_err(|e| j(jr, e))?;
    let mut out = Tree::new();
    for r in rows {
        let (p, kind, size, mode, sha, target) = r.map_err(|e| j(jr, e))?;
        let kind = Kind::parse(&kind).ok_or_else(|| j(jr, format!("tree entry {p}: unknown kind {kind}")))?;
        out.insert(
            p,
            Entry { kind, size: size.map(|s| s as u64), mode: mode.unwrap_or(0) as u32, sha256: sha, target },
        );
    }
    Ok((!out.is_empty()).then_some(out))
}

pub fn set_phase(jr: &Journal, id: i64, phase: Phase) -> Result<()> {
    jr.conn
        .execute("UPDATE migration SET phase = ?2 WHERE txn_id = ?1", params![id, phase.as_str()])
        .map_err(|e| j(jr, e))?;
    Ok(())
}

/// What OpenClaw's run came to.
pub struct Ran<'a> {
    pub openclaw: &'a str,
    pub release_to: Option<String>,
    pub command: &'a [String],
    pub exit_code: Option<i64>,
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub ran_ms: i64,
}

pub fn set_ran(jr: &Journal, id: i64, r: &Ran) -> Result<()> {
    jr.conn
        .execute(
            "UPDATE migration SET openclaw = ?2, release_to = COALESCE(?3, release_to), command = ?4, exit_code = ?5, stdout = ?6, stderr = ?7, ran_ms = ?8 WHERE txn_id = ?1",
            params![
                id,
                r.openclaw,
                r.release_to,
                serde_json::to_string(r.command).unwrap_or_default(),
                r.exit_code,
                r.stdout,
                r.stderr,
                r.ran_ms
            ],
        )
        .map_err(|e| j(jr, e))?;
    Ok(())
}

/// The state right after OpenClaw's migration: its layout, release and record.
pub fn set_migrated(jr: &Journal, id: i64, release_to: Option<&str>, layout_to: &str, record: &Value) -> Result<()> {
    jr.conn
        .execute(
            "UPDATE migration SET phase = 'migrated', release_to = COALESCE(?2, release_to), layout_to = ?3, record_migrated = ?4 WHERE txn_id = ?1",
            params![id, release_to, layout_to, record.to_string()],
        )
        .map_err(|e| j(jr, e))?;
    Ok(())
}

pub fn set_final(jr: &Journal, id: i64, repair_txn: Option<i64>, record: &Value) -> Result<()> {
    jr.conn
        .execute(
            "UPDATE migration SET phase = 'complete', repair_txn = ?2, record_final = ?3 WHERE txn_id = ?1",
            params![id, repair_txn, record.to_string()],
        )
        .map_err(|e| j(jr, e))?;
    Ok(())
}

pub fn set_undo(jr: &Journal, id: i64, undo_txn: i64, phase: Phase) -> Result<()> {
    jr.conn
        .execute(
            "UPDATE migration SET phase = ?3, undo_txn = ?2 WHERE txn_id = ?1",
            params![id, undo_txn, phase.as_str()],
        )
        .map_err(|e| j(jr, e))?;
    Ok(())
}

/// The migration recorded for transaction `id`, if it is one. A journal older than schema 5
/// (opened read-only, not migrated) has none.
pub fn get(jr: &Journal, id: i64) -> Result<Option<MigrationRow>> {
    let has: bool = jr
        .conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migration'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| j(jr, e))?
        > 0;
    if !has {
        return Ok(None);
    }
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
    jr.conn
        .query_row("SELECT * FROM migration WHERE txn_id = ?1", [id], |r| {
            Ok(MigrationRow {
                txn_id: r.get("txn_id")?,
                phase: Phase::parse(&r.get::<_, String>("phase")?),
                store: r.get("store")?,
                openclaw: r.get("openclaw")?,
                release_from: r.get("release_from")?,
                release_to: r.get("release_to")?,
                layout_from: r.get("layout_from")?,
                layout_to: r.get("layout_to")?,
                record_before: parse(r.get("record_before")?).unwrap_or(Value::Null),
                record_migrated: parse(r.get("record_migrated")?),
                record_final: parse(r.get("record_final")?),
                command: r.get::<_, Option<String>>("command")?.and_then(|s| serde_json::from_str(&s).ok()),
                exit_code: r.get("exit_code")?,
                stdout: r.get("stdout")?,
                stderr: r.get("stderr")?,
                ran_ms: r.get("ran_ms")?,
                repair_txn: r.get("repair_txn")?,
                undo_txn: r.get("undo_txn")?,
            })
        })
        .optional()
        .map_err(|e| j(jr, e))
}

/// The newest migration still waiting for `--after` (phase before or migrated).
pub fn pending(jr: &Journal) -> Result<Option<i64>> {
    let has: bool = jr
        .conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migration'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| j(jr, e))?
        > 0;
    if !has {
        return Ok(None);
    }
    jr.conn
        .query_row(
            "SELECT txn_id FROM migration WHERE phase IN ('before', 'migrated') ORDER BY txn_id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| j(jr, e))
}
