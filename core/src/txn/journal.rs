//! The SQLite journal: every transaction's intent, changes, pre-images and outcome, and the
//! usage snapshots `usage --record` keeps (the migration tables are `txn/migration.rs`'s).
//! Schema from the top-level `migrations/` folder, applied in one transaction and recorded in
//! `PRAGMA user_version`; a journal newer than this binary is refused. WAL with
//! `synchronous=FULL`; the file is 0600 in a 0700 directory because it holds credentials.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::layout::store::Location;
use crate::txn::plan::{Change, Plan, Step};
use crate::txn::status::{TxnKind, TxnStatus};
use crate::txn::writer_lock::Owner;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_journal.sql"),
    include_str!("../../migrations/0002_usage.sql"),
    include_str!("../../migrations/0003_owner.sql"),
    include_str!("../../migrations/0004_settle.sql"),
    include_str!("../../migrations/0005_migrate.sql"),
];
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
/// `PRAGMA application_id` of a clawauth journal ("ClAu"), set by migration 3.
pub const APPLICATION_ID: i64 = 0x436c_4175;
/// Documents up to this size get a full byte pre-image.
pub const SNAPSHOT_LIMIT: u64 = 256 * 1024;

pub struct Journal {
    pub conn: Connection,
    pub path: PathBuf,
    /// No journal file yet: an empty in-memory one stands in until the first transaction is
    /// recorded, so a run that records nothing leaves the state dir untouched.
    pending: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TxnRow {
    pub id: i64,
    pub kind: TxnKind,
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
    pub status: TxnStatus,
    pub reverts_txn: Option<i64>,
    pub forced: bool,
    pub error: Option<String>,
    pub notes: Vec<String>,
    /// What the running gateway made of it (`txn::settle::Settle` as JSON), if one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle: Option<serde_json::Value>,
    #[serde(skip)]
    pub owner: Option<Owner>,
}

/// One `usage_snapshot` row (`usage --record`): a profile's usage windows, or why they could
/// not be read, at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct UsageSnapshot {
    pub id: i64,
    pub taken_at: String,
    pub profile_id: String,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub windows: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// A `usage_snapshot` row to record: what [`UsageSnapshot`] holds, before it has an id.
#[derive(Debug, Clone)]
pub struct NewUsageSnapshot {
    pub profile_id: String,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub windows: Option<serde_json::Value>,
    pub error: Option<String>,
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

/// A status read from the journal at `path`; one this clawauth does not know is an error
/// naming the journal and the transaction.
fn parse_status(path: &Path, id: i64, s: &str) -> Result<TxnStatus> {
    s.parse().map_err(|e| j(path, format!("transaction {id}: {e}")))
}

fn parse_kind(path: &Path, id: i64, s: &str) -> Result<TxnKind> {
    s.parse().map_err(|e| j(path, format!("transaction {id}: {e}")))
}

fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// What an SQLite file is, judged from its header fields and tables without writing a byte.
fn identify(conn: &Connection, path: &Path) -> Result<()> {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| j(path, e))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| j(path, e))?;
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .map_err(|e| j(path, format!("cannot read it as a database: {e}")))?;
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .and_then(|r| r.collect())
        .map_err(|e| j(path, format!("cannot read it as a database: {e}")))?;
    let has = |t: &str| tables.iter().any(|x| x == t);
    let ours = app == APPLICATION_ID
        // journals of schema 1 and 2 predate the application_id
        || (app == 0 && (1..=2).contains(&version) && ["txn", "step", "change", "snapshot"].iter().all(|t| has(t)))
        || (app == 0 && version == 0 && tables.is_empty());
    if ours {
        if version > SCHEMA_VERSION {
            return Err(j(
                path,
                format!(
                    "schema version {version} is newer than this clawauth understands ({SCHEMA_VERSION}); upgrade clawauth"
                ),
            ));
        }
        return Ok(());
    }
    let shown: Vec<&str> = tables.iter().take(6).map(String::as_str).collect();
    let what = if has("session_nodes") || has("auth_profile_store") || has("config_machine_state") {
        format!("this is OpenClaw's agent database (tables {}), not a clawauth journal", shown.join(", "))
    } else if app != 0 {
        format!("this SQLite database belongs to another program (application_id {app:#x}), not clawauth")
    } else if tables.is_empty() {
        format!("this SQLite database has no tables but user_version {version}: not a clawauth journal")
    } else {
        format!("this SQLite database (tables {}) is not a clawauth journal", shown.join(", "))
    };
    Err(Error::conflict_hint(
        format!("{}: {what}; nothing was written to it", path.display()),
        "point --journal at clawauth's own journal, or at a path that does not exist yet",
    ))
}

fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
    if n > 0 && (n < 16 || &head != b"SQLite format 3\0") {
        return Err(j(path, "is not an SQLite database (corrupted journal?); move it aside to start a new one"));
    }
    Ok(())
}

/// `file:` URI of `path` opened `immutable`: SQLite then takes no lock and creates no `-wal` or
/// `-shm` — the way to look at a database that may not be ours without touching it.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => uri.push(*b as char),
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn ro_flags() -> rusqlite::OpenFlags {
    use rusqlite::OpenFlags;
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
}

/// Judge a database without writing a byte (no WAL switch, no `-shm`, no checkpoint on close).
fn identify_untouched(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(immutable_uri(path), ro_flags()).map_err(|e| j(path, e))?;
    identify(&conn, path)
}

fn writable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else { return false };
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// A reader's connection to our own journal (it only ever reads). Where the directory is
/// writable, an ordinary connection: beside a running writer it shares the WAL, and as the last
/// to close it removes the `-wal`/`-shm` it made, leaving the directory as it found it.
/// Elsewhere read-only; with no `-shm` makeable and no `-wal` the main file is complete: read it
/// immutable.
fn connect_read_only(path: &Path) -> Result<Connection> {
    if writable(parent_dir(path)) && writable(path) {
        let conn = Connection::open(path).map_err(|e| j(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| j(path, e))?;
        return Ok(conn);
    }
    let conn = Connection::open_with_flags(path, ro_flags()).map_err(|e| j(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| j(path, e))?;
    match conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(conn),
        Err(e) if with_suffix(path, "-wal").exists() => Err(j(path, e)),
        Err(_) => {
            drop(conn);
            Connection::open_with_flags(immutable_uri(path), ro_flags()).map_err(|e| j(path, e))
        }
    }
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
            Self::create_file(path)?;
        }
        Self::open_existing(path).map(Some)
    }

    /// The journal for a writer: the file when it exists, else an empty stand-in that becomes
    /// the file when the first transaction is recorded.
    pub fn open_lazy(path: &Path) -> Result<Journal> {
        if path.exists() {
            return Self::open_existing(path);
        }
        let conn = Connection::open_in_memory().map_err(|e| j(path, e))?;
        let mut jr = Journal { conn, path: path.to_path_buf(), pending: true };
        jr.migrate()?;
        Ok(jr)
    }

    /// For `log`, `show` and other readers: read-only, no migration, works in a read-only
    /// directory and beside a running writer. `Ok(None)` when absent.
    pub fn open_read_only(path: &Path) -> Result<Option<Journal>> {
        if !path.exists() {
            return Ok(None);
        }
        check_header(path)?;
        identify_untouched(path)?;
        let conn = connect_read_only(path)?;
        identify(&conn, path)?;
        Ok(Some(Journal { conn, path: path.to_path_buf(), pending: false }))
    }

    /// Whether the journal file exists (a writer's journal is created lazily).
    pub fn exists(&self) -> bool {
        !self.pending
    }

    /// Create the journal file if it is still pending: built complete under a temp name and
    /// linked into place without replacing, so parallel first uses all end up on one journal.
    fn materialize(&mut self) -> Result<()> {
        if !self.pending {
            return Ok(());
        }
        if !self.path.exists() {
            Self::create_file(&self.path)?;
        }
        *self = Self::open_existing(&self.path)?;
        Ok(())
    }

    fn create_file(path: &Path) -> Result<()> {
        let dir = parent_dir(path);
        if !dir.exists() {
            match std::fs::create_dir(dir) {
                Ok(()) => {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| Error::io(dir, e))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?,
            }
        }
        // tempfile creates it 0600: no window exists with wider modes
        let tmp = tempfile::Builder::new()
            .prefix(".clawauth-journal-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        {
            let conn = Connection::open(tmp.path()).map_err(|e| j(path, e))?;
            conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| j(path, format!("cannot use it: {e}")))?;
            let mut jr = Journal { conn, path: tmp.path().to_path_buf(), pending: false };
            jr.migrate()?;
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(tmp.path(), suffix));
        }
        match tmp.persist_noclobber(path) {
            Ok(f) => {
                let _ = f.sync_all();
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            // another process created it first: use that one
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(Error::io(path, e.error)),
        }
    }

    fn open_existing(path: &Path) -> Result<Journal> {
        check_header(path)?;
        // judged read-only first: a database that is not ours is refused without a byte
        // written (not even the WAL switch or a checkpoint of its `-wal` on close)
        identify_untouched(path)?;
        let conn = Connection::open(path).map_err(|e| j(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| j(path, e))?;
        identify(&conn, path)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| j(path, format!("cannot use it: {e}")))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| j(path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| j(path, e))?;
        let mut jr = Journal { conn, path: path.to_path_buf(), pending: false };
        jr.migrate()?;
        for suffix in ["", "-wal", "-shm"] {
            let p = with_suffix(path, suffix);
            if p.exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
        Ok(jr)
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
        // IMMEDIATE and re-read inside: of two processes upgrading at once, one migrates and
        // the other finds it done
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| j(&path, e))?;
        let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| j(&path, e))?;
        if v >= SCHEMA_VERSION {
            return Ok(());
        }
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
        kind: TxnKind,
        status: TxnStatus,
        argv: &[String],
        state_dir: &Path,
        reverts: Option<i64>,
        forced: bool,
        snapshots: &[Snapshot],
    ) -> Result<i64> {
        self.materialize()?;
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| j(&path, e))?;
        if status == TxnStatus::Applying && kind == TxnKind::Undo {
            if let Some(n) = reverts {
                claim_undo(&tx, &path, n)?;
            }
        }
        let now = ctx.now_rfc3339();
        let me = Owner::me();
        tx.execute(
            "INSERT INTO txn (kind, workflow, summary, argv, user, host, tool_version, state_dir, agent, created_at, started_at, status, reverts_txn, forced, notes, owner_pid, owner_start, owner_host, owner_boot, claim_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                     CASE WHEN ?12 = 'applying' THEN (SELECT COALESCE(MAX(claim_seq), 0) + 1 FROM txn) END)",
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
                if status == TxnStatus::Applying { Some(now.clone()) } else { None },
                status,
                reverts,
                forced as i64,
                serde_json::to_string(&plan.notes).unwrap_or_default(),
                me.pid,
                me.start,
                me.host,
                me.boot_id,
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

    /// `planned -> applying` in one conditional write, with the pre-images taken now and this
    /// process as owner: of two processes applying one saved plan exactly one wins; the other
    /// gets a conflict naming the status it found.
    pub fn claim_planned(&mut self, ctx: &Context, id: i64, snapshots: &[Snapshot]) -> Result<()> {
        let path = self.path.clone();
        let me = Owner::me();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| j(&path, e))?;
        let row: Option<(String, String, Option<i64>)> = tx
            .query_row("SELECT status, kind, reverts_txn FROM txn WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(|e| j(&path, e))?;
        let Some((status, kind, reverts)) = row else {
            return Err(Error::NotFound(format!("no transaction {id} in {}", path.display())));
        };
        let (status, kind) = (parse_status(&path, id, &status)?, parse_kind(&path, id, &kind)?);
        if status != TxnStatus::Planned {
            return Err(Error::conflict_hint(
                format!("transaction {id} is {status}, not planned: another clawauth took it first"),
                format!("see `clawauth show {id}`"),
            ));
        }
        if kind == TxnKind::Undo {
            if let Some(n) = reverts {
                claim_undo(&tx, &path, n)?;
            }
        }
        let n = tx
            .execute(
                "UPDATE txn SET status = 'applying', started_at = ?2, owner_pid = ?3, owner_start = ?4, owner_host = ?5, owner_boot = ?6,
                 claim_seq = (SELECT COALESCE(MAX(claim_seq), 0) + 1 FROM txn) WHERE id = ?1 AND status = 'planned'",
                params![id, ctx.now_rfc3339(), me.pid, me.start, me.host, me.boot_id],
            )
            .map_err(|e| j(&path, e))?;
        if n != 1 {
            return Err(Error::conflict(format!(
                "transaction {id} is no longer planned: another clawauth took it first"
            )));
        }
        for (i, s) in snapshots.iter().enumerate() {
            tx.execute(
                "INSERT OR REPLACE INTO snapshot (txn_id, step_no, existed, sha256, mode, size, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, i as i64 + 1, s.existed as i64, s.sha256, s.mode, s.content.as_ref().map(|c| c.len() as i64), s.content],
            )
            .map_err(|e| j(&path, e))?;
        }
        tx.commit().map_err(|e| j(&path, e))
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

    pub fn set_status(&self, ctx: &Context, id: i64, status: TxnStatus, error: Option<&str>) -> Result<()> {
        let ended = status.is_final().then(|| ctx.now_rfc3339());
        let started = (status == TxnStatus::Applying).then(|| ctx.now_rfc3339());
        self.conn
            .execute(
                "UPDATE txn SET status = ?2, error = COALESCE(?3, error), ended_at = COALESCE(?4, ended_at), started_at = COALESCE(?5, started_at) WHERE id = ?1",
                params![id, status, error, ended, started],
            )
            .map_err(|e| j(&self.path, e))?;
        Ok(())
    }

    /// Record what the running gateway made of transaction `id`.
    pub fn record_settle(&self, id: i64, settle: &serde_json::Value) -> Result<()> {
        self.conn
            .execute("UPDATE txn SET settle = ?2 WHERE id = ?1", params![id, settle.to_string()])
            .map_err(|e| j(&self.path, e))?;
        Ok(())
    }

    /// One `txn` row; the inner error is a kind or status this clawauth does not know.
    fn row(r: &rusqlite::Row) -> rusqlite::Result<std::result::Result<TxnRow, String>> {
        let id: i64 = r.get("id")?;
        let (kind, status): (String, String) = (r.get("kind")?, r.get("status")?);
        let (kind, status) = match (kind.parse::<TxnKind>(), status.parse::<TxnStatus>()) {
            (Ok(k), Ok(s)) => (k, s),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(format!("transaction {id}: {e}"))),
        };
        let argv: String = r.get("argv")?;
        let notes: String = r.get("notes")?;
        Ok(Ok(TxnRow {
            id,
            kind,
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
            status,
            reverts_txn: r.get("reverts_txn")?,
            forced: r.get::<_, i64>("forced")? != 0,
            error: r.get("error")?,
            notes: serde_json::from_str(&notes).unwrap_or_default(),
            // absent before schema 4
            settle: r.get::<_, Option<String>>("settle").ok().flatten().and_then(|s| serde_json::from_str(&s).ok()),
            // absent in journals of schema 1 and 2 (read-only readers do not migrate)
            owner: r.get::<_, Option<i64>>("owner_pid").ok().flatten().map(|pid| Owner {
                pid,
                start: r.get("owner_start").ok().flatten(),
                host: r.get::<_, Option<String>>("owner_host").ok().flatten().unwrap_or_default(),
                boot_id: r.get("owner_boot").ok().flatten(),
            }),
        }))
    }

    /// The `txn` rows a query selects, in its order.
    fn rows(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<TxnRow>> {
        let mut st = self.conn.prepare(sql).map_err(|e| j(&self.path, e))?;
        let rows = st.query_map(params, Self::row).map_err(|e| j(&self.path, e))?;
        let mut out = vec![];
        for r in rows {
            out.push(r.map_err(|e| j(&self.path, e))?.map_err(|e| j(&self.path, e))?);
        }
        Ok(out)
    }

    pub fn txn(&self, id: i64) -> Result<Option<TxnRow>> {
        Ok(self.rows("SELECT * FROM txn WHERE id = ?1", [id])?.pop())
    }

    /// Newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<TxnRow>> {
        self.rows("SELECT * FROM txn ORDER BY id DESC LIMIT ?1", [limit as i64])
    }

    pub fn with_status(&self, status: TxnStatus) -> Result<Vec<TxnRow>> {
        self.rows("SELECT * FROM txn WHERE status = ?1 ORDER BY id", [status])
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

impl Journal {
    /// Store usage snapshots taken at `taken_at`, in one SQLite transaction; how many.
    pub fn record_usage(&mut self, taken_at: &str, snaps: &[NewUsageSnapshot]) -> Result<usize> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| j(&path, e))?;
        for s in snaps {
            tx.execute(
                "INSERT INTO usage_snapshot (taken_at, profile_id, account_id, user_id, windows, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![taken_at, s.profile_id, s.account_id, s.user_id, s.windows.as_ref().map(|w| w.to_string()), s.error],
            )
            .map_err(|e| j(&path, e))?;
        }
        tx.commit().map_err(|e| j(&path, e))?;
        Ok(snaps.len())
    }

    /// Usage snapshots taken between two instants (RFC 3339 strings compare in time order).
    pub fn usage_snapshots_between(&self, from: &str, to: &str) -> Result<Vec<UsageSnapshot>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, taken_at, profile_id, account_id, user_id, windows, error FROM usage_snapshot
                 WHERE taken_at BETWEEN ?1 AND ?2 ORDER BY taken_at, id",
            )
            .map_err(|e| j(&self.path, e))?;
        let rows = st
            .query_map([from, to], |r| {
                let w: Option<String> = r.get(5)?;
                Ok(UsageSnapshot {
                    id: r.get(0)?,
                    taken_at: r.get(1)?,
                    profile_id: r.get(2)?,
                    account_id: r.get(3)?,
                    user_id: r.get(4)?,
                    windows: w.and_then(|w| serde_json::from_str(&w).ok()),
                    error: r.get(6)?,
                })
            })
            .map_err(|e| j(&self.path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| j(&self.path, e))
    }
}

