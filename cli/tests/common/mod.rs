//! Shared test harness: fixture state dirs in temp dirs, the real `clawauth` binary run with a
//! pinned clock/user/host and an isolated HOME, and whole-tree hashing.
#![allow(dead_code)]

pub mod hardening;

use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Scenario};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const NOW: &str = "2026-05-01T12:05:00Z";
pub const NOW_MS: i64 = fixture::REF_NOW_MS + 5 * 60_000;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub struct Fx {
    pub tmp: tempfile::TempDir,
    pub state: PathBuf,
    pub home: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Fx {
    pub fn empty() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Fx { tmp, state, home, env: vec![] }
    }

    pub fn scenario(sc: &Scenario, layout: Layout) -> Fx {
        let fx = Fx::empty();
        sc.write(&fx.state, layout).unwrap();
        fx
    }

    pub fn standard(layout: Layout) -> Fx {
        Fx::scenario(&Scenario::standard(fixture::REF_NOW_MS), layout)
    }

    /// Copy a committed fixture dir (fixtures/NAME).
    pub fn committed(name: &str) -> Fx {
        let fx = Fx::empty();
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name), &fx.state);
        fx
    }

    pub fn broken(case: &str) -> Fx {
        let fx = Fx::empty();
        fixture::write_broken(&fx.state, case, fixture::REF_NOW_MS).unwrap();
        fx
    }

    pub fn agent(&self) -> PathBuf {
        self.state.join("agents/main/agent")
    }
    pub fn sessions(&self) -> PathBuf {
        self.state.join("agents/main/sessions/sessions.json")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clawauth"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("CLAWAUTH_NOW", NOW)
            // no installed OpenClaw: the release comes from the state dir (issue 19)
            .env("CLAWAUTH_OPENCLAW_VERSION", "")
            .env("CLAWAUTH_USER", "tester")
            .env("CLAWAUTH_HOST", "testhost")
            .env("NO_COLOR", "1")
            // `CLAWAUTH_STREAM_MIN_BYTES=0 cargo test` runs every test on the streaming path
            .env("CLAWAUTH_STREAM_MIN_BYTES", std::env::var("CLAWAUTH_STREAM_MIN_BYTES").unwrap_or_default())
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        run(self.cmd(args))
    }

    /// Run and require exit 0.
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        assert_eq!(o.code, 0, "clawauth {args:?} failed:\n{}", o.all());
        o
    }

    /// sha256 of every file below the state dir except clawauth's own journal.
    pub fn hash(&self) -> BTreeMap<String, String> {
        tree_hash(&self.state, &[".clawauth"])
    }
}

