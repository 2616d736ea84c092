//! Several copies of clawauth at once (issue 16): the writer lock, owner-checked recovery,
//! atomic claims, the lazily created and self-identifying journal, read-only readers, and a
//! multi-process stress run with OpenClaw-style lock holders and a foreign writer.

mod common;
use common::*;

use clawauth::fixture::{self, Scenario, REF_NOW_MS};
use clawauth::model::Layout;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const ALICE: &str = "openai-codex:alice@example.com";
const BOB: &str = "openai-codex:bob@example.com";

fn spawn(fx: &Fx, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = fx.cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(c: Child) -> Out {
    let o = c.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    Out {
        code: o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn txns(fx: &Fx) -> Vec<Value> {
    let o = fx.run(&["log", "--json", "--limit", "100000"]);
    if o.code != 0 {
        return vec![];
    }
    o.json()["transactions"].as_array().cloned().unwrap_or_default()
}

/// Every file below the state dir, journal included.
fn full(fx: &Fx) -> std::collections::BTreeMap<String, String> {
    tree_hash(&fx.state, &[])
}

/// An OpenClaw-style lock (`O_EXCL`, `{pid, createdAt}`) held by this (live) test process.
fn hold_openclaw_lock(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let t0 = Instant::now();
    loop {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => {
                use std::io::Write;
                let mut f = f;
                let body = json!({"pid": std::process::id(), "createdAt": "2026-05-01T12:05:00.000Z"});
                f.write_all(serde_json::to_string_pretty(&body).unwrap().as_bytes()).unwrap();
                return p;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                assert!(t0.elapsed() < Duration::from_secs(20), "{} held for 20 s", p.display());
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Defect 1: `recover` (run first by every mutation) must not roll back a transaction whose
/// owner is alive and waiting for OpenClaw's `sessions.json.lock`.
#[test]
fn recover_leaves_a_live_owners_applying_transaction_alone() {
    let fx = Fx::scenario(&Scenario::standard(REF_NOW_MS), Layout::B);
    // reference: which documents the rename writes
    let reference = Fx::scenario(&Scenario::standard(REF_NOW_MS), Layout::B);
    reference.ok(&["profile", "rename", ALICE, "openai-codex:alice-personal", "--yes"]);
    let docs = txn_documents(&reference, 1);
    assert!(docs.len() >= 3 && docs.last().unwrap().ends_with("sessions.json"), "{docs:?}");
    let after = reference.hash();

    let lock = hold_openclaw_lock(fx.sessions().parent().unwrap(), "sessions.json.lock");
    let a = spawn(&fx, &["profile", "rename", ALICE, "openai-codex:alice-personal", "--yes"], &[]);
    wait_for("the rename to record its intent", Duration::from_secs(10), || {
        txns(&fx).first().is_some_and(|t| t["status"] == "applying")
    });
    // a second copy (cron, a chat helper) runs a mutation meanwhile: it waits for the writer
    let b = spawn(&fx, &["recover"], &[("CLAWAUTH_LOCK_TIMEOUT", "30")]);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::remove_file(&lock).unwrap();
    let (a, b) = (finish(a), finish(b));
    assert_eq!(a.code, 0, "{}", a.all());
    assert!(a.stdout.contains("Applied transaction 1"), "{}", a.all());
    assert_eq!(b.code, 0, "{}", b.all());
    assert!(b.stderr.contains("waiting for pid"), "the waiter says who holds the lock:\n{}", b.stderr);
    assert!(b.stdout.contains("No interrupted transactions."), "{}", b.all());
    let t = txns(&fx);
    assert_eq!((t.len(), t[0]["status"].as_str()), (1, Some("applied")), "{t:?}");
    assert_eq!(fx.hash(), after, "every document renamed, none rolled back");
}

/// Defect 1, the other half: an `applying` transaction whose owner died is still recovered, and
/// the owner is recorded.
#[test]
fn recover_rolls_back_only_a_dead_owners_transaction() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    let mut c = fx.cmd(&["profile", "remove", ALICE, "--yes"]);
    c.env("CLAWAUTH_FAILPOINT", "after-step-1");
    assert_eq!(run(c).code, 137);
    assert!(txn_documents(&fx, 1).len() >= 2);
    let r = fx.ok(&["recover"]);
    assert!(r.stdout.contains("transaction 1"), "{}", r.stdout);
    assert_eq!(fx.hash(), before);
    let t = txns(&fx);
    assert_eq!(t.iter().find(|x| x["id"] == 1).unwrap()["status"], "rolled back");
}

/// Defect 2: two parallel `apply N` of one saved plan: exactly one wins, the other exits 3.
#[test]
fn parallel_apply_of_one_saved_plan_exactly_one_wins() {
    for layout in [Layout::B, Layout::A] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        fx.ok(&["profile", "remove", ALICE, "--dry-run"]);
        let kids: Vec<Child> =
            (0..3).map(|_| spawn(&fx, &["apply", "1", "--yes"], &[("CLAWAUTH_LOCK_TIMEOUT", "30")])).collect();
        let outs: Vec<Out> = kids.into_iter().map(finish).collect();
        let won = outs.iter().filter(|o| o.code == 0).count();
        assert_eq!(won, 1, "{layout:?}: {:?}", outs.iter().map(|o| o.all()).collect::<Vec<_>>());
        for o in outs.iter().filter(|o| o.code != 0) {
            assert_eq!(o.code, 3, "{}", o.all());
            assert!(o.stderr.contains("transaction 1 is applied, not planned"), "{}", o.stderr);
        }
        let t = txns(&fx);
        assert_eq!((t.len(), t[0]["status"].as_str()), (1, Some("applied")));
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(fx.hash(), before, "{layout:?}: undo restores");
    }
}

/// Defects 3 and 9: two parallel `undo N` of a multi-document transaction: one undoes, the other
/// exits 3; the files are whole and the journal records one undo.
#[test]
fn parallel_undo_of_a_multi_document_transaction_exactly_one_wins() {
    for layout in [Layout::B, Layout::A] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        fx.ok(&["profile", "remove", ALICE, "--yes"]);
        assert!(txn_documents(&fx, 1).len() >= 2);
        let kids: Vec<Child> =
            (0..3).map(|_| spawn(&fx, &["undo", "1", "--yes"], &[("CLAWAUTH_LOCK_TIMEOUT", "30")])).collect();
        let outs: Vec<Out> = kids.into_iter().map(finish).collect();
        assert_eq!(outs.iter().filter(|o| o.code == 0).count(), 1, "{layout:?}");
        for o in outs.iter().filter(|o| o.code != 0) {
            assert_eq!(o.code, 3, "{}", o.all());
            assert!(o.stderr.contains("already undone by transaction 2"), "{}", o.stderr);
        }
        assert_eq!(fx.hash(), before);
        let undos: Vec<Value> = txns(&fx).into_iter().filter(|t| t["kind"] == "undo").collect();
        assert_eq!(undos.len(), 1, "{undos:?}");
        assert_eq!(undos[0]["status"], "applied");
    }
}

/// Defect 4: parallel first mutations on a state dir without a journal all succeed, as do
/// parallel first uses of one `--journal` shared by two state dirs (no writer lock between them).
#[test]
fn parallel_first_mutations_all_succeed() {
    let fx = Fx::standard(Layout::B);
    let cmds: Vec<Vec<&str>> = vec![
        vec!["pin", "agent:main:main", BOB, "--yes"],
        vec!["order", "set", "openai-codex", BOB, ALICE, "--yes"],
        vec!["cooldown", "clear", "--all", "--yes"],
        vec!["preference", "set", BOB, "--yes"],
    ];
    let kids: Vec<Child> = cmds.iter().map(|c| spawn(&fx, c, &[("CLAWAUTH_LOCK_TIMEOUT", "30")])).collect();
    for o in kids.into_iter().map(finish) {
        assert_eq!(o.code, 0, "{}", o.all());
    }
    assert_eq!(txns(&fx).len(), 4);

    let shared = tempfile::tempdir().unwrap();
    let j = shared.path().join("sub/shared.db");
    let fxs: Vec<Fx> = (0..4).map(|_| Fx::standard(Layout::B)).collect();
    let kids: Vec<Child> = fxs
        .iter()
        .map(|f| spawn(f, &["pin", "agent:main:main", BOB, "--yes", "--journal", j.to_str().unwrap()], &[]))
        .collect();
    for o in kids.into_iter().map(finish) {
        assert_eq!(o.code, 0, "{}", o.all());
    }
    let o = fxs[0].ok(&["log", "--json", "--journal", j.to_str().unwrap()]);
    assert_eq!(o.json()["transactions"].as_array().unwrap().len(), 4);
}

/// Defect 5: a refused, declined, no-op or usage-error mutation leaves the state dir
/// byte-identical (no journal created); on a read-only state dir the real error shows.
#[test]
fn refused_declined_noop_and_usage_error_runs_create_no_journal() {
    let fx = Fx::standard(Layout::B);
    let before = full(&fx);
    for (args, code) in [
        (vec!["pin", "agent:main:main", BOB], 1), // declined: no terminal
        (vec!["pin", "agent:main:main", "openai-codex:zed", "--yes"], 1), // refused
        (vec!["unpin", "agent:main:main", "--yes"], 0), // nothing to do
        (vec!["pin", "agent:main:main", BOB, "--source", "robot", "--yes"], 2), // usage
        (vec!["apply", "7", "--yes"], 1),
        (vec!["undo", "7", "--yes"], 1),
        (vec!["recover"], 0),
        (vec!["doctor", "--fix"], -1),
    ] {
        let o = fx.run(&args);
        assert!(code < 0 || o.code == code, "{args:?}: {}", o.all());
        assert_eq!(full(&fx), before, "{args:?} changed the state dir");
    }
    assert!(!fx.state.join(".clawauth").exists());
    // a read-only state dir: the planner's own error, not a journal error
    let d = fx.state.clone();
    let mount = |args: &[&str]| std::process::Command::new("mount").args(args).arg(&d).arg(&d).status();
    if !mount(&["--bind"]).map(|s| s.success()).unwrap_or(false) {
        println!("SKIPPED read-only state dir: cannot mount");
        return;
    }
    let ro = std::process::Command::new("mount").args(["-o", "remount,ro,bind"]).arg(&d).status().unwrap().success();
    let o = fx.run(&["pin", "agent:main:main", "openai-codex:zed", "--yes"]);
    let l = fx.run(&["log"]);
    std::process::Command::new("umount").arg(&d).status().unwrap();
    assert!(ro);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("no profile 'openai-codex:zed'") && !o.stderr.contains("journal"), "{}", o.stderr);
    assert_eq!(l.code, 0, "{}", l.all());
    assert_eq!(full(&fx), before);
}

/// Defects 6 and 9: `--journal` at an OpenClaw database is refused without a byte written (its
/// schema version, `-wal` and `-shm` untouched), by writers and readers alike.
#[test]
fn journal_refuses_a_database_that_is_not_its_own() {
    let fx = Fx::committed("layout-c");
    let db = fx.agent().join("openclaw-agent.sqlite");
    let v0: i64 = rusqlite::Connection::open(&db).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let before = full(&fx);
    for args in [
        vec!["pin", "agent:main:main", "openai:bob@example.com", "--yes"],
        vec!["log"],
        vec!["show", "1"],
        vec!["recover"],
    ] {
        let mut a = args.clone();
        a.extend(["--journal", db.to_str().unwrap()]);
        let o = fx.run(&a);
        assert_ne!(o.code, 0, "{a:?}");
        assert!(
            o.stderr.contains("OpenClaw's agent database") && o.stderr.contains("openclaw-agent.sqlite"),
            "{}",
            o.stderr
        );
        assert_eq!(full(&fx), before, "{a:?} wrote to it");
    }
    let v1: i64 = rusqlite::Connection::open(&db).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v0, v1);

    // a newer OpenClaw database, left with its -wal and -shm (OpenClaw not running)
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live/openclaw.sqlite");
    std::fs::create_dir_all(live.parent().unwrap()).unwrap();
    std::fs::copy(fx.state.join("state/openclaw.sqlite"), &live).ok();
    if !live.exists() {
        std::fs::copy(&db, &live).unwrap();
    }
    let conn = rusqlite::Connection::open(&live).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 99; CREATE TABLE session_nodes_probe (x); INSERT INTO session_nodes_probe VALUES (1);",
    )
    .unwrap();
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for s in ["", "-wal", "-shm"] {
        std::fs::copy(format!("{}{s}", live.display()), copy.join(format!("openclaw.sqlite{s}"))).unwrap();
    }
    drop(conn);
    let j = copy.join("openclaw.sqlite");
    let b = tree_hash(&copy, &[]);
    for args in [vec!["pin", "agent:main:main", "openai:bob@example.com", "--yes"], vec!["log"]] {
        let mut a = args.clone();
        a.extend(["--journal", j.to_str().unwrap()]);
        let o = fx.run(&a);
        assert_ne!(o.code, 0, "{a:?}");
        assert!(o.stderr.contains("not a clawauth journal"), "{}", o.stderr);
        assert_eq!(tree_hash(&copy, &[]), b, "{a:?} touched the database or its -wal/-shm");
    }
}

