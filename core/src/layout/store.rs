//! Where documents live and how they are read without side effects. A `Location` is a file
//! (`auth-profiles.json`, `auth-state.json`, `sessions.json`, `codex_profile_id`, the external
//! repo) or one SQLite cell (database, table, key column, key, value column). Reading never
//! creates or modifies anything, not even a `-shm`/`-wal` file that was not there.

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

pub use crate::model::location::{FileFormat, Location};

/// The most clawauth reads of one `sessions.json` (OpenClaw's own writer holds it in memory;
/// 100k sessions are ~130 MB).
pub const SESSIONS_CAP: u64 = 2 << 30;
/// The most clawauth reads of any other state file: auth stores, routing state, config, the
/// router's repo, the stored preference, lock files (real ones are kilobytes).
pub const SMALL_CAP: u64 = 64 << 20;

/// The size cap for a state file, by its name.
pub fn cap_for(path: &Path) -> u64 {
    if path.file_name().is_some_and(|n| n == "sessions.json") {
        SESSIONS_CAP
    } else {
        SMALL_CAP
    }
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a named pipe (FIFO)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Open a state file for reading, once, and check what was opened (`fstat`): a regular file
/// (or a symlink to one) no larger than `cap`. Opened non-blocking, so a FIFO put in a file's
/// place is refused instead of hanging. `Ok(None)` when it does not exist; a dangling link, a
/// loop, another kind of file or an oversized one is an error naming the path and what it is.
pub fn open_checked(path: &Path, cap: u64) -> Result<Option<(std::fs::File, u64)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // a dangling symlink is an error, not "missing"
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::bad(path, "is a dangling symbolic link"));
            }
            return Ok(None);
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(Error::bad(path, "symbolic link loop")),
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
            return Err(Error::bad(path, "is a directory, expected a file"))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let meta = f.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::bad(path, "is a directory, expected a file"));
    }
    if !meta.is_file() {
        return Err(Error::bad(path, format!("is {}, expected a regular file; not read", kind_of(meta.file_type()))));
    }
    if meta.len() > cap {
        return Err(Error::bad(
            path,
            format!("is {} bytes, more than the {} bytes clawauth reads of this file; not read", meta.len(), cap),
        ));
    }
    // back to blocking reads (a regular file never blocks, but keep the descriptor ordinary)
    unsafe {
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd();
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    Ok(Some((f, meta.len())))
}

/// Whether a file that decides the layout is there. A dangling or looping symlink, or a path
/// clawauth may not look at, is an error naming it — never taken for "absent", which would
/// silently pick another layout.
pub fn present(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
        Ok(_) => match std::fs::metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::bad(path, "is a dangling symbolic link")),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(Error::bad(path, "symbolic link loop")),
            Err(e) => Err(Error::io(path, e)),
        },
    }
}

/// Read a whole state file (checked and capped, see `open_checked`); `Ok(None)` when it does
/// not exist. Errors name the path.
pub fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let cap = cap_for(path);
    let Some((f, len)) = open_checked(path, cap)? else { return Ok(None) };
    let mut out = Vec::with_capacity(len as usize);
    // the size can grow after fstat (a writer appending): never read past the cap
    f.take(cap + 1).read_to_end(&mut out).map_err(|e| Error::io(path, e))?;
    if out.len() as u64 > cap {
        return Err(Error::bad(path, format!("grew past the {cap} bytes clawauth reads of this file; not read")));
    }
    Ok(Some(out))
}

/// Whether the file holds exactly `expected` (`None`: it does not exist), compared in chunks so
/// that checking a write of a large file never holds a second copy of it.
pub fn holds(path: &Path, expected: Option<&[u8]>) -> Result<bool> {
    use std::io::Read;
    let cap = cap_for(path);
    let (f, len) = match (open_checked(path, cap)?, expected) {
        (None, None) => return Ok(true),
        (None, Some(_)) | (Some(_), None) => return Ok(false),
        (Some(f), Some(_)) => f,
    };
    let want = expected.unwrap_or_default();
    if len != want.len() as u64 {
        return Ok(false);
    }
    let mut f = f.take(want.len() as u64 + 1);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(at == want.len());
        }
        if at + n > want.len() || buf[..n] != want[at..at + n] {
            return Ok(false);
        }
        at += n;
    }
}