pub fn run(mut c: Command) -> Out {
    let o = c.output().expect("run clawauth");
    use std::os::unix::process::ExitStatusExt;
    Out {
        code: o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn tree_hash(root: &Path, skip: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if skip.iter().any(|s| rel == *s || rel.starts_with(&format!("{s}/"))) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("link:{}", std::fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                use std::os::unix::fs::PermissionsExt;
                out.insert(rel.clone() + "/", format!("dir:{:o}", meta.permissions().mode() & 0o7777));
                walk(root, &p, skip, out);
            } else if !meta.is_file() || meta.len() > 256 << 20 {
                // a FIFO or device planted by a hostile-input test is never read (it would
                // block or never end), nor is a huge sparse file: type, size and mtime say enough
                use std::os::unix::fs::MetadataExt;
                out.insert(rel, format!("special:{:o}:{}:{}", meta.mode(), meta.len(), meta.mtime_nsec()));
            } else {
                use std::os::unix::fs::PermissionsExt;
                let b = std::fs::read(&p).unwrap();
                out.insert(
                    rel,
                    format!("{}:{:o}", hex::encode(Sha256::digest(&b)), meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    walk(root, root, skip, &mut out);
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Every token-like secret in a scenario's credentials (and the repo), for leak checks.
pub fn secrets_of(state: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut visit = |v: &serde_json::Value| {
        fn rec(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        if let (true, Some(s)) = (clawauth_core::model::token::is_secret_key(k), x.as_str()) {
                            if s.len() >= 8 {
                                out.push(s.to_string());
                            }
                        }
                        rec(x, out);
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| rec(x, out)),
                _ => {}
            }
        }
        rec(v, &mut out)
    };
    for p in [state.join("agents/main/agent/auth-profiles.json"), state.join("codex-oauth-profiles.json")] {
        if let Ok(b) = std::fs::read(&p) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) {
                visit(&v);
            }
        }
    }
    out
}

/// Assert no secret (nor a long piece of one) appears in text.
pub fn assert_no_secrets(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret leaked into output: …{}…", &s[..s.len().min(12)]);
        // a JWT's payload part is as secret as the whole
        if let Some(payload) = s.split('.').nth(1) {
            if payload.len() > 20 {
                assert!(!text.contains(&payload[..20]), "a JWT payload leaked into output");
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// SQLite layouts (C, D): row-level dumps of the tables clawauth may write. The same helpers as
// tests/sqlite.rs, shared so the crash matrix (tests/hardening.rs) compares rows the same way.

/// The tables whose rows clawauth may write, dumped whole for before/after comparisons.
pub const TABLES: &[&str] = &["auth_profile_store", "auth_profile_state", "config_machine_state", "session_nodes"];

/// Columns of a row that OpenClaw's own write rules (or triggers) derive, compared for every
/// row a transaction did NOT touch and excluded only for the rows it did:
/// `updated_at` / `updated_at_ms` of auth rows: the time of the last write (`Date.now()`),
/// which an undo or a rollback — itself a write — sets to its own time, as OpenClaw would.
/// A `session_nodes` row has none: its `updated_at` follows the entry and its `entry_valid`
/// must be 1 again after every write, exactly as before it.
pub fn derived(table: &str) -> &'static [&'static str] {
    match table {
        "auth_profile_store" | "auth_profile_state" => &["updated_at"],
        "config_machine_state" => &["updated_at_ms"],
        _ => &[],
    }
}

/// Per agent database: every `session_nodes` row's `entry_valid`, and the rows queued in
/// `session_canonical_validation_pending` (OpenClaw's re-validation queue).
pub fn session_validity(fx: &Fx) -> BTreeMap<String, (BTreeMap<String, i64>, Vec<String>)> {
    let mut out = BTreeMap::new();
    for db in databases(&fx.state) {
        let (_tmp, c) = private_copy(&db);
        let has = |t: &str| {
            c.query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1", [t], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
                > 0
        };
        if !has("session_nodes") {
            continue;
        }
        let mut st = c.prepare("SELECT session_key, entry_valid FROM session_nodes").unwrap();
        let flags = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let pending = if has("session_canonical_validation_pending") {
            let mut st = c.prepare("SELECT session_key FROM session_canonical_validation_pending ORDER BY 1").unwrap();
            st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        } else {
            vec![]
        };
        out.insert(db.strip_prefix(&fx.state).unwrap().display().to_string(), (flags, pending));
    }
    out
}

/// OpenClaw 2026.9.6 runs a chat only while its row has `entry_valid = 1`: after any write by
/// clawauth every row must be valid, and no row queued for re-validation that was not before.
pub fn assert_sessions_valid(fx: &Fx, before: &BTreeMap<String, (BTreeMap<String, i64>, Vec<String>)>, what: &str) {
    for (db, (flags, pending)) in session_validity(fx) {
        let invalid: Vec<_> = flags.iter().filter(|(_, v)| **v != 1).collect();
        assert!(invalid.is_empty(), "{what}: {db}: rows OpenClaw would refuse to run: {invalid:?}");
        let queued_before = before.get(&db).map(|(_, p)| p.clone()).unwrap_or_default();
        assert_eq!(pending, queued_before, "{what}: {db}: re-validation queue changed");
    }
}

/// `<db relative path>#<table>[<primary key>]` -> column -> value as text.
pub type Rows = BTreeMap<String, BTreeMap<String, String>>;

/// OpenClaw's databases below a state dir: `state/openclaw.sqlite` and every agent's
/// `openclaw-agent.sqlite`.
pub fn databases(state: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let s = state.join("state/openclaw.sqlite");
    if s.exists() {
        out.push(s);
    }
    if let Ok(rd) = std::fs::read_dir(state.join("agents")) {
        for e in rd.flatten() {
            let p = e.path().join("agent/openclaw-agent.sqlite");
            if p.exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A connection to a private copy of a database (with its `-wal`, if any), so that the test
/// itself never leaves a `-wal`/`-shm` beside OpenClaw's files.
pub fn private_copy(db: &Path) -> (tempfile::TempDir, rusqlite::Connection) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("db.sqlite");
    std::fs::copy(db, &copy).unwrap();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        std::fs::copy(&wal, tmp.path().join("db.sqlite-wal")).unwrap();
    }
    let c = rusqlite::Connection::open_with_flags(&copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    (tmp, c)
}

fn sql_text_of(v: rusqlite::types::ValueRef) -> String {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
    }
}

/// Every row of the tables clawauth may write, in every OpenClaw database of the state dir.
pub fn dump(fx: &Fx) -> Rows {
    dump_with(fx, |_, _| {})
}

/// `dump`, and `PRAGMA integrity_check` of every database reads `ok` (one private copy each).
pub fn dump_checked(fx: &Fx, what: &str) -> Rows {
    dump_with(fx, |db, c| {
        let r: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(r, "ok", "{what}: integrity_check of {}", db.display());
    })
}

fn dump_with(fx: &Fx, check: impl Fn(&Path, &rusqlite::Connection)) -> Rows {
    let mut out = Rows::new();
    for db in databases(&fx.state) {
        let rel = db.strip_prefix(&fx.state).unwrap().display().to_string();
        let (_tmp, c) = private_copy(&db);
        check(&db, &c);
        for table in TABLES {
            let exists: bool = c
                .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1", [table], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap()
                > 0;
            if !exists {
                continue;
            }
            let mut st = c.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let cols: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
            let mut rows = st.query([]).unwrap();
            while let Some(r) = rows.next().unwrap() {
                let mut m = BTreeMap::new();
                for (i, col) in cols.iter().enumerate() {
                    m.insert(col.clone(), sql_text_of(r.get_ref(i).unwrap()));
                }
                // the first column is the primary key of all four tables
                let pk = r.get::<_, String>(0).unwrap();
                out.insert(format!("{rel}#{table}[{pk}]"), m);
            }
        }
    }
    out
}

pub fn table_of(row_key: &str) -> &str {
    let t = row_key.split('#').nth(1).unwrap();
    &t[..t.find('[').unwrap()]
}

/// The rows whose content differs between two dumps (added, removed or changed).
pub fn changed_rows(a: &Rows, b: &Rows) -> std::collections::BTreeSet<String> {
    a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

pub fn without_derived(row_key: &str, row: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let skip = derived(table_of(row_key));
    row.iter().filter(|(c, _)| !skip.contains(&c.as_str())).map(|(c, v)| (c.clone(), v.clone())).collect()
}

/// `after` holds exactly the rows of `before`: every untouched row identical in every column,
/// every row in `touched` identical except its derived columns (see `derived`).
pub fn assert_rows_restored(before: &Rows, after: &Rows, touched: &std::collections::BTreeSet<String>, what: &str) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{what}: the set of rows differs (rows created or deleted)"
    );
    for (k, b) in before {
        let a = &after[k];
        if touched.contains(k) {
            assert_eq!(without_derived(k, b), without_derived(k, a), "{what}: touched row {k} not restored");
        } else {
            assert_eq!(b, a, "{what}: row {k} was never planned but changed");
        }
    }
}

/// `PRAGMA integrity_check` of every database reads `ok`.
pub fn assert_integrity(fx: &Fx, what: &str) {
    for db in databases(&fx.state) {
        let (_tmp, c) = private_copy(&db);
        let r: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(r, "ok", "{what}: integrity_check of {}", db.display());
    }
}

/// Every file below the state dir except the databases (whose bytes carry page layout and
/// timestamps) and clawauth's journal: name -> sha256 and mode.
pub fn files(fx: &Fx) -> BTreeMap<String, String> {
    // `fx.hash()` without its `.sqlite` entries, computed without hashing the databases (the
    // largest files; sha256 is slow in a debug build)
    let dbs: Vec<String> =
        databases(&fx.state).iter().map(|db| db.strip_prefix(&fx.state).unwrap().display().to_string()).collect();
    let mut skip = vec![".clawauth"];
    skip.extend(dbs.iter().map(String::as_str));
    tree_hash(&fx.state, &skip).into_iter().filter(|(k, _)| !k.ends_with(".sqlite")).collect()
}

/// Every path below the state dir (not following symlinks), outside clawauth's journal dir.
pub fn tree_names(root: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if rel == ".clawauth" {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// No `-wal`, `-shm` or `-journal` file is left beside any database.
pub fn assert_no_sidecars(fx: &Fx, what: &str) {
    let left: Vec<String> = tree_names(&fx.state)
        .into_iter()
        .filter(|k| k.ends_with("-wal") || k.ends_with("-shm") || k.ends_with("-journal"))
        .collect();
    assert!(left.is_empty(), "{what}: left beside the databases: {left:?}");
}

/// The document of each step of a journaled transaction, in step order (`show --json`).
pub fn txn_documents(fx: &Fx, txn: i64) -> Vec<String> {
    fx.ok(&["show", &txn.to_string(), "--json"]).json()["transaction"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["document"].as_str().unwrap().to_string())
        .collect()
}

/// Bob's credential broken (access not a JWT, expiring in an hour) in a standard state, and an
/// OpenClaw migration archive beside it holding fresher copies of bob and alice (restore-token).
pub fn broken_bob_with_archive(layout: clawauth_core::model::Layout) -> Fx {
    use clawauth_core::json::{to_bytes, Style};
    let accts = fixture::accounts("openai-codex");
    let (alice, bob) = (&accts[0], &accts[2]);
    let fx = Fx::standard(layout);
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"][&bob.id]["access"] = serde_json::json!("not-a-jwt");
    a["profiles"][&bob.id]["expires"] = serde_json::json!(fixture::REF_NOW_MS + 3_600_000);
    std::fs::write(&p, to_bytes(&a, Style::AUTH_FILE)).unwrap();
    let fresh = fixture::REF_NOW_MS + 10 * 86_400_000;
    let archive = serde_json::json!({"version": 1, "profiles": {
        bob.id.clone(): fixture::credential("openai-codex", bob, fresh, fixture::REF_NOW_MS, 2),
        alice.id.clone(): fixture::credential("openai-codex", alice, fresh, fixture::REF_NOW_MS, 2),
    }});
    std::fs::write(
        fx.agent().join("auth-profiles.json.migrated-20260401-0000-uuid"),
        to_bytes(&archive, Style::AUTH_FILE),
    )
    .unwrap();
    fx
}