/// Defect 7: `--journal j.db` (a bare name) is relative to the working directory.
#[test]
fn journal_accepts_a_bare_file_name() {
    let fx = Fx::standard(Layout::B);
    let cwd = tempfile::tempdir().unwrap();
    let mut c = fx.cmd(&["pin", "agent:main:main", BOB, "--yes", "--journal", "j.db"]);
    c.current_dir(cwd.path());
    let o = run(c);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(cwd.path().join("j.db").is_file());
    let mut c = fx.cmd(&["log", "--json", "--journal", "j.db"]);
    c.current_dir(cwd.path());
    let o = run(c);
    assert_eq!(o.json()["transactions"].as_array().unwrap().len(), 1);
    // and an existing journal of schema 2 (no application_id yet) keeps working
    assert!(!fx.state.join(".clawauth").exists());
}

/// Defect 8: `log` and `show` open the journal read-only: in a read-only directory, and while
/// a writer holds the writer lock, they answer at once.
#[test]
fn log_and_show_need_no_write_and_never_wait() {
    let fx = Fx::standard(Layout::B);
    fx.ok(&["pin", "agent:main:main", BOB, "--yes"]);
    let before = full(&fx);
    let d = fx.state.join(".clawauth");
    let mount = |args: &[&str]| std::process::Command::new("mount").args(args).arg(&d).arg(&d).status();
    if mount(&["--bind"]).map(|s| s.success()).unwrap_or(false) {
        let ro =
            std::process::Command::new("mount").args(["-o", "remount,ro,bind"]).arg(&d).status().unwrap().success();
        let l = fx.run(&["log"]);
        let s = fx.run(&["show", "1"]);
        std::process::Command::new("umount").arg(&d).status().unwrap();
        assert!(ro);
        assert_eq!(l.code, 0, "{}", l.all());
        assert!(l.stdout.contains("pin"), "{}", l.stdout);
        assert_eq!(s.code, 0, "{}", s.all());
    } else {
        println!("SKIPPED read-only journal dir: cannot mount");
    }
    assert_eq!(full(&fx), before);
    // a writer waiting on OpenClaw's lock holds the writer lock: readers do not wait for it
    let lock = hold_openclaw_lock(fx.sessions().parent().unwrap(), "sessions.json.lock");
    let w = spawn(&fx, &["unpin", "agent:main:main", "--yes"], &[]);
    wait_for("the writer's intent", Duration::from_secs(10), || txns(&fx).len() == 2);
    let t0 = Instant::now();
    let l = fx.run(&["log"]);
    let s = fx.run(&["show", "2"]);
    let waited = t0.elapsed();
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(finish(w).code, 0);
    assert_eq!((l.code, s.code), (0, 0), "{}\n{}", l.all(), s.all());
    assert!(l.stdout.contains("applying"), "{}", l.stdout);
    assert!(waited < Duration::from_secs(2), "readers waited {waited:?}");
}