/// Check bytes are a UTF-8 JSON document and parse them, with an error naming the file.
pub fn parse_json(path: &Path, bytes: &[u8]) -> Result<serde_json::Value> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Error::bad(path, "starts with a UTF-8 byte-order mark, which OpenClaw's JSON.parse rejects"));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Error::bad(path, format!("is not valid UTF-8 (byte {})", e.valid_up_to())));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad(path, "is empty"));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::bad(path, format!("is not valid JSON: {e}")))
}

/// The file-level checks of `parse_json` without building a value (BOM, UTF-8, empty).
pub fn parse_check(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Error::bad(path, "starts with a UTF-8 byte-order mark, which OpenClaw's JSON.parse rejects"));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad(path, "is empty"));
    }
    Ok(())
}

/// A read-only SQLite connection that sees WAL content and leaves no trace on disk.
pub struct RoDb {
    pub conn: Connection,
    pub path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn open_ro(path: &Path) -> Result<RoDb> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::bad(path, "is not a regular file"));
    }
    let mut head = [0u8; 16];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
        if n > 0 && (n < 16 || &head != b"SQLite format 3\0") {
            return Err(Error::sqlite(path, "is not an SQLite database"));
        }
    }
    let wal = sidecar(path, "-wal");
    let shm = sidecar(path, "-shm");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let uri = |p: &Path, q: &str| format!("file:{}?{q}", percent(p));
    // Another process closing the database checkpoints and removes its -wal and -shm at any
    // moment: a sidecar that vanishes while we look is looked at again.
    let mut attempt = 0;
    let (conn, tmp) = loop {
        attempt += 1;
        let wal_has_content = std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false);
        if !wal_has_content {
            // No WAL content to see: immutable mode creates neither -wal nor -shm.
            break (
                Connection::open_with_flags(uri(path, "immutable=1"), flags).map_err(|e| Error::sqlite(path, e))?,
                None,
            );
        } else if shm.exists() && writable(&shm) {
            break (
                Connection::open_with_flags(uri(path, "mode=ro"), flags).map_err(|e| Error::sqlite(path, e))?,
                None,
            );
        }
        // WAL without a usable -shm: read a private copy so OpenClaw's files stay untouched.
        let tmp = tempfile::tempdir().map_err(|e| Error::io(path, e))?;
        let copy = tmp.path().join("db.sqlite");
        std::fs::copy(path, &copy).map_err(|e| Error::io(path, e))?;
        match std::fs::copy(&wal, sidecar(&copy, "-wal")) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 5 => continue,
            Err(e) => return Err(Error::io(&wal, e)),
        }
        let c = Connection::open_with_flags(uri(&copy, "mode=ro"), flags).map_err(|e| Error::sqlite(path, e))?;
        break (c, Some(tmp));
    };
    conn.busy_timeout(std::time::Duration::from_millis(5000)).ok();
    // force a read so "not a database" surfaces here, naming the file
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| Error::sqlite(path, format!("cannot read database: {e}")))?;
    Ok(RoDb { conn, path: path.to_path_buf(), _tmp: tmp })
}

fn writable(p: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(p).is_ok()
}