/// `applied -> being undone`, checked inside the transaction that records the undo: the
/// transaction must still be applied and no other undo of it may be under way.
fn claim_undo(tx: &rusqlite::Transaction, path: &Path, n: i64) -> Result<()> {
    let st: Option<String> =
        tx.query_row("SELECT status FROM txn WHERE id = ?1", [n], |r| r.get(0)).optional().map_err(|e| j(path, e))?;
    let st = st.map(|s| parse_status(path, n, &s)).transpose()?;
    if st != Some(TxnStatus::Applied) {
        return Err(Error::conflict(format!(
            "transaction {n} is {}, no longer applied: another clawauth changed it while this undo was planned",
            st.map_or("gone", TxnStatus::as_str)
        )));
    }
    let busy: Option<i64> = tx
        .query_row(
            "SELECT id FROM txn WHERE reverts_txn = ?1 AND kind = 'undo' AND status = 'applying' ORDER BY id LIMIT 1",
            [n],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| j(path, e))?;
    if let Some(u) = busy {
        return Err(Error::conflict_hint(
            format!("transaction {n} is being undone by transaction {u} (another clawauth)"),
            format!("wait for it, then see `clawauth show {u}`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_kind_are_written_as_text_and_an_unknown_one_names_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = default_path(dir.path());
        let ctx = Context::from_map(Default::default());
        let mut jr = Journal::create(&path).unwrap();
        let plan = Plan::new("pin", "a plan");
        let id = jr.record(&ctx, &plan, TxnKind::Apply, TxnStatus::Planned, &[], dir.path(), None, false, &[]).unwrap();
        let text: (String, String) = jr
            .conn
            .query_row("SELECT kind, status FROM txn WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(text, ("apply".to_string(), "planned".to_string()));
        jr.set_status(&ctx, id, TxnStatus::RolledBack, None).unwrap();
        let row = jr.txn(id).unwrap().unwrap();
        assert_eq!((row.kind, row.status), (TxnKind::Apply, TxnStatus::RolledBack));
        assert!(row.ended_at.is_some());
        assert_eq!(jr.with_status(TxnStatus::RolledBack).unwrap().len(), 1);

        // written by something else: the schema's CHECK bypassed
        jr.conn.execute_batch("PRAGMA ignore_check_constraints = ON; UPDATE txn SET status = 'done'").unwrap();
        let e = jr.list(10).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Journal { .. }), "{msg}");
        assert!(
            msg.contains(&path.display().to_string())
                && msg.contains(&format!("transaction {id}: unknown status 'done'")),
            "{msg}"
        );
        assert!(jr.txn(id).is_err());
    }
}
