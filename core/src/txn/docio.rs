//! Reading and writing one planned document, for the engine only: current values at pointers,
//! the new content for a set of changes (in the document's own format, touching only what
//! changes), atomic file replacement that keeps mode and owner, and in-place SQLite cell
//! updates inside `BEGIN IMMEDIATE`. A large `sessions.json` is never held whole: it is read
//! through its streamed index (`layout::bigfile`) and rewritten as a streamed copy with the
//! changed spans spliced in.

use crate::error::{Error, Result};
use crate::json::{self, Style};
use crate::layout::bigfile::{self, BigFile, Identity};
use crate::layout::store::{self, FileFormat, Location};
use crate::txn::plan::Change;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A document as it is on disk right now.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    /// For files: the path writes go to (symlinks resolved as OpenClaw's rename follows them).
    pub path: PathBuf,
    pub bytes: Option<Vec<u8>>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Top-level index of a JSON file, built on first use.
    pub index: std::cell::OnceCell<std::result::Result<json::TopIndex, String>>,
    /// A large file, not read into memory (`bytes` is `None`): its streamed index.
    pub big: Option<Arc<BigFile>>,
}

impl Doc {
    /// Whether the document exists.
    pub fn exists(&self) -> bool {
        self.bytes.is_some() || self.big.is_some()
    }

