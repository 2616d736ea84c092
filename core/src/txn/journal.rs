//! The SQLite journal: every transaction's intent, changes, pre-images and outcome. Schema from
//! the top-level `migrations/` folder, applied in one transaction and recorded in
//! `PRAGMA user_version`; a journal newer than this binary is refused. WAL with
//! `synchronous=FULL`; the file is 0600 in a 0700 directory because it holds credentials.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::layout::store::Location;
use crate::txn::plan::{Change, Plan, Step};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MIGRATIONS: &[&str] =
    &[include_str!("../../migrations/0001_journal.sql"), include_str!("../../migrations/0002_usage.sql")];
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
/// Documents up to this size get a full byte pre-image.
pub const SNAPSHOT_LIMIT: u64 = 256 * 1024;

pub struct Journal {
    pub conn: Connection,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct TxnRow {
    pub id: i64,
    pub kind: String,
    pub workflow: String,
    pub summary: String,
    pub argv: Vec<String>,
    pub user: String,
    pub host: String,
    pub tool_version: String,
    pub state_dir: String,
    pub agent: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub status: String,
    pub reverts_txn: Option<i64>,
    pub forced: bool,
    pub error: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub existed: bool,
    pub sha256: Option<String>,
    pub mode: Option<u32>,
    pub content: Option<Vec<u8>>,
}

pub fn default_path(state_dir: &Path) -> PathBuf {
    state_dir.join(".clawauth").join("journal.db")
}

fn j(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::journal(path, e)
}

impl Journal {
    /// How many documents (steps) each of these transactions touched.
    pub fn document_counts(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, i64>> {
        let mut out = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let (lo, hi) = (ids.iter().min().copied().unwrap_or(0), ids.iter().max().copied().unwrap_or(0));
        let mut st = self
            .conn
            .prepare("SELECT txn_id, count(*) FROM step WHERE txn_id BETWEEN ?1 AND ?2 GROUP BY txn_id")
            .map_err(|e| Error::journal(&self.path, e))?;
        let rows = st
            .query_map([lo, hi], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| Error::journal(&self.path, e))?;
        for r in rows {
            let (id, n) = r.map_err(|e| Error::journal(&self.path, e))?;
            out.insert(id, n);
        }
        Ok(out)
    }

    /// The journal at `path`, if one exists (read-only commands never create it).
    pub fn open(path: &Path) -> Result<Option<Journal>> {
        Self::open_or_create(path, false)
    }

    /// The journal at `path`, created (0600 in a 0700 directory) when missing.
    pub fn create(path: &Path) -> Result<Journal> {
        Self::open_or_create(path, true)?.ok_or_else(|| Error::journal(path, "could not be created"))
    }

    /// Open (creating when `create`) and migrate. `Ok(None)` when absent and not creating.
    fn open_or_create(path: &Path, create: bool) -> Result<Option<Journal>> {
        if !path.exists() {
            if !create {
                return Ok(None);
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(dir, e))?;
            }
            // create the file 0600 before SQLite does, so no window exists with wider modes
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_0600()
                .open(path)
                .map_err(|e| Error::io(path, e))?;
        }
        let mut head = [0u8; 16];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
            if n > 0 && (n < 16 || &head != b"SQLite format 3\0") {
                return Err(j(
                    path,
                    "is not an SQLite database (corrupted journal?); move it aside to start a new one",
                ));
            }
        }
        let conn = Connection::open(path).map_err(|e| j(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| j(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| j(path, format!("cannot use it: {e}")))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| j(path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| j(path, e))?;
        let mut jr = Journal { conn, path: path.to_path_buf() };
        jr.migrate()?;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
        Ok(Some(jr))
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let v: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| j(&path, e))?;
        if v > SCHEMA_VERSION {
            return Err(j(
                &path,
                format!(
                    "schema version {v} is newer than this clawauth understands ({SCHEMA_VERSION}); upgrade clawauth"
                ),
            ));
        }
        if v == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(|e| j(&path, e))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            tx.execute_batch(m).map_err(|e| j(&path, format!("migration {}: {e}", i + 1)))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| j(&path, e))?;
        tx.commit().map_err(|e| j(&path, e))
    }