/// Defect 9: parallel `preference set` runs all succeed (one writer at a time).
#[test]
fn parallel_preference_sets_all_succeed() {
    let fx = Fx::standard(Layout::B);
    let kids: Vec<Child> = (0..6)
        .map(|i| {
            spawn(
                &fx,
                &["preference", "set", if i % 2 == 0 { BOB } else { ALICE }, "--yes"],
                &[("CLAWAUTH_LOCK_TIMEOUT", "30")],
            )
        })
        .collect();
    for o in kids.into_iter().map(finish) {
        assert_eq!(o.code, 0, "{}", o.all());
        assert!(!o.stderr.contains("did not read back"), "{}", o.stderr);
    }
}

/// A second writer gives up after the bounded wait with exit 3, naming the holder.
#[test]
fn a_second_writer_waits_then_exits_3_naming_the_holder() {
    let fx = Fx::standard(Layout::B);
    let lock = hold_openclaw_lock(fx.sessions().parent().unwrap(), "sessions.json.lock");
    let w = spawn(&fx, &["pin", "agent:main:main", BOB, "--yes"], &[]);
    wait_for("the writer's intent", Duration::from_secs(10), || !txns(&fx).is_empty());
    let o = {
        let mut c = fx.cmd(&["cooldown", "clear", "--all", "--yes"]);
        c.env("CLAWAUTH_LOCK_TIMEOUT", "0.3");
        run(c)
    };
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(finish(w).code, 0);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(
        o.stderr.contains("writer lock is held by pid") && o.stderr.contains("pin agent:main:main"),
        "{}",
        o.stderr
    );
}

/// An existing journal of schema 2 (before owners and application_id) is migrated and kept.
#[test]
fn a_schema_2_journal_keeps_working() {
    let fx = Fx::standard(Layout::B);
    fx.ok(&["pin", "agent:main:main", BOB, "--yes"]);
    let j = fx.state.join(".clawauth/journal.db");
    {
        let c = rusqlite::Connection::open(&j).unwrap();
        c.execute_batch(
            "ALTER TABLE txn DROP COLUMN owner_pid; ALTER TABLE txn DROP COLUMN owner_start; ALTER TABLE txn DROP COLUMN owner_host; ALTER TABLE txn DROP COLUMN owner_boot; PRAGMA application_id = 0; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    fx.ok(&["log"]);
    fx.ok(&["undo", "1", "--yes"]);
    let c = rusqlite::Connection::open(&j).unwrap();
    let (v, a): (i64, i64) = (
        c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap(),
        c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap(),
    );
    assert_eq!((v, a), (3, 0x436c_4175));
    let _ = fixture::REF_NOW_MS;
}