    /// Its size in bytes (0 when absent).
    pub fn len(&self) -> u64 {
        match (&self.bytes, &self.big) {
            (Some(b), _) => b.len() as u64,
            (None, Some(big)) => big.len,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A streamed document read whole, for the rare use that needs every byte (a change of the
    /// root object, the whole-document pointer).
    pub fn whole(&self) -> Result<Doc> {
        match &self.big {
            None => Ok(Doc {
                path: self.path.clone(),
                bytes: self.bytes.clone(),
                mode: self.mode,
                uid: self.uid,
                gid: self.gid,
                ..Default::default()
            }),
            Some(big) => Ok(Doc {
                path: self.path.clone(),
                bytes: Some(big.read_all().map_err(|e| Error::io(&self.path, e))?),
                mode: self.mode,
                uid: self.uid,
                gid: self.gid,
                ..Default::default()
            }),
        }
    }

    /// The document's top-level index, built once and kept.
    pub fn idx(&self) -> Result<&json::TopIndex> {
        let b = self.bytes.as_deref().unwrap_or_default();
        self.index
            .get_or_init(|| json::index(b).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::bad(&self.path, format!("is not valid JSON: {e}")))
    }
}

fn resolve_symlink(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => Ok(t),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(Error::bad(path, "symbolic link loop")),
            Err(_) => Err(Error::bad(path, "is a dangling symbolic link")),
        },
        _ => Ok(path.to_path_buf()),
    }
}

/// Read a location's current content. Cells read through the connection given (inside the
/// caller's transaction) or a read-only one.
pub fn read(loc: &Location, conn: Option<&Connection>) -> Result<Doc> {
    match loc {
        Location::File { path, .. } => {
            let real = resolve_symlink(path)?;
            if let Some(big) = bigfile::open(&real)? {
                let meta = big.file.metadata().ok();
                return Ok(Doc {
                    path: real,
                    mode: meta.as_ref().map(|m| m.mode() & 0o7777),
                    uid: meta.as_ref().map(|m| m.uid()),
                    gid: meta.as_ref().map(|m| m.gid()),
                    big: Some(big),
                    ..Default::default()
                });
            }
            let bytes = store::read_file(&real)?;
            let meta = std::fs::metadata(&real).ok();
            Ok(Doc {
                path: real,
                bytes,
                mode: meta.as_ref().map(|m| m.mode() & 0o7777),
                uid: meta.as_ref().map(|m| m.uid()),
                gid: meta.as_ref().map(|m| m.gid()),
                ..Default::default()
            })
        }
        Location::Cell { db, table, key_col, key, value_col, .. } => {
            let text = match conn {
                Some(c) => cell_text(c, db, table, key_col, key, value_col)?,
                None => {
                    if !db.exists() {
                        return Err(Error::NotFound(format!(
                            "{} does not exist (clawauth never creates OpenClaw's databases)",
                            db.display()
                        )));
                    }
                    let ro = store::open_ro(db)?;
                    ro.cell(table, key_col, key, value_col)?
                }
            };
            Ok(Doc { path: db.clone(), bytes: text.map(String::into_bytes), ..Default::default() })
        }
    }
}

fn cell_text(
    c: &Connection,
    db: &Path,
    table: &str,
    key_col: &str,
    key: &str,
    value_col: &str,
) -> Result<Option<String>> {
    c.query_row(
        &format!("SELECT {} FROM \"{table}\" WHERE \"{key_col}\" = ?1", store::cell_expr(value_col)),
        [key],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map_err(|e| Error::sqlite(db, format!("{table}[{key}]: {e}")))
}

fn is_text(loc: &Location) -> bool {
    matches!(loc, Location::File { format: FileFormat::Text, .. })
}

/// The value at `pointer` now (`None` = absent).
pub fn value_at(loc: &Location, doc: &Doc, pointer: &str) -> Result<Option<Value>> {
    if let Some(big) = &doc.big {
        // the streaming pass checked what `store::parse_check` and UTF-8 would
        return match big.get(pointer) {
            Ok(v) => Ok(v),
            Err(Some(e)) => Err(Error::bad(&doc.path, format!("is not valid JSON: {e}"))),
            Err(None) => value_at(loc, &doc.whole()?, pointer),
        };
    }
    let Some(b) = &doc.bytes else { return Ok(None) };
    if is_text(loc) {
        let s = String::from_utf8_lossy(b).trim().to_string();
        return Ok(if pointer.is_empty() { Some(Value::String(s)) } else { None });
    }
    if let Location::File { .. } = loc {
        store::parse_check(&doc.path, b)?;
        if std::str::from_utf8(b).is_err() {
            return Err(Error::bad(&doc.path, "is not valid UTF-8"));
        }
    }
    doc.idx()?.get(b, pointer).map_err(|e| Error::bad(&doc.path, format!("is not valid JSON: {e}")))
}

/// Check every change's `before` against the document. Returns the mismatches.
pub fn mismatches(loc: &Location, doc: &Doc, changes: &[Change]) -> Result<Vec<(String, Option<Value>)>> {
    let mut out = vec![];
    for c in changes {
        let cur = value_at(loc, doc, &c.pointer)?;
        if cur != c.before {
            out.push((c.pointer.clone(), cur));
        }
    }
    Ok(out)
}

/// Record, for every key a change removes from an object, its index there now.
pub fn fill_positions(loc: &Location, doc: &Doc, changes: &mut [Change]) -> Result<()> {
    for c in changes.iter_mut() {
        if c.before.is_none() || c.after.is_some() || c.pointer.is_empty() {
            continue;
        }
        let segs = json::split_pointer(&c.pointer);
        let (last, parent) = segs.split_last().expect("non-empty pointer");
        let parent_ptr: String = parent.iter().map(|s| format!("/{}", json::escape_token(s))).collect();
        if let Some(Value::Object(m)) = value_at(loc, doc, &parent_ptr)? {
            c.position = m.keys().position(|k| k == last);
        }
    }
    Ok(())
}

/// The document's new content (`None` = delete it).
pub fn new_content(loc: &Location, doc: &Doc, changes: &[Change]) -> Result<Option<Vec<u8>>> {
    if doc.big.is_some() {
        return new_content(loc, &doc.whole()?, changes);
    }
    if let Some(whole) = changes.iter().find(|c| c.pointer.is_empty()) {
        if changes.len() > 1 {
            return Err(Error::Other("a whole-document change cannot be combined with others in one step".into()));
        }
        return Ok(whole.after.as_ref().map(|v| serialize_whole(loc, doc, v)));
    }
    if is_text(loc) {
        return Err(Error::Other(format!("{}: text documents only take whole-document changes", doc.path.display())));
    }
    let edits: Vec<json::Edit> = changes.iter().map(Change::edit).collect();
    match loc {
        Location::File { new_style, .. } => {
            let (mut out, style, created) = match &doc.bytes {
                Some(b) => {
                    let style = Style::detect(b);
                    let out = json::apply_edits_indexed(b, doc.idx()?, style, &edits)
                        .map_err(|e| Error::bad(&doc.path, format!("cannot edit: {e}")))?;
                    (out, style, false)
                }
                None => (
                    json::apply_edits(b"{}", *new_style, &edits)
                        .map_err(|e| Error::bad(&doc.path, format!("cannot edit: {e}")))?,
                    *new_style,
                    true,
                ),
            };
            if created && style.trailing_newline {
                out.push(b'\n');
            }
            Ok(Some(out))
        }
        Location::Cell { .. } => {
            if let Some(b) = &doc.bytes {
                let span =
                    json::root_span(b).map_err(|e| Error::sqlite(&doc.path, format!("cell is not valid JSON: {e}")))?;
                if let Some(k) = json::first_duplicate(b, span).map_err(|e| Error::sqlite(&doc.path, e))? {
                    return Err(Error::sqlite(
                        &doc.path,
                        format!("{}: the key {k:?} appears twice in the cell (OpenClaw's JSON.parse keeps only the last); refusing to write", loc.display(Path::new(""))),
                    ));
                }
            }
            let mut v: Value = match &doc.bytes {
                Some(b) => serde_json::from_slice(b)
                    .map_err(|e| Error::sqlite(&doc.path, format!("cell is not valid JSON: {e}")))?,
                None => Value::Object(Default::default()),
            };
            for e in &edits {
                json::apply_in_value_at(&mut v, &json::split_pointer(&e.pointer), e.value.as_ref(), e.position)
                    .map_err(|e| Error::sqlite(&doc.path, e))?;
            }
            Ok(Some(json::to_string_compact(&v).into_bytes()))
        }
    }
}

fn serialize_whole(loc: &Location, doc: &Doc, v: &Value) -> Vec<u8> {
    match loc {
        Location::File { format: FileFormat::Text, .. } => {
            let s = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            // keep the file's own line ending convention; a new file gets a newline
            let nl = doc.bytes.as_ref().map(|b| b.ends_with(b"\n")).unwrap_or(true);
            format!("{s}{}", if nl { "\n" } else { "" }).into_bytes()
        }
        Location::File { new_style, .. } => {
            let style = doc.bytes.as_deref().map(Style::detect).unwrap_or(*new_style);
            json::to_bytes(v, style)
        }
        Location::Cell { .. } => json::to_string_compact(v).into_bytes(),
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    f.sync_all().map_err(|e| Error::io(dir, e))
}

fn temp_path(path: &Path) -> (PathBuf, PathBuf) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.clawauth-{}.tmp", std::process::id()));
    (dir, tmp)
}

/// Remove the temp files a killed clawauth left beside `path` (`.NAME.clawauth-PID.tmp` whose
/// process is gone): a copy of a large file written but never renamed into place.
pub fn remove_stale_temps(path: &Path) {
    let (dir, _) = temp_path(path);
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let prefix = format!(".{name}.clawauth-");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    for e in rd.flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        let Some(pid) =
            f.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")).and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = pid != std::process::id() as i32
            && unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Replace a file atomically: temp file in the same directory, original mode and owner, fsync,
/// rename, fsync the directory. `None` deletes the file. `before_rename` runs between the
/// fsync of the temp file and the rename (a failpoint).
pub fn write_file(doc: &Doc, content: Option<&[u8]>, before_rename: &mut dyn FnMut()) -> Result<()> {
    let path = &doc.path;
    let (dir, tmp) = temp_path(path);
    let dir = dir.as_path();
    let Some(bytes) = content else {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        return fsync_dir(dir);
    };
    if !dir.exists() {
        return Err(Error::bad(dir, "directory does not exist"));
    }
    let res = (|| -> std::io::Result<()> {
        let mut f = create_temp(&tmp, doc)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        before_rename();
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    fsync_dir(dir)
}

/// A new temp file with the document's mode and owner.
fn create_temp(tmp: &Path, doc: &Doc) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(doc.mode.unwrap_or(0o600)))?;
    if let (Some(uid), Some(gid)) = (doc.uid, doc.gid) {
        use std::os::fd::AsRawFd;
        // keep the owner; only root can give a file away, so a failure here is not fatal
        unsafe { libc::fchown(f.as_raw_fd(), uid, gid) };
    }
    Ok(f)
}

/// Apply `changes` to a file document read by `read` (under the caller's lock, `before`s
/// checked): write the new content atomically and check that the file then holds it. A large
/// document is streamed (`write_spliced`); a change of its root object rewrites it whole.
/// `Ok(false)`: a large file was replaced or edited while its copy was being written; nothing
/// was written, and the caller re-reads it and tries again.
pub fn write_changes(loc: &Location, doc: &Doc, changes: &[Change], before_rename: &mut dyn FnMut()) -> Result<bool> {
    if let Some(big) = &doc.big {
        if !changes.iter().any(|c| c.pointer.is_empty()) {
            let edits: Vec<json::Edit> = changes.iter().map(Change::edit).collect();
            let splices = big.splices(&edits).map_err(|e| Error::bad(&doc.path, format!("cannot edit: {e}")))?;
            if let Some(splices) = splices {
                return write_spliced(doc, big, &splices, before_rename);
            }
        }
        let whole = doc.whole()?;
        bigfile::forget(&doc.path);
        return write_changes(loc, &whole, changes, before_rename);
    }
    let content = new_content(loc, doc, changes)?;
    remove_stale_temps(&doc.path);
    write_file(doc, content.as_deref(), before_rename)?;
    // read back: the file must hold exactly the bytes written (which new_content built to carry
    // every change)
    if !store::holds(&doc.path, content.as_deref())? {
        return Err(unexpected_content(&doc.path));
    }
    Ok(true)
}

fn unexpected_content(path: &Path) -> Error {
    Error::Other(format!(
        "{}: did not read back as written (changed by another process right after our write?)",
        path.display()
    ))
}

/// Copy `len` bytes of `src` from `at` to the current position of `dst`, in the kernel where it
/// can (`copy_file_range`), else through a buffer.
fn copy_range(src: &std::fs::File, dst: &mut std::fs::File, at: u64, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let mut off = at as libc::loff_t;
    let mut left = len;
    while left > 0 {
        let want = left.min(1 << 30) as usize;
        let n =
            unsafe { libc::copy_file_range(src.as_raw_fd(), &mut off, dst.as_raw_fd(), std::ptr::null_mut(), want, 0) };
        if n > 0 {
            left -= n as u64;
            continue;
        }
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file shrank while it was copied"));
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EXDEV | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP | libc::EPERM) => break,
            _ => return Err(e),
        }
    }
    let mut buf = vec![0u8; left.min(1 << 20) as usize];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], off as u64)?;
        dst.write_all(&buf[..n])?;
        off += n as libc::loff_t;
        left -= n as u64;
    }
    Ok(())
}

