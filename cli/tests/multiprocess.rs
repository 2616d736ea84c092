//! Several copies of clawauth at once (issue 16): the writer lock, owner-checked recovery,
//! atomic claims, the lazily created and self-identifying journal, read-only readers, and a
//! multi-process stress run with OpenClaw-style lock holders and a foreign writer.

mod common;
use common::*;

use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Scenario, REF_NOW_MS};
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
    let b_err = fx.state.with_file_name("recover.stderr");
    let b = {
        let mut c = fx.cmd(&["recover"]);
        c.env("CLAWAUTH_LOCK_TIMEOUT", "30");
        c.stdout(Stdio::piped()).stderr(std::fs::File::create(&b_err).unwrap()).spawn().unwrap()
    };
    // release OpenClaw's lock only once the second copy is really waiting for the writer
    wait_for("the recover to wait for the writer lock", Duration::from_secs(20), || {
        std::fs::read_to_string(&b_err).is_ok_and(|e| e.contains("waiting for pid"))
    });
    std::fs::remove_file(&lock).unwrap();
    let (a, mut b) = (finish(a), finish(b));
    b.stderr = std::fs::read_to_string(&b_err).unwrap();
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
        let mut c = fx.cmd(&["cooldown", "clear", "--all", "--yes", "--json"]);
        c.env("CLAWAUTH_LOCK_TIMEOUT", "0.3");
        run(c)
    };
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(finish(w).code, 0);
    assert_eq!(o.code, 3, "{}", o.all());
    // a held lock is its own kind of error, not a stale plan
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("a JSON error on stdout");
    assert_eq!(v["error"]["kind"], "lock_held", "{}", o.stdout);
    assert_eq!(v["exit"], 3);
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
            "ALTER TABLE txn DROP COLUMN settle; ALTER TABLE txn DROP COLUMN owner_pid; ALTER TABLE txn DROP COLUMN owner_start; ALTER TABLE txn DROP COLUMN owner_host; ALTER TABLE txn DROP COLUMN owner_boot; ALTER TABLE txn DROP COLUMN claim_seq; PRAGMA application_id = 0; PRAGMA user_version = 2;",
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
    assert_eq!((v, a), (clawauth_core::txn::journal::SCHEMA_VERSION, 0x436c_4175));
    let _ = fixture::REF_NOW_MS;
}

// ----------------------------------------------------------------------------------------------
// the multi-process stress run

use clawauth_fixture::Rng;