fn percent(p: &Path) -> String {
    let s = p.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// The SQL that reads a cell as text: JSON columns as they are, OpenClaw's integer companion
/// columns (`session_nodes.entry_valid`) as their decimal text, which is JSON too.
pub fn cell_expr(value_col: &str) -> String {
    match value_col {
        "entry_valid" => format!("CAST(\"{value_col}\" AS TEXT)"),
        _ => format!("\"{value_col}\""),
    }
}

impl RoDb {
    pub fn has_table(&self, table: &str) -> Result<bool> {
        crate::layout::schema::has_table(&self.conn, &self.path, table)
    }

    pub fn columns(&self, table: &str) -> Result<Vec<String>> {
        crate::layout::schema::columns(&self.conn, &self.path, table)
    }

    /// `schema_meta('primary').app_version` (2026.8+): the release that last opened the
    /// database (the `global` row first).
    pub fn app_version(&self) -> Option<String> {
        if !self.columns("schema_meta").ok()?.iter().any(|c| c == "app_version") {
            return None;
        }
        self.conn
            .query_row(
                "SELECT app_version FROM schema_meta WHERE meta_key = 'primary' ORDER BY role = 'global' DESC LIMIT 1",
                [],
                |r| r.get::<_, Option<String>>(0),
            )
            .ok()
            .flatten()
            .map(|v| crate::text::shorten(&v, 40))
    }

    pub fn user_version(&self) -> Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| Error::sqlite(&self.path, e))
    }

    /// The text of one cell, `None` when the row (or table) is absent.
    pub fn cell(&self, table: &str, key_col: &str, key: &str, value_col: &str) -> Result<Option<String>> {
        if !self.has_table(table)? {
            return Ok(None);
        }
        let sql = format!("SELECT {} FROM \"{table}\" WHERE \"{key_col}\" = ?1", cell_expr(value_col));
        self.conn
            .query_row(&sql, [key], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map(|o| o.flatten())
            .map_err(|e| Error::sqlite(&self.path, format!("{table}.{value_col}: {e}")))
    }

    /// Whether the table exists and holds a row (without counting them).
    pub fn has_rows(&self, table: &str) -> Result<bool> {
        if !self.has_table(table)? {
            return Ok(false);
        }
        self.conn
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")"), [], |r| r.get(0))
            .map_err(|e| Error::sqlite(&self.path, e))
    }

    pub fn count(&self, table: &str) -> Result<i64> {
        if !self.has_table(table)? {
            return Ok(0);
        }
        self.conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0))
            .map_err(|e| Error::sqlite(&self.path, e))
    }
}

/// Read the current value of a location as JSON (`None` when absent). Text files read as a
/// JSON string of their trimmed content; cells and JSON files parse their JSON.
pub fn read_value(loc: &Location) -> Result<Option<serde_json::Value>> {
    match loc {
        Location::File { path, format: FileFormat::Text, .. } => {
            Ok(read_file(path)?.map(|b| serde_json::Value::String(String::from_utf8_lossy(&b).trim().to_string())))
        }
        Location::File { path, format: FileFormat::Json, .. } => match read_file(path)? {
            None => Ok(None),
            Some(b) => parse_json(path, &b).map(Some),
        },
        Location::Cell { db, table, key_col, key, value_col, .. } => {
            if !db.exists() {
                return Ok(None);
            }
            let ro = open_ro(db)?;
            match ro.cell(table, key_col, key, value_col)? {
                None => Ok(None),
                Some(t) => serde_json::from_str(&t)
                    .map(Some)
                    .map_err(|e| Error::sqlite(db, format!("{table}[{key}].{value_col} is not valid JSON: {e}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_compares_a_file_with_bytes_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        assert!(holds(&p, None).unwrap());
        assert!(!holds(&p, Some(b"{}")).unwrap());
        // larger than one chunk, so the comparison spans several reads
        let big: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &big).unwrap();
        assert!(holds(&p, Some(&big)).unwrap());
        assert!(!holds(&p, None).unwrap());
        let mut other = big.clone();
        *other.last_mut().unwrap() ^= 1;
        assert!(!holds(&p, Some(&other)).unwrap());
        let mut mid = big.clone();
        mid[(1 << 20) + 5] ^= 1;
        assert!(!holds(&p, Some(&mid)).unwrap());
        assert!(!holds(&p, Some(&big[..big.len() - 1])).unwrap());
        assert!(!holds(&p, Some(&[big.as_slice(), b"x"].concat())).unwrap());
    }
}