/// Rewrite a large file as a copy of the indexed file with `splices` put in: unchanged regions
/// are copied (never parsed), the temp file is fsynced and renamed over the original. The copy
/// is of the very file indexed (its open descriptor); before the rename it must still be the
/// file at the path, unchanged (same inode, size and times, and each replaced span still holds
/// what was planned) — otherwise nothing is written and the caller may re-read and try again.
pub fn write_spliced(
    doc: &Doc,
    big: &BigFile,
    splices: &[bigfile::Splice],
    before_rename: &mut dyn FnMut(),
) -> Result<bool> {
    let path = &doc.path;
    let (dir, tmp) = temp_path(path);
    remove_stale_temps(path);
    let unchanged = || -> std::io::Result<bool> {
        let now = Identity::of(&big.file.metadata()?);
        let at_path = std::fs::metadata(path).map(|m| Identity::of(&m));
        if now != big.id || at_path.ok() != Some(big.id) {
            return Ok(false);
        }
        for s in splices {
            if big.read(s.span.clone())? != s.before {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let mut written = None;
    let res = (|| -> std::io::Result<bool> {
        let mut f = create_temp(&tmp, doc)?;
        let mut at = 0u64;
        for s in splices {
            copy_range(&big.file, &mut f, at, s.span.start - at)?;
            f.write_all(&s.bytes)?;
            at = s.span.end;
        }
        copy_range(&big.file, &mut f, at, big.len - at)?;
        f.sync_all()?;
        written = Some(Identity::of(&f.metadata()?));
        if !unchanged()? {
            return Ok(false);
        }
        before_rename();
        std::fs::rename(&tmp, path)?;
        Ok(true)
    })();
    match res {
        Ok(true) => {}
        Ok(false) => {
            let _ = std::fs::remove_file(&tmp);
            bigfile::forget(path);
            return Ok(false);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(path, e));
        }
    }
    bigfile::forget(path);
    fsync_dir(&dir)?;
    // read back: the path must name the file just written, as written
    let now = std::fs::metadata(path).map(|m| Identity::of(&m)).ok();
    let expected = big.len as i64 + splices.iter().map(|s| s.bytes.len() as i64 - s.before.len() as i64).sum::<i64>();
    match (now, written) {
        (Some(n), Some(w)) if n.same_file(&w) && n.size as i64 == expected => Ok(true),
        _ => Err(unexpected_content(path)),
    }
}

/// The conflict of a large file replaced or edited while its copy was being written.
pub fn changed_while_writing(path: &Path) -> Error {
    Error::conflict_hint(
        format!("{} changed while clawauth was writing it; nothing was written", path.display()),
        "run the command again to plan against the current state",
    )
}

/// Refuse while OpenClaw holds its databases exclusively (its doctor or maintenance, or a
/// starting gateway's migrations: `layout::lease`). A running gateway's ownership lease and the
/// processes' registrations are no reason to refuse: clawauth writes beside them in short
/// `BEGIN IMMEDIATE` transactions that re-check every value, as OpenClaw's own CLI does.
pub fn check_leases(state_dir: &Path, now_ms: i64) -> Result<()> {
    match crate::layout::lease::read(state_dir, now_ms)? {
        Some(l) => l.check_writable(),
        None => Ok(()),
    }
}

/// The timestamp OpenClaw keeps beside a cell. Auth rows carry the time of the write
/// (`Date.now()`); a `session_nodes` row carries its entry's own `updatedAt` (2026.9.6
/// `bindSessionRoot`/`bindSessionNode`), so that column follows the entry — which also puts it
/// back exactly when an undo restores the entry's `updatedAt`.
fn ts_value(table: &str, content: &[u8], now_ms: i64) -> i64 {
    if table == "session_nodes" {
        if let Ok(v) = serde_json::from_slice::<Value>(content) {
            if let Some(t) = v.get("updatedAt").and_then(Value::as_i64) {
                return t;
            }
        }
    }
    now_ms
}

/// Refuse a database whose schema clawauth does not know to write (`crate::layout::schema`). Used
/// before anything is recorded, so `apply`, `undo` and `recover` refuse as early as a new plan
/// does.
pub fn check_schema(db: &Path) -> Result<()> {
    if !db.is_file() {
        return Ok(());
    }
    let ro = store::open_ro(db)?;
    match crate::layout::schema::verdict(&ro.conn, db)?.refused {
        None => Ok(()),
        Some(why) => Err(crate::layout::schema::refused_error(db, &why)),
    }
}

/// Apply several steps that all edit cells of one database: one connection, one `BEGIN
/// IMMEDIATE` (busy timeout 5 s), every `before` verified against what that transaction sees,
/// then one commit — so OpenClaw never sees half of a change to one database. Nothing but the
/// planned rows is touched: no schema, no other row, never a new file. On error nothing of the
/// group is written and the index of the failing step (within `steps`) is returned with it.
pub fn apply_cells(steps: &[(&Location, &[Change])], now_ms: i64) -> std::result::Result<(), (usize, Error)> {
    let Some((Location::Cell { db, .. }, _)) = steps.first() else { return Ok(()) };
    if !db.is_file() {
        return Err((
            0,
            Error::NotFound(format!("{} does not exist (clawauth never creates OpenClaw's databases)", db.display())),
        ));
    }
    // READ_WRITE without CREATE: a database that vanished is an error, never a new empty file
    let mut conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| (0, Error::sqlite(db, e)))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| (0, Error::sqlite(db, e)))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| {
        // another process holds the write lock past the busy timeout: a live lock, exit 3
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        let what = format!("{}: cannot lock for writing: {e}", db.display());
        let err = if busy {
            Error::lock_held(what, "another process (a running OpenClaw?) is writing this database; try again")
        } else {
            Error::sqlite(db, format!("cannot lock for writing: {e}"))
        };
        (0, err)
    })?;
    // the schema may have moved on since the plan was made (an OpenClaw upgrade): re-check it
    // under the write lock, so `apply`, `undo` and `recover` refuse too
    if let Some(why) = crate::layout::schema::verdict(&tx, db).map_err(|e| (0, e))?.refused {
        return Err((0, crate::layout::schema::refused_error(db, &why)));
    }
    for (i, (loc, changes)) in steps.iter().enumerate() {
        write_cell(&tx, loc, changes, now_ms).map_err(|e| (i, e))?;
    }
    tx.commit().map_err(|e| (steps.len() - 1, Error::sqlite(db, e)))
}