    /// Record a plan: status `planned` (dry run) or `applying` (intent, before any write), with
    /// every change and the pre-image of each small document, in one SQLite transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        ctx: &Context,
        plan: &Plan,
        kind: &str,
        status: &str,
        argv: &[String],
        state_dir: &Path,
        reverts: Option<i64>,
        forced: bool,
        snapshots: &[Snapshot],
    ) -> Result<i64> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| j(&path, e))?;
        let now = ctx.now_rfc3339();
        tx.execute(
            "INSERT INTO txn (kind, workflow, summary, argv, user, host, tool_version, state_dir, agent, created_at, started_at, status, reverts_txn, forced, notes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                kind,
                plan.workflow,
                plan.summary,
                serde_json::to_string(argv).unwrap_or_default(),
                ctx.user,
                ctx.host,
                env!("CARGO_PKG_VERSION"),
                state_dir.display().to_string(),
                plan.agent,
                now,
                if status == "applying" { Some(now.clone()) } else { None },
                status,
                reverts,
                forced as i64,
                serde_json::to_string(&plan.notes).unwrap_or_default(),
            ],
        )
        .map_err(|e| j(&path, e))?;
        let id = tx.last_insert_rowid();
        for (si, step) in plan.steps.iter().enumerate() {
            tx.execute(
                "INSERT INTO step (txn_id, step_no, location, title) VALUES (?1, ?2, ?3, ?4)",
                params![id, si as i64 + 1, serde_json::to_string(&step.location).unwrap_or_default(), step.title],
            )
            .map_err(|e| j(&path, e))?;
            for (ci, c) in step.changes.iter().enumerate() {
                tx.execute(
                    "INSERT INTO change (txn_id, step_no, change_no, pointer, before, after, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, si as i64 + 1, ci as i64 + 1, c.pointer, c.before.as_ref().map(|v| v.to_string()), c.after.as_ref().map(|v| v.to_string()), c.position.map(|p| p as i64)],
                )
                .map_err(|e| j(&path, e))?;
            }
            if let Some(s) = snapshots.get(si) {
                tx.execute(
                    "INSERT INTO snapshot (txn_id, step_no, existed, sha256, mode, size, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, si as i64 + 1, s.existed as i64, s.sha256, s.mode, s.content.as_ref().map(|c| c.len() as i64), s.content],
                )
                .map_err(|e| j(&path, e))?;
            }
        }
        tx.commit().map_err(|e| j(&path, e))?;
        Ok(id)
    }

    pub fn add_snapshots(&mut self, id: i64, snapshots: &[Snapshot]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| j(&path, e))?;
        for (i, s) in snapshots.iter().enumerate() {
            tx.execute(
                "INSERT OR REPLACE INTO snapshot (txn_id, step_no, existed, sha256, mode, size, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, i as i64 + 1, s.existed as i64, s.sha256, s.mode, s.content.as_ref().map(|c| c.len() as i64), s.content],
            )
            .map_err(|e| j(&path, e))?;
        }
        tx.commit().map_err(|e| j(&path, e))
    }

    pub fn set_status(&self, ctx: &Context, id: i64, status: &str, error: Option<&str>) -> Result<()> {
        let ended = matches!(status, "applied" | "failed" | "rolled back").then(|| ctx.now_rfc3339());
        let started = (status == "applying").then(|| ctx.now_rfc3339());
        self.conn
            .execute(
                "UPDATE txn SET status = ?2, error = COALESCE(?3, error), ended_at = COALESCE(?4, ended_at), started_at = COALESCE(?5, started_at) WHERE id = ?1",
                params![id, status, error, ended, started],
            )
            .map_err(|e| j(&self.path, e))?;
        Ok(())
    }

    fn row(r: &rusqlite::Row) -> rusqlite::Result<TxnRow> {
        let argv: String = r.get("argv")?;
        let notes: String = r.get("notes")?;
        Ok(TxnRow {
            id: r.get("id")?,
            kind: r.get("kind")?,
            workflow: r.get("workflow")?,
            summary: r.get("summary")?,
            argv: serde_json::from_str(&argv).unwrap_or_default(),
            user: r.get("user")?,
            host: r.get("host")?,
            tool_version: r.get("tool_version")?,
            state_dir: r.get("state_dir")?,
            agent: r.get("agent")?,
            created_at: r.get("created_at")?,
            started_at: r.get("started_at")?,
            ended_at: r.get("ended_at")?,
            status: r.get("status")?,
            reverts_txn: r.get("reverts_txn")?,
            forced: r.get::<_, i64>("forced")? != 0,
            error: r.get("error")?,
            notes: serde_json::from_str(&notes).unwrap_or_default(),
        })
    }

    pub fn txn(&self, id: i64) -> Result<Option<TxnRow>> {
        self.conn.query_row("SELECT * FROM txn WHERE id = ?1", [id], Self::row).optional().map_err(|e| j(&self.path, e))
    }

    /// Newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<TxnRow>> {
        let mut st = self.conn.prepare("SELECT * FROM txn ORDER BY id DESC LIMIT ?1").map_err(|e| j(&self.path, e))?;
        let rows = st.query_map([limit as i64], Self::row).map_err(|e| j(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| j(&self.path, e))
    }

    pub fn with_status(&self, status: &str) -> Result<Vec<TxnRow>> {
        let mut st =
            self.conn.prepare("SELECT * FROM txn WHERE status = ?1 ORDER BY id").map_err(|e| j(&self.path, e))?;
        let rows = st.query_map([status], Self::row).map_err(|e| j(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| j(&self.path, e))
    }

    /// `discard`: a planned transaction that must never run. One conditional write, so of a
    /// racing `apply` and `discard` of it exactly one wins; `false` when it was not planned.
    /// Kept as `rolled back` (nothing of it was ever written) with who discarded it and when.
    pub fn discard_planned(&self, ctx: &Context, id: i64) -> Result<bool> {
        let why = format!("discarded by {}@{} at {}", ctx.user, ctx.host, ctx.now_rfc3339());
        let n = self
            .conn
            .execute(
                "UPDATE txn SET status = 'rolled back', error = ?2, ended_at = ?3 WHERE id = ?1 AND status = 'planned'",
                params![id, why, ctx.now_rfc3339()],
            )
            .map_err(|e| j(&self.path, e))?;
        Ok(n == 1)
    }

    /// The undo transactions that reverted `id` and were applied.
    pub fn reverted_by(&self, id: i64) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM txn WHERE reverts_txn = ?1 AND kind = 'undo' AND status = 'applied' ORDER BY id")
            .map_err(|e| j(&self.path, e))?;
        let rows = st.query_map([id], |r| r.get(0)).map_err(|e| j(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<i64>>>().map_err(|e| j(&self.path, e))
    }

    pub fn steps(&self, id: i64) -> Result<Vec<Step>> {
        let mut st = self
            .conn
            .prepare("SELECT step_no, location, title FROM step WHERE txn_id = ?1 ORDER BY step_no")
            .map_err(|e| j(&self.path, e))?;
        let rows = st
            .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(|e| j(&self.path, e))?;
        let mut out = vec![];
        let mut cst = self
            .conn
            .prepare("SELECT pointer, before, after, position FROM change WHERE txn_id = ?1 AND step_no = ?2 ORDER BY change_no")
            .map_err(|e| j(&self.path, e))?;
        for r in rows {
            let (no, loc, title) = r.map_err(|e| j(&self.path, e))?;
            let location: Location =
                serde_json::from_str(&loc).map_err(|e| j(&self.path, format!("step {no} location: {e}")))?;
            let parse = |t: Option<String>| -> rusqlite::Result<Option<serde_json::Value>> {
                Ok(t.and_then(|t| serde_json::from_str(&t).ok()))
            };
            let changes = cst
                .query_map(params![id, no], |r| {
                    Ok(Change {
                        pointer: r.get(0)?,
                        before: parse(r.get(1)?)?,
                        after: parse(r.get(2)?)?,
                        position: r.get::<_, Option<i64>>(3)?.map(|p| p as usize),
                    })
                })
                .map_err(|e| j(&self.path, e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| j(&self.path, e))?;
            out.push(Step { location, title, changes });
        }
        Ok(out)
    }

    pub fn plan(&self, row: &TxnRow) -> Result<Plan> {
        Ok(Plan {
            workflow: row.workflow.clone(),
            summary: row.summary.clone(),
            agent: row.agent.clone(),
            steps: self.steps(row.id)?,
            notes: row.notes.clone(),
        })
    }

    pub fn snapshots(&self, id: i64) -> Result<Vec<(i64, Snapshot)>> {
        let mut st = self
            .conn
            .prepare("SELECT step_no, existed, sha256, mode, content FROM snapshot WHERE txn_id = ?1 ORDER BY step_no")
            .map_err(|e| j(&self.path, e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Snapshot {
                        existed: r.get::<_, i64>(1)? != 0,
                        sha256: r.get(2)?,
                        mode: r.get(3)?,
                        content: r.get(4)?,
                    },
                ))
            })
            .map_err(|e| j(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| j(&self.path, e))
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}
impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}