struct Shape {
    provider: &'static str,
    profiles: [&'static str; 2],
    sessions: [&'static str; 2],
}

#[derive(Default, Debug)]
struct Tally {
    ops: usize,
    applied: usize,
    conflicts: usize,
    killed: usize,
    recovers: usize,
    foreign_writes: usize,
    lost: Vec<String>,
}

/// One random operation; exit 0 or 3 (conflict: stale plan, undo conflict, claim lost) are
/// the only answers a person may get, or 137 for a deliberately killed run.
fn random_op(fx: &Fx, sh: &Shape, rng: &mut Rng, t: &mut Tally) {
    let p = *rng.pick(&sh.profiles);
    let s = *rng.pick(&sh.sessions);
    let q = if p == sh.profiles[0] { sh.profiles[1] } else { sh.profiles[0] };
    let env: Vec<(&str, &str)> = vec![("CLAWAUTH_LOCK_TIMEOUT", "90")];
    let mut args: Vec<String> = match rng.next() % 10 {
        0 | 1 => vec!["pin".into(), s.into(), p.into()],
        2 => vec!["unpin".into(), s.into()],
        3 => vec!["order".into(), "set".into(), sh.provider.into(), p.into(), q.into()],
        4 => vec!["preference".into(), "set".into(), p.into()],
        5 => vec!["cooldown".into(), "clear".into(), "--all".into()],
        6 | 7 => {
            // undo one of the recent applied transactions (may rightly conflict)
            let applied: Vec<i64> =
                txns(fx).iter().filter(|x| x["status"] == "applied").filter_map(|x| x["id"].as_i64()).take(4).collect();
            if applied.is_empty() {
                vec!["recover".into()]
            } else {
                vec!["undo".into(), rng.pick(&applied).to_string()]
            }
        }
        8 => vec!["recover".into()],
        _ => {
            // plan now, apply later (another process may get in between: stale -> exit 3)
            let o = fx.run(&["pin", s, p, "--dry-run", "--json"]);
            assert!(o.code == 0 || o.code == 3, "dry run: {}", o.all());
            match o.code {
                0 if o.json()["outcome"] == "planned" => {
                    vec!["apply".into(), o.json()["txn"].as_i64().unwrap().to_string()]
                }
                _ => vec!["recover".into()],
            }
        }
    };
    if args[0] != "recover" {
        args.push("--yes".into());
    }
    let kill = args[0] != "recover" && rng.next() % 12 == 0;
    let mut c = fx.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for (k, v) in &env {
        c.env(k, v);
    }
    if kill {
        c.env("CLAWAUTH_FAILPOINT", *rng.pick(&["after-intent", "after-step-1", "before-commit"]));
    }
    let o = run(c);
    t.ops += 1;
    match o.code {
        0 => {
            if o.stdout.contains("Applied transaction") {
                t.applied += 1;
            }
            if args[0] == "recover" {
                t.recovers += 1;
            }
        }
        3 => {
            assert!(!o.stderr.contains("writer lock is held"), "{args:?} gave up on the writer lock: {}", o.stderr);
            // a torn transaction recovery cannot place is never a legitimate answer
            assert!(!o.stderr.contains("cannot tell how far it got"), "{args:?}: {}", o.stderr);
            t.conflicts += 1;
        }
        137 if kill => t.killed += 1,
        // OpenClaw (the foreign writer) holding its database past clawauth's busy wait: refused
        // before writing, as with a held OpenClaw lock
        1 if o.stderr.contains("locked") || o.stderr.contains("busy") => t.conflicts += 1,
        // a killed run may end with nothing to do before its failpoint
        _ => panic!("{args:?} (kill {kill}): exit {}:\n{}", o.code, o.all()),
    }
}

/// OpenClaw beside us: rewrites another session's entry under its own lock (B) or in a short
/// `BEGIN IMMEDIATE` (D), checking each time that its previous write survived.
fn foreign_writer(fx_state: PathBuf, layout: Layout, stop: &std::sync::atomic::AtomicBool) -> Tally {
    use clawauth_core::json::{to_bytes, Style};
    let mut t = Tally::default();
    let mut seq = 0u64;
    let other_b = "agent:main:telegram:direct:100000";
    let sessions = fx_state.join("agents/main/sessions/sessions.json");
    let agent_db = fx_state.join("agents/main/agent/openclaw-agent.sqlite");
    let orig: Value = if layout == Layout::B { read_json(&sessions)[other_b].clone() } else { Value::Null };
    let orig_d: Option<String> = (layout == Layout::D).then(|| {
        let c = rusqlite::Connection::open(&agent_db).unwrap();
        c.query_row(
            "SELECT entry_json FROM session_nodes WHERE session_key = 'agent:main:cron:nightly-report'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    });
    loop {
        let done = stop.load(std::sync::atomic::Ordering::Relaxed);
        seq += 1;
        if layout == Layout::B {
            let l = hold_openclaw_lock(sessions.parent().unwrap(), "sessions.json.lock");
            let mut s = read_json(&sessions);
            if seq > 1 && s[other_b]["inputTokens"] != json!(seq - 1) {
                t.lost.push(format!("{other_b} inputTokens: wrote {}, found {}", seq - 1, s[other_b]["inputTokens"]));
            }
            if done {
                s[other_b] = orig.clone();
            } else {
                s[other_b]["inputTokens"] = json!(seq);
            }
            // hold the lock a while, as a slow OpenClaw would
            std::thread::sleep(Duration::from_millis(if seq % 5 == 0 { 40 } else { 2 }));
            let tmp = sessions.with_file_name(format!("sessions.json.{}.tmp", std::process::id()));
            std::fs::write(&tmp, to_bytes(&s, Style::SESSIONS_FILE)).unwrap();
            // OpenClaw writes its stores 0600
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::rename(&tmp, &sessions).unwrap();
            std::fs::remove_file(&l).unwrap();
        } else {
            let mut c = rusqlite::Connection::open(&agent_db).unwrap();
            c.busy_timeout(Duration::from_secs(20)).unwrap();
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
            let cur: String = tx
                .query_row(
                    "SELECT entry_json FROM session_nodes WHERE session_key = 'agent:main:cron:nightly-report'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let v: Value = serde_json::from_str(&cur).unwrap();
            if seq > 1 && v["inputTokens"] != json!(seq - 1) {
                t.lost.push(format!("session_nodes cron inputTokens: wrote {}, found {}", seq - 1, v["inputTokens"]));
            }
            let new = if done {
                orig_d.clone().unwrap()
            } else {
                let mut v = v;
                v["inputTokens"] = json!(seq);
                v.to_string()
            };
            tx.execute(
                "UPDATE session_nodes SET entry_json = ?1 WHERE session_key = 'agent:main:cron:nightly-report'",
                [new],
            )
            .unwrap();
            // as OpenClaw's writer does after its write's triggers reset the flag and queued
            // the row: mark it valid again and take it off the queue, in the same transaction
            tx.execute(
                "UPDATE session_nodes SET entry_valid = 1 WHERE session_key = 'agent:main:cron:nightly-report'",
                [],
            )
            .unwrap();
            let pending: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'session_canonical_validation_pending'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if pending > 0 {
                tx.execute(
                    "DELETE FROM session_canonical_validation_pending WHERE session_key = 'agent:main:cron:nightly-report'",
                    [],
                )
                .unwrap();
            }
            std::thread::sleep(Duration::from_millis(if seq % 5 == 0 { 40 } else { 2 }));
            tx.commit().unwrap();
        }
        t.foreign_writes += 1;
        if done {
            return t;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// A process that takes OpenClaw's `auth-profiles.json.lock` now and then and sits on it.
fn lock_holder(agent: PathBuf, stop: &std::sync::atomic::AtomicBool) -> usize {
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let l = hold_openclaw_lock(&agent, "auth-profiles.json.lock");
        std::thread::sleep(Duration::from_millis(60));
        std::fs::remove_file(&l).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(120));
    }
    n
}

fn snapshot_of(fx: &Fx, layout: Layout) -> (std::collections::BTreeMap<String, String>, Rows) {
    if layout == Layout::D {
        let files = tree_hash(&fx.state, &[".clawauth"]).into_iter().filter(|(k, _)| !k.contains(".sqlite")).collect();
        (files, dump_checked(fx, "stress"))
    } else {
        (fx.hash(), Rows::new())
    }
}

fn stress_on(layout: Layout, procs: usize, per: usize) -> Tally {
    let sh = match layout {
        Layout::D => Shape {
            provider: "openai",
            profiles: ["openai:alice@example.com", "openai:bob@example.com"],
            sessions: ["agent:main:main", "agent:main:discord:channel:2002"],
        },
        _ => Shape {
            provider: "openai-codex",
            profiles: [ALICE, BOB],
            sessions: ["agent:main:main", "agent:main:telegram:direct:1001"],
        },
    };
    let fx = match layout {
        Layout::D => Fx::committed("layout-d"),
        l => Fx::scenario(&Scenario::standard(REF_NOW_MS).with_bulk_sessions(4), l),
    };
    let start = snapshot_of(&fx, layout);
    let doctor_codes = |fx: &Fx| -> Vec<String> {
        let o = fx.run(&["doctor", "--json"]);
        assert!(o.code == 0 || o.code == 4, "doctor: {}", o.all());
        let mut v: Vec<String> = o.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    };
    let doctor0 = doctor_codes(&fx);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tallies, foreign, holds) = std::thread::scope(|s| {
        let st = fx.state.clone();
        let stop_r = &stop;
        let f = s.spawn(move || foreign_writer(st, layout, stop_r));
        let agent = fx.agent();
        let h = (layout != Layout::D).then(|| s.spawn(move || lock_holder(agent, stop_r)));
        let workers: Vec<_> = (0..procs)
            .map(|i| {
                let (fx, sh) = (&fx, &sh);
                s.spawn(move || {
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001) ^ layout as u64);
                    let mut t = Tally::default();
                    for _ in 0..per {
                        random_op(fx, sh, &mut rng, &mut t);
                    }
                    t
                })
            })
            .collect();
        // stop the helpers before a worker's panic is passed on, or the scope would wait forever
        let joined: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let tallies: Vec<Tally> =
            joined.into_iter().map(|r| r.unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        (tallies, f.join().unwrap(), h.map(|h| h.join().unwrap()).unwrap_or(0))
    });
    let mut t = Tally::default();
    for x in &tallies {
        t.ops += x.ops;
        t.applied += x.applied;
        t.conflicts += x.conflicts;
        t.killed += x.killed;
        t.recovers += x.recovers;
    }
    t.foreign_writes = foreign.foreign_writes;
    t.lost = foreign.lost;
    assert!(t.lost.is_empty(), "{layout:?}: the foreign writer lost updates: {:?}", t.lost);
    // finish what the killed runs left; then nothing is applying and every file parses
    fx.ok(&["recover"]);
    let all = txns(&fx);
    assert!(all.iter().all(|x| x["status"] != "applying"), "{layout:?}: left applying");
    for (rel, _) in tree_hash(&fx.state, &[".clawauth"]) {
        let p = fx.state.join(&rel);
        if rel.ends_with(".json") && p.is_file() {
            serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{layout:?}: {rel} does not parse: {e}"));
        }
    }
    if layout == Layout::D {
        dump_checked(&fx, "after the stress run");
    }
    doctor_codes(&fx);
    // undo every applied transaction, newest first: each must go through
    // newest first by when each began writing (a saved plan is applied after later ids)
    let seq: std::collections::HashMap<i64, i64> = {
        let c = rusqlite::Connection::open_with_flags(
            fx.state.join(".clawauth/journal.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut st = c.prepare("SELECT id, COALESCE(claim_seq, 0) FROM txn").unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    let mut order: Vec<&Value> = all.iter().filter(|x| x["status"] == "applied").collect();
    order.sort_by_key(|x| std::cmp::Reverse(seq[&x["id"].as_i64().unwrap()]));
    let mut refused = vec![];
    for x in order {
        let id = x["id"].as_i64().unwrap().to_string();
        let o = fx.run(&["undo", &id, "--yes"]);
        if o.code != 0 {
            refused.push(format!("undo {id} ({}): {}", x["summary"], o.stderr));
        }
    }
    assert!(refused.is_empty(), "{layout:?}: {} undo(s) refused:\n{}", refused.len(), refused.join("\n"));
    let end = snapshot_of(&fx, layout);
    assert_eq!(start.0, end.0, "{layout:?}: files not back to the start");
    if layout == Layout::D {
        let touched = changed_rows(&start.1, &end.1);
        assert_rows_restored(&start.1, &end.1, &touched, "stress D");
    }
    assert_eq!(doctor_codes(&fx), doctor0, "{layout:?}: doctor differs from the start");
    let statuses = |s: &str| all.iter().filter(|x| x["status"] == s).count();
    println!(
        "stress {layout:?}: {procs} processes x {per} operations = {} runs ({} applied, {} conflicts exit 3, {} killed, {} recovers), journal {} txns: {} applied, {} rolled back, {} failed; foreign writes {}, OpenClaw lock holds {holds}, lost updates 0, {} undos newest-first all applied, state back byte-identical",
        t.ops, t.applied, t.conflicts, t.killed, t.recovers, all.len(), statuses("applied"), statuses("rolled back"), statuses("failed"), t.foreign_writes,
        statuses("applied")
    );
    t
}

/// Defect 10: N processes x M random mutations, undos, recovers and kills on layouts B and D,
/// beside OpenClaw-style lock holders and a foreign writer; then every applied transaction
/// undone newest-first returns the state to the start.
#[test]
fn stress_many_processes_random_operations_lose_nothing() {
    let t0 = Instant::now();
    let (procs, per) = (6, 20);
    let b = stress_on(Layout::B, procs, per);
    let d = stress_on(Layout::D, procs, per);
    assert!(b.applied > 0 && d.applied > 0);
    println!("stress total: {:.1}s", t0.elapsed().as_secs_f64());
}