/// One cell inside the caller's transaction: compare-and-swap, then UPDATE / INSERT / DELETE
/// of that one row, with its timestamp column.
fn write_cell(tx: &Connection, loc: &Location, changes: &[Change], now_ms: i64) -> Result<()> {
    let Location::Cell { db, table, key_col, key, value_col, ts_col } = loc else { unreachable!("cells only") };
    let doc = read(loc, Some(tx))?;
    let bad = mismatches(loc, &doc, changes)?;
    if !bad.is_empty() {
        return Err(stale(loc, &bad));
    }
    let content = new_content(loc, &doc, changes)?;
    if table == "session_nodes" {
        return write_session_row(tx, db, key, value_col, content);
    }
    let ts = ts_col.as_deref();
    match (content, doc.bytes.is_some()) {
        (Some(c), true) => {
            let t_val = ts_value(table, &c, now_ms);
            let text = String::from_utf8(c).expect("JSON is UTF-8");
            let sql = match ts {
                Some(t) => {
                    format!("UPDATE \"{table}\" SET \"{value_col}\" = ?1, \"{t}\" = ?3 WHERE \"{key_col}\" = ?2")
                }
                None => {
                    format!("UPDATE \"{table}\" SET \"{value_col}\" = ?1 WHERE \"{key_col}\" = ?2 AND ?3 IS NOT NULL")
                }
            };
            let n = tx.execute(&sql, params![text, key, t_val]).map_err(|e| Error::sqlite(db, e))?;
            if n != 1 {
                return Err(Error::sqlite(db, format!("{table}[{key}]: expected to update 1 row, updated {n}")));
            }
        }
        (Some(c), false) => {
            let t_val = ts_value(table, &c, now_ms);
            let text = String::from_utf8(c).expect("JSON is UTF-8");
            let res = match ts {
                Some(t) => tx.execute(
                    &format!("INSERT INTO \"{table}\" (\"{key_col}\", \"{value_col}\", \"{t}\") VALUES (?1, ?2, ?3)"),
                    params![key, text, t_val],
                ),
                None => tx.execute(
                    &format!("INSERT INTO \"{table}\" (\"{key_col}\", \"{value_col}\") VALUES (?1, ?2)"),
                    params![key, text],
                ),
            };
            res.map_err(|e| Error::sqlite(db, format!("{table}: cannot insert row {key}: {e}")))?;
        }
        (None, true) => {
            let n = tx
                .execute(&format!("DELETE FROM \"{table}\" WHERE \"{key_col}\" = ?1"), [key])
                .map_err(|e| Error::sqlite(db, e))?;
            if n != 1 {
                return Err(Error::sqlite(db, format!("{table}[{key}]: expected to delete 1 row, deleted {n}")));
            }
        }
        (None, false) => {}
    }
    Ok(())
}

/// Before anything is recorded: would OpenClaw accept this session row with `content` as its
/// entry? The same check runs again inside the write transaction.
pub fn precheck_session_row(loc: &Location, content: Option<&[u8]>) -> Result<()> {
    let Location::Cell { db, table, key, value_col, .. } = loc else { return Ok(()) };
    let (Some(content), true, "entry_json") = (content, table == "session_nodes", value_col.as_str()) else {
        return Ok(());
    };
    let ro = store::open_ro(db)?;
    let Some(row) = crate::layout::session_row::read(&ro.conn, db, key)? else { return Ok(()) };
    crate::layout::session_row::accept(&row, db, key, content).map(|_| ())
}

/// One `session_nodes` row, written as OpenClaw's writer writes it (`crate::layout::session_row`): the
/// new entry is checked against the row the way OpenClaw's validator will check it, then the
/// entry and `updated_at` (its `updatedAt`) are written and the row is left valid — or, for
/// the `entry_valid` column itself (doctor's re-validation and its undo), that flag is set,
/// after the same check when it becomes 1. Rows are never inserted or deleted here: clawauth
/// only edits the sessions OpenClaw made.
fn write_session_row(tx: &Connection, db: &Path, key: &str, value_col: &str, content: Option<Vec<u8>>) -> Result<()> {
    let Some(row) = crate::layout::session_row::read(tx, db, key)? else {
        return Err(Error::sqlite(
            db,
            format!("session_nodes[{key}]: the row is gone (clawauth never creates sessions)"),
        ));
    };
    let Some(content) = content else {
        return Err(Error::sqlite(db, format!("session_nodes[{key}]: clawauth never deletes a session row")));
    };
    if value_col == "entry_valid" {
        let flag: i64 = std::str::from_utf8(&content).ok().and_then(|t| t.trim().parse().ok()).ok_or_else(|| {
            Error::sqlite(
                db,
                format!("session_nodes[{key}].entry_valid: {:?} is not 0 or 1", String::from_utf8_lossy(&content)),
            )
        })?;
        if flag == 1 {
            let entry = cell_text(tx, db, "session_nodes", "session_key", key, "entry_json")?.unwrap_or_default();
            crate::layout::session_row::check(&row, entry.as_bytes(), row.updated_at)
                .map_err(|why| crate::layout::session_row::rejected(db, key, &why))?;
            return crate::layout::session_row::settle(tx, db, key, row.pending);
        }
        tx.execute("UPDATE session_nodes SET entry_valid = ?1 WHERE session_key = ?2", params![flag, key])
            .map_err(|e| Error::sqlite(db, e))?;
        return Ok(());
    }
    let updated_at = crate::layout::session_row::accept(&row, db, key, &content)?;
    let text = String::from_utf8(content).expect("JSON is UTF-8");
    let n = tx
        .execute(
            &format!("UPDATE session_nodes SET \"{value_col}\" = ?1, updated_at = ?2 WHERE session_key = ?3"),
            params![text, updated_at, key],
        )
        .map_err(|e| Error::sqlite(db, e))?;
    if n != 1 {
        return Err(Error::sqlite(db, format!("session_nodes[{key}]: expected to update 1 row, updated {n}")));
    }
    crate::layout::session_row::settle(tx, db, key, row.pending)
}

/// A conflict error listing what changed under us.
pub fn stale(loc: &Location, bad: &[(String, Option<Value>)]) -> Error {
    let what: Vec<String> = bad
        .iter()
        .map(|(p, cur)| {
            let shown = cur
                .as_ref()
                .map(|v| crate::model::token::redact_at(p, v).to_string())
                .unwrap_or_else(|| "absent".into());
            format!("{} is now {}", if p.is_empty() { "the document" } else { p }, crate::text::shorten(&shown, 100))
        })
        .collect();
    Error::conflict_hint(
        format!("{} changed since the plan was made: {}", loc.file().display(), what.join("; ")),
        "run the command again to plan against the current state",
    )
}
