//! Hardening: the safety promises as numbers. A crash matrix (every workflow killed at every
//! point between two writes, then `recover`), a concurrent OpenClaw-style writer, a corpus of
//! malformed inputs, a secrets walk over every command and fixture, and file modes. Run with
//! `--nocapture` to see the figures the README quotes.

mod common;
use common::*;

use clawauth::fixture::{self, Account, Scenario, REF_NOW_MS};
use clawauth::jsondoc::{to_bytes, Style};
use clawauth::model::Layout;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ALICE: &str = "openai-codex:alice@example.com";
const TEAM: &str = "openai-codex:alice-team";
const BOB: &str = "openai-codex:bob@example.com";

fn write_json(p: &Path, v: &Value, style: Style) {
    std::fs::write(p, to_bytes(v, style)).unwrap();
}

fn run_env(fx: &Fx, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = fx.cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c)
}

fn bob() -> Account {
    fixture::accounts("openai-codex").remove(2)
}

fn no_panic(o: &Out, what: &str) {
    assert!(!o.stderr.contains("panicked") && o.code != 101 && o.code < 128, "{what}: exit {}:\n{}", o.code, o.all());
}

/// The state file that holds the order, per layout.
fn state_file(fx: &Fx, layout: Layout) -> PathBuf {
    if layout == Layout::A {
        fx.agent().join("auth-profiles.json")
    } else {
        fx.agent().join("auth-state.json")
    }
}

// ----------------------------------------------------------------------------------------------
// scenarios shared by the matrix (each deterministic: the clock, user and host are pinned)

fn standard(layout: Layout) -> Fx {
    Fx::standard(layout)
}

/// Inline order in auth-profiles.json beside the sidecar's (B): `order clear` writes two files.
fn two_orders(layout: Layout) -> Fx {
    let fx = Fx::standard(layout);
    if layout == Layout::B {
        let pa = fx.agent().join("auth-profiles.json");
        let mut a = read_json(&pa);
        a["order"] = json!({"openai-codex": [BOB]});
        write_json(&pa, &a, Style::AUTH_FILE);
    }
    fx
}

/// Auto pins made stale by an order putting bob first (resync: one step per chat).
fn stale_pins(layout: Layout) -> Fx {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.order.insert("openai-codex".into(), json!([BOB, ALICE, TEAM]));
    let s = &mut sc.sessions;
    s["agent:main:main"]["authProfileOverride"] = json!(TEAM);
    s["agent:main:main"]["authProfileOverrideSource"] = json!("auto");
    s["agent:main:main"]["authProfileOverrideCompactionCount"] = json!(0);
    s["agent:main:cron:nightly-report"]["authProfileOverride"] = json!("openai-codex:gone@example.com");
    s["agent:main:cron:nightly-report"]["authProfileOverrideSource"] = json!("auto");
    s["agent:main:cron:nightly-report"]["authProfileOverrideCompactionCount"] = json!(0);
    Fx::scenario(&sc, layout)
}

/// Config metadata and a stored preference naming alice: rename touches four documents.
fn with_preference(layout: Layout) -> Fx {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.config = Some(json!({"auth": {"profiles": {ALICE: {"provider": "openai-codex", "mode": "oauth"}}}}));
    sc.preference = Some(ALICE.into());
    Fx::scenario(&sc, layout)
}

/// A stale `openai-codex:default` beside bob's named profile (merge).
fn duplicate(layout: Layout) -> Fx {
    let mut sc = Scenario::standard(REF_NOW_MS);
    let mut dflt = fixture::credential("openai-codex", &bob(), REF_NOW_MS + 86_400_000, REF_NOW_MS, 0);
    dflt["email"] = json!("bob@example.com");
    sc.profiles.insert("openai-codex:default".into(), dflt);
    sc.order.insert("openai-codex".into(), json!(["openai-codex:default", TEAM, ALICE, BOB]));
    sc.sessions["agent:main:main"]["authProfileOverride"] = json!("openai-codex:default");
    sc.sessions["agent:main:main"]["authProfileOverrideSource"] = json!("user");
    Fx::scenario(&sc, layout)
}

/// The external-router setup: repo, active slot holding bob, preference (activate).
fn router(layout: Layout) -> Fx {
    Fx::scenario(&Scenario::standard(REF_NOW_MS).with_router(), layout)
}

// ----------------------------------------------------------------------------------------------
// 1. crash matrix

struct Wf {
    name: &'static str,
    setup: fn(Layout) -> Fx,
    /// Commands run (uninterrupted) before the one under test.
    pre: &'static [&'static [&'static str]],
    cmd: &'static [&'static str],
}

const WORKFLOWS: &[Wf] = &[
    Wf { name: "order set", setup: standard, pre: &[], cmd: &["order", "set", "openai-codex", BOB, ALICE, "--yes"] },
    Wf { name: "order clear", setup: two_orders, pre: &[], cmd: &["order", "clear", "openai-codex", "--yes"] },
    Wf { name: "pin", setup: standard, pre: &[], cmd: &["pin", "agent:main:main", BOB, "--yes"] },
    Wf { name: "unpin", setup: standard, pre: &[], cmd: &["unpin", "agent:main:telegram:direct:1001", "--yes"] },
    Wf { name: "restore-token", setup: broken_bob_with_archive, pre: &[], cmd: &["restore-token", BOB, "--yes"] },
    Wf { name: "resync", setup: stale_pins, pre: &[], cmd: &["resync", "--yes"] },
    Wf {
        name: "activate",
        setup: router,
        pre: &[],
        cmd: &["activate", ALICE, "--session", "agent:main:main", "--yes"],
    },
    Wf { name: "cooldown clear", setup: standard, pre: &[], cmd: &["cooldown", "clear", "--all", "--yes"] },
    Wf { name: "profile remove", setup: standard, pre: &[], cmd: &["profile", "remove", ALICE, "--yes"] },
    Wf {
        name: "profile rename",
        setup: with_preference,
        pre: &[],
        cmd: &["profile", "rename", ALICE, "openai-codex:alice-personal", "--yes"],
    },
    Wf {
        name: "profile merge",
        setup: duplicate,
        pre: &[],
        cmd: &["profile", "merge", BOB, "openai-codex:default", "--yes"],
    },
    Wf { name: "preference set", setup: standard, pre: &[], cmd: &["preference", "set", BOB, "--yes"] },
    Wf {
        name: "undo (of profile remove)",
        setup: standard,
        pre: &[&["profile", "remove", ALICE, "--yes"]],
        cmd: &["undo", "1", "--yes"],
    },
    Wf { name: "undo (of resync)", setup: stale_pins, pre: &[&["resync", "--yes"]], cmd: &["undo", "1", "--yes"] },
];

/// The JSON layouts, compared by file hashes. The SQLite layouts C and D have their own matrix
/// (`SQL_WORKFLOWS`, `SQL_LAYOUTS`): they compare database rows, not file bytes — a rolled-back
/// cell leaves the same rows in different pages.
const MATRIX_LAYOUTS: &[Layout] = &[Layout::A, Layout::B];

fn transactions(fx: &Fx) -> Vec<Value> {
    fx.ok(&["log", "--json", "--limit", "1000"]).json()["transactions"].as_array().unwrap().clone()
}

fn prepared(wf: &Wf, layout: Layout) -> Fx {
    let fx = (wf.setup)(layout);
    for p in wf.pre {
        fx.ok(p);
    }
    fx
}

/// Kill `wf` at every failpoint on `layout`, recover, and check all-before or all-after.
/// Returns the number of kill points, and how many distinct moments between writes they hit.
fn crash_one(wf: &Wf, layout: Layout) -> (usize, usize) {
    let what = format!("{} on {layout:?}", wf.name);
    // the uninterrupted run on a copy gives the all-after state and the step count
    let reference = prepared(wf, layout);
    let before = reference.hash();
    let o = reference.ok(wf.cmd);
    assert!(o.stdout.contains("Applied transaction"), "{what}: {}", o.stdout);
    let after = reference.hash();
    assert_ne!(before, after, "{what}: the command changed nothing");
    let txns = transactions(&reference);
    let txn = txns[0]["id"].as_i64().unwrap();
    let docs = txn_documents(&reference, txn);
    let steps = docs.len();
    assert!(steps >= 1, "{what}");
    // consecutive steps on one document are written as one atomic rewrite (engine::step_groups):
    // a kill after step k has written everything up to the end of k's run of steps
    let written_through = |k: usize| {
        let mut j = k;
        while j < steps && docs[j] == docs[k - 1] {
            j += 1;
        }
        j
    };
    let mut points = vec!["after-intent".to_string()];
    points.extend((1..=steps).map(|i| format!("after-step-{i}")));
    points.push("before-commit".into());

    for point in &points {
        let what = format!("{what} killed at {point}");
        let fx = prepared(wf, layout);
        assert_eq!(before, fx.hash(), "{what}: setup is not deterministic");
        let o = run_env(&fx, wf.cmd, &[("CLAWAUTH_FAILPOINT", point)]);
        assert_eq!(o.code, 128 + 9, "{what}: expected SIGKILL, got {}:\n{}", o.code, o.all());
        let t = transactions(&fx);
        assert_eq!(t[0]["id"].as_i64(), Some(txn), "{what}");
        assert_eq!(t[0]["status"], "applying", "{what}");

        let r = fx.ok(&["recover"]);
        let k: Option<usize> = point.strip_prefix("after-step-").map(|n| n.parse().unwrap());
        let reached_end = point == "before-commit" || k.is_some_and(|k| written_through(k) == steps);
        let now = fx.hash();
        let t = transactions(&fx);
        let killed = t.iter().find(|x| x["id"].as_i64() == Some(txn)).unwrap();
        if reached_end {
            assert!(now == after, "{what}: not all-after:\n{}", r.stdout);
            assert_eq!(killed["status"], "applied", "{what}");
        } else {
            assert!(now == before, "{what}: not all-before:\n{}", r.stdout);
            assert_eq!(killed["status"], "rolled back", "{what}");
        }
        // the journal is consistent: nothing left applying, a recovery txn (if any) applied
        for x in &t {
            assert_ne!(x["status"], "applying", "{what}: {x}");
            if x["kind"] == "recover" {
                assert_eq!((x["status"].as_str(), x["reverts_txn"].as_i64()), (Some("applied"), Some(txn)), "{what}");
            }
        }
        let recoveries = t.iter().filter(|x| x["kind"] == "recover").count();
        assert_eq!(recoveries, usize::from(!reached_end && point != "after-intent"), "{what}");
        assert_eq!(fx.ok(&["recover"]).stdout.trim(), "No interrupted transactions.", "{what}");
        // a transaction recovered as applied is an ordinary one: undo takes it back. Every point
        // that reached the end recovers to the same rows, files and journal (asserted above), so
        // one undo per workflow and layout, from the last point, stands for all of them
        if point == "before-commit" {
            fx.ok(&["undo", &txn.to_string(), "--force", "--yes"]);
            assert!(fx.hash() == before, "{what}: undo after recovery did not restore the before-state");
        }
    }
    // distinct moments between two writes: one per written document run, plus before the first
    let writes = 1 + steps - docs.windows(2).filter(|w| w[0] == w[1]).count();
    (points.len(), writes)
}

#[test]
fn crash_matrix_every_workflow_every_failpoint_recovers() {
    let cells: Vec<(&Wf, Layout)> =
        WORKFLOWS.iter().flat_map(|w| MATRIX_LAYOUTS.iter().map(move |l| (w, *l))).collect();
    let results: Vec<(String, Layout, (usize, usize))> = std::thread::scope(|s| {
        let handles: Vec<_> = cells
            .chunks(cells.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk.iter().map(|(w, l)| (w.name.to_string(), *l, crash_one(w, *l))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let total: usize = results.iter().map(|r| r.2 .0).sum();
    let moments: usize = results.iter().map(|r| r.2 .1).sum();
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (w, l, n) in &results {
        per.entry(w.clone()).or_default().push(format!("{l:?}:{}", n.0));
    }
    println!(
        "crash matrix: {total} kill points ({moments} distinct moments between writes) over {} workflows x {} layouts ({}), all recovered to all-before or all-after",
        WORKFLOWS.len(),
        MATRIX_LAYOUTS.len(),
        MATRIX_LAYOUTS.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
    );
    for (w, v) in per {
        println!("  {w:<28} points {}", v.join(" "));
    }
}

// the same matrix on the SQLite layouts (C: per-agent `openclaw-agent.sqlite` + sessions.json;
// D: shared `state/openclaw.sqlite` + agent overlay + `session_nodes`), on the committed
// real-OpenClaw fixtures, whose profile ids are `openai:*`

const O_BOB: &str = "openai:bob@example.com";
const O_ALICE: &str = "openai:alice@example.com";

struct SqlWf {
    name: &'static str,
    /// Set up from `fixtures/layout-{c,d}-router` (repo, active slot, preference, pins on
    /// retired `openai-codex:*` ids) instead of `fixtures/layout-{c,d}`.
    router: bool,
    /// Test-side edits of the fixture (SQL), made once on the shared base copy.
    setup: fn(&Fx),
    /// Commands run (uninterrupted) before the one under test, on every copy: the journal
    /// records absolute paths, so a journal is never copied from one state dir to another.
    pre: &'static [&'static [&'static str]],
    cmd: &'static [&'static str],
}

fn no_sql_setup(_: &Fx) {}

/// Break bob's access token in the live store (shared row on D, agent row on C): restore-token
/// then copies the fresher credential from OpenClaw's own migration archive.
fn sql_break_bob(fx: &Fx) {
    let path = "'$.profiles.\"openai:bob@example.com\".access'";
    let state_db = fx.state.join("state/openclaw.sqlite");
    let shared = "state/openclaw.sqlite#config_machine_state[authProfiles.store]";
    let (db, sql) = if dump(fx).contains_key(shared) {
        (state_db, format!("UPDATE config_machine_state SET value_json = json_set(value_json, {path}, 'not-a-jwt') WHERE state_key = 'authProfiles.store'"))
    } else {
        (fx.agent().join("openclaw-agent.sqlite"), format!("UPDATE auth_profile_store SET store_json = json_set(store_json, {path}, 'not-a-jwt') WHERE store_key = 'primary'"))
    };
    let c = rusqlite::Connection::open(db).unwrap();
    assert_eq!(c.execute(&sql, []).unwrap(), 1);
}

const SQL_LAYOUTS: &[Layout] = &[Layout::C, Layout::D];

const SQL_WORKFLOWS: &[SqlWf] = &[
    SqlWf {
        name: "order set",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["order", "set", "openai", O_BOB, O_ALICE, "--yes"],
    },
    SqlWf {
        // on D the overlay order and the shared one: two databases in one transaction
        name: "order clear",
        router: false,
        setup: no_sql_setup,
        pre: &[&["order", "set", "openai", O_BOB, "--yes"]],
        cmd: &["order", "clear", "openai", "--yes"],
    },
    SqlWf {
        name: "pin",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["pin", "agent:main:main", O_BOB, "--yes"],
    },
    SqlWf {
        name: "unpin",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["unpin", "agent:main:discord:channel:2002", "--yes"],
    },
    SqlWf {
        name: "restore-token",
        router: false,
        setup: sql_break_bob,
        pre: &[],
        cmd: &["restore-token", O_BOB, "--yes"],
    },
    // three retired pins: three steps on sessions.json (C) or three session rows of one
    // database (D), each one write
    SqlWf { name: "resync", router: true, setup: no_sql_setup, pre: &[], cmd: &["resync", "--yes"] },
    SqlWf {
        // a database cell, the preference file and a chat: three writes
        name: "activate",
        router: true,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["activate", "openai-codex:alice@example.com", "--session", "agent:main:main", "--yes"],
    },
    SqlWf {
        name: "cooldown clear",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["cooldown", "clear", "--all", "--yes"],
    },
    SqlWf {
        name: "profile remove",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["profile", "remove", O_ALICE, "--yes"],
    },
    SqlWf {
        name: "profile rename",
        router: false,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["profile", "rename", O_BOB, "openai:robert", "--yes"],
    },
    SqlWf {
        name: "profile merge",
        router: true,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["profile", "merge", O_BOB, "openai:default", "--yes"],
    },
    SqlWf {
        name: "preference set",
        router: true,
        setup: no_sql_setup,
        pre: &[],
        cmd: &["preference", "set", "openai:alice-team", "--yes"],
    },
    SqlWf {
        name: "undo (of profile remove)",
        router: false,
        setup: no_sql_setup,
        pre: &[&["profile", "remove", O_ALICE, "--yes"]],
        cmd: &["undo", "1", "--yes"],
    },
    SqlWf {
        name: "undo (of resync)",
        router: true,
        setup: no_sql_setup,
        pre: &[&["resync", "--yes"]],
        cmd: &["undo", "1", "--yes"],
    },
];

fn sql_fixture(wf: &SqlWf, layout: Layout) -> String {
    let l = match layout {
        Layout::C => "c",
        Layout::D => "d",
        other => panic!("{other:?} is not a SQLite layout"),
    };
    format!("layout-{l}{}", if wf.router { "-router" } else { "" })
}

/// A fresh state dir holding a copy of `base` (which has no journal), with `wf.pre` applied.
fn sql_prepared(base: &Fx, wf: &SqlWf) -> Fx {
    let fx = Fx::empty();
    copy_dir(&base.state, &fx.state);
    for p in wf.pre {
        fx.ok(p);
    }
    fx
}

/// Kill `wf` at every failpoint on a SQLite layout, recover, and check all-before (rows equal
/// but for the derived columns of touched rows, every other file byte-identical) or all-after
/// (rows and files equal to an uninterrupted run's; the pinned clock makes it deterministic).
/// Returns the number of kill points, and how many distinct moments between writes they hit.
fn crash_one_sql(wf: &SqlWf, layout: Layout) -> (usize, usize) {
    let fixture = sql_fixture(wf, layout);
    let what = format!("{} on {layout:?} ({fixture})", wf.name);
    // one base copy per cell: the committed fixture plus the test's SQL edits
    let base = Fx::committed(&fixture);
    (wf.setup)(&base);
    assert!(!base.state.join(".clawauth").exists(), "{what}: the setup must not journal");
    // the uninterrupted run on a copy gives the before and all-after states and the steps
    let reference = sql_prepared(&base, wf);
    let rows_before = dump(&reference);
    let files_before = files(&reference);
    let o = reference.ok(wf.cmd);
    assert!(o.stdout.contains("Applied transaction"), "{what}: {}", o.stdout);
    let rows_after = dump(&reference);
    let files_after = files(&reference);
    let touched = changed_rows(&rows_before, &rows_after);
    assert!(!touched.is_empty() || files_before != files_after, "{what}: the command changed nothing");
    let txn = transactions(&reference)[0]["id"].as_i64().unwrap();
    let docs = txn_documents(&reference, txn);
    let steps = docs.len();
    assert!(steps >= 1, "{what}");
    // the write groups of engine::step_groups: consecutive cells of one database are one SQLite
    // transaction, consecutive steps on one file one rewrite; a kill after step k finds all of
    // k's group written (points inside one group are one moment)
    let group_key = |d: &str| match d.split_once('#') {
        Some((db, _)) => format!("db:{db}"),
        None => format!("file:{d}"),
    };
    let keys: Vec<String> = docs.iter().map(|d| group_key(d)).collect();
    let written_through = |k: usize| {
        let mut j = k;
        while j < steps && keys[j] == keys[k - 1] {
            j += 1;
        }
        j
    };
    let mut points = vec!["after-intent".to_string()];
    points.extend((1..=steps).map(|i| format!("after-step-{i}")));
    points.push("before-commit".into());

    for point in &points {
        let what = format!("{what} killed at {point}");
        let fx = sql_prepared(&base, wf);
        if !wf.pre.is_empty() {
            assert_eq!(dump(&fx), rows_before, "{what}: setup is not deterministic");
        }
        assert_eq!(files(&fx), files_before, "{what}: setup is not deterministic");
        let o = run_env(&fx, wf.cmd, &[("CLAWAUTH_FAILPOINT", point)]);
        assert_eq!(o.code, 128 + 9, "{what}: expected SIGKILL, got {}:\n{}", o.code, o.all());
        // read from the journal itself (a `log` per point is slow): the killed txn is the
        // newest and still `applying`
        let (_tmp, j) = private_copy(&fx.state.join(".clawauth/journal.db"));
        let newest: (i64, String) = j
            .query_row("SELECT id, status FROM txn ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(newest, (txn, "applying".to_string()), "{what}");

        let r = fx.ok(&["recover"]);
        let k: Option<usize> = point.strip_prefix("after-step-").map(|n| n.parse().unwrap());
        let reached_end = point == "before-commit" || k.is_some_and(|k| written_through(k) == steps);
        // every database passes `PRAGMA integrity_check` after the recovery
        let rows = dump_checked(&fx, &what);
        let t = transactions(&fx);
        let killed = t.iter().find(|x| x["id"].as_i64() == Some(txn)).unwrap();
        if reached_end {
            assert!(rows == rows_after, "{what}: rows not all-after:\n{}", r.stdout);
            assert!(files(&fx) == files_after, "{what}: files not all-after:\n{}", r.stdout);
            assert_eq!(killed["status"], "applied", "{what}");
        } else if point == "after-intent" {
            // nothing was written: every row identical, derived columns included
            assert!(rows == rows_before, "{what}: rows changed:\n{}", r.stdout);
            assert!(files(&fx) == files_before, "{what}: files not all-before:\n{}", r.stdout);
            assert_eq!(killed["status"], "rolled back", "{what}");
        } else {
            assert_rows_restored(&rows_before, &rows, &touched, &format!("{what}: rows not all-before"));
            assert!(files(&fx) == files_before, "{what}: files not all-before:\n{}", r.stdout);
            assert_eq!(killed["status"], "rolled back", "{what}");
        }
        // the journal is consistent: nothing left applying, a recovery txn (if any) applied
        for x in &t {
            assert_ne!(x["status"], "applying", "{what}: {x}");
            if x["kind"] == "recover" {
                assert_eq!((x["status"].as_str(), x["reverts_txn"].as_i64()), (Some("applied"), Some(txn)), "{what}");
            }
        }
        let recoveries = t.iter().filter(|x| x["kind"] == "recover").count();
        assert_eq!(recoveries, usize::from(!reached_end && point != "after-intent"), "{what}");
        assert_no_sidecars(&fx, &what);
        assert_eq!(fx.ok(&["recover"]).stdout.trim(), "No interrupted transactions.", "{what}");
        // a transaction recovered as applied is an ordinary one: undo takes it back. Every point
        // that reached the end recovers to the same rows, files and journal (asserted above), so
        // one undo per workflow and layout, from the last point, stands for all of them
        if point == "before-commit" {
            fx.ok(&["undo", &txn.to_string(), "--force", "--yes"]);
            let what = format!("{what}: undo after recovery");
            assert_rows_restored(&rows_before, &dump_checked(&fx, &what), &touched, &what);
            assert!(files(&fx) == files_before, "{what}: did not restore the files");
        }
    }
    // distinct moments between two writes: one per write group, plus before the first
    let writes = 1 + steps - keys.windows(2).filter(|w| w[0] == w[1]).count();
    (points.len(), writes)
}

#[test]
fn crash_matrix_sqlite_layouts_every_workflow_every_failpoint_recovers() {
    let cells: Vec<(&SqlWf, Layout)> =
        SQL_WORKFLOWS.iter().flat_map(|w| SQL_LAYOUTS.iter().map(move |l| (w, *l))).collect();
    let results: Vec<(String, Layout, (usize, usize))> = std::thread::scope(|s| {
        let handles: Vec<_> = cells
            .chunks(cells.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk.iter().map(|(w, l)| (w.name.to_string(), *l, crash_one_sql(w, *l))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let total: usize = results.iter().map(|r| r.2 .0).sum();
    let moments: usize = results.iter().map(|r| r.2 .1).sum();
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (w, l, n) in &results {
        per.entry(w.clone()).or_default().push(format!("{l:?}:{}/{}", n.0, n.1));
    }
    println!(
        "crash matrix (SQLite): {total} kill points ({moments} distinct moments between writes: cells of one database in one plan are one SQLite transaction) over {} workflows x {} layouts ({}), all recovered to all-before or all-after (rows of {}, every other file by hash, integrity_check ok)",
        SQL_WORKFLOWS.len(),
        SQL_LAYOUTS.len(),
        SQL_LAYOUTS.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", "),
        TABLES.join(", ")
    );
    for (w, v) in per {
        println!("  {w:<28} points/moments {}", v.join(" "));
    }
}

/// Kills the crash matrix above does not reach: during the claim of a saved plan (`apply N`),
/// and during `recover` itself (its own intent, each of its writes, and before it marks the
/// interrupted transaction rolled back). After a further `recover` the state is all-before,
/// nothing is left applying, and a claimed-but-killed plan is rolled back, never half-applied.
#[test]
fn crash_matrix_kill_during_claim_and_during_recover() {
    let mut points = 0;
    for layout in MATRIX_LAYOUTS {
        let what = format!("claim on {layout:?}");
        // killed right before the claim: still planned, and applying it later works
        let fx = standard(*layout);
        let before = fx.hash();
        fx.ok(&["profile", "remove", ALICE, "--dry-run"]);
        let o = run_env(&fx, &["apply", "1", "--yes"], &[("CLAWAUTH_FAILPOINT", "before-claim")]);
        assert_eq!(o.code, 137, "{what}: {}", o.all());
        assert_eq!(transactions(&fx)[0]["status"], "planned", "{what}");
        assert_eq!(fx.hash(), before, "{what}");
        fx.ok(&["apply", "1", "--yes"]);
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(fx.hash(), before, "{what}");
        points += 1;
        // killed right after the claim: applying, owner dead -> rolled back by the next writer
        let fx = standard(*layout);
        fx.ok(&["profile", "remove", ALICE, "--dry-run"]);
        let o = run_env(&fx, &["apply", "1", "--yes"], &[("CLAWAUTH_FAILPOINT", "after-intent")]);
        assert_eq!(o.code, 137, "{what}: {}", o.all());
        assert_eq!(transactions(&fx)[0]["status"], "applying", "{what}");
        fx.ok(&["recover"]);
        assert_eq!(transactions(&fx)[0]["status"], "rolled back", "{what}");
        assert_eq!(fx.hash(), before, "{what}");
        let o = fx.run(&["apply", "1", "--yes"]);
        assert_eq!(o.code, 3, "{what}: a rolled-back claim is not applied again: {}", o.all());
        points += 1;

        // recover killed at each of its own points
        let reference = standard(*layout);
        reference.ok(&["profile", "remove", ALICE, "--yes"]);
        let docs = txn_documents(&reference, 1);
        assert!(docs.first() != docs.last(), "{what}: {docs:?}");
        let rpoints: Vec<String> =
            ["after-intent", "after-step-1", "before-commit", "recover-before-mark"].map(String::from).to_vec();
        for rp in &rpoints {
            let what = format!("recover on {layout:?} killed at {rp}");
            let fx = standard(*layout);
            let before = fx.hash();
            // the original run dies after its first document (not its last)
            let o = run_env(&fx, &["profile", "remove", ALICE, "--yes"], &[("CLAWAUTH_FAILPOINT", "after-step-1")]);
            assert_eq!(o.code, 137, "{what}");
            let o = run_env(&fx, &["recover"], &[("CLAWAUTH_FAILPOINT", rp)]);
            assert_eq!(o.code, 137, "{what}: the recover was not killed: {}", o.all());
            let r = fx.ok(&["recover"]);
            let t = transactions(&fx);
            assert!(t.iter().all(|x| x["status"] != "applying"), "{what}: {t:?}\n{}", r.stdout);
            assert_eq!(t.iter().find(|x| x["id"] == 1).unwrap()["status"], "rolled back", "{what}");
            assert_eq!(fx.hash(), before, "{what}: not all-before:\n{}", r.stdout);
            assert_eq!(fx.ok(&["recover"]).stdout.trim(), "No interrupted transactions.", "{what}");
            points += 1;
        }
    }
    println!("crash matrix (claim and recover): {points} kill points on layouts A and B, all recovered to all-before");
}

// ----------------------------------------------------------------------------------------------
// 2. a concurrent writer doing what OpenClaw does

/// Take `<dir>/<name>` the way OpenClaw does: O_EXCL, `{"pid", "createdAt"}`, retry while held.
fn openclaw_lock(dir: &Path, name: &str) -> PathBuf {
    use std::io::Write;
    let p = dir.join(name);
    let t0 = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(mut f) => {
                let body = json!({"pid": std::process::id(), "createdAt": "2026-05-01T12:05:00.000Z"});
                f.write_all(&to_bytes(&body, Style::AUTH_FILE)).unwrap();
                return p;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                assert!(t0.elapsed().as_secs() < 20, "{} held for 20 s", p.display());
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
}

/// `JSON.stringify` + temp file + rename, as OpenClaw writes its stores.
fn openclaw_write(p: &Path, v: &Value, style: Style) {
    let tmp = p.with_file_name(format!("{}.{}.tmp", p.file_name().unwrap().to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, to_bytes(v, style)).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}

#[derive(Default, Debug)]
struct WriterCounts {
    session_writes: u64,
    auth_writes: u64,
    lost: Vec<String>,
}

/// Rewrite another session's entry and bob's usage counters until `stop`, each under its lock,
/// checking every time that the previous write is still there (else an update was lost).
fn writer(fx_state: PathBuf, layout: Layout, stop: &std::sync::atomic::AtomicBool) -> WriterCounts {
    let agent = fx_state.join("agents/main/agent");
    let sessions = fx_state.join("agents/main/sessions/sessions.json");
    let auth_state = if layout == Layout::A { agent.join("auth-profiles.json") } else { agent.join("auth-state.json") };
    let other = "agent:main:telegram:direct:100000";
    let mut c = WriterCounts::default();
    let mut seq = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        seq += 1;
        // sessions.json: lock as 2026.3.31 does (clawauth takes the same lock)
        let l = openclaw_lock(sessions.parent().unwrap(), "sessions.json.lock");
        let mut s = read_json(&sessions);
        if seq > 1 && s[other]["inputTokens"] != json!(seq - 1) {
            c.lost.push(format!(
                "sessions.json {other} inputTokens: wrote {}, found {}",
                seq - 1,
                s[other]["inputTokens"]
            ));
        }
        s[other]["inputTokens"] = json!(seq);
        s[other]["updatedAt"] = json!(REF_NOW_MS + seq as i64);
        openclaw_write(&sessions, &s, Style::SESSIONS_FILE);
        std::fs::remove_file(&l).unwrap();
        c.session_writes += 1;
        // the auth state under auth-profiles.json.lock, as OpenClaw's usage bookkeeping does
        let l = openclaw_lock(&agent, "auth-profiles.json.lock");
        let mut a = read_json(&auth_state);
        let want = json!(REF_NOW_MS + seq as i64 - 1);
        if seq > 1 && a["usageStats"][BOB]["lastUsed"] != want {
            c.lost.push(format!(
                "{} usageStats lastUsed: wrote {want}, found {}",
                auth_state.display(),
                a["usageStats"][BOB]["lastUsed"]
            ));
        }
        a["usageStats"][BOB]["lastUsed"] = json!(REF_NOW_MS + seq as i64);
        openclaw_write(&auth_state, &a, Style::AUTH_FILE);
        std::fs::remove_file(&l).unwrap();
        c.auth_writes += 1;
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    c
}

#[derive(Default, Debug)]
struct ClawCounts {
    applied: u64,
    refused: u64,
    why: Vec<String>,
}

/// Run a mutating command; it must end applied (exit 0) or refused with exit 3 having written
/// nothing at `check` (value before). Returns the txn id when applied.
fn apply_or_refused(
    fx: &Fx,
    args: &[&str],
    c: &mut ClawCounts,
    check: impl Fn() -> Value,
    before: &Value,
) -> Option<i64> {
    let o = fx.run(args);
    match o.code {
        0 => {
            c.applied += 1;
            let v: Value = o.json();
            assert_eq!(v["outcome"], "applied", "{args:?}: {}", o.stdout);
            Some(v["txn"].as_i64().unwrap())
        }
        3 => {
            c.refused += 1;
            assert!(o.stderr.contains("is held by live process"), "{args:?} refused for another reason:\n{}", o.stderr);
            c.why.push(format!("{args:?}: {}", o.stderr));
            assert_eq!(&check(), before, "{args:?} refused but wrote: {}", o.stderr);
            None
        }
        _ => panic!("{args:?}: exit {}:\n{}", o.code, o.all()),
    }
}

fn concurrent_writer_on(layout: Layout, iterations: usize) -> (ClawCounts, WriterCounts) {
    let fx = Fx::scenario(&Scenario::standard(REF_NOW_MS).with_bulk_sessions(40), layout);
    let sessions = fx.sessions();
    let state = state_file(&fx, layout);
    let orig_sessions = read_json(&sessions);
    let orig_state = read_json(&state);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut c = ClawCounts::default();
    let pin_now = || read_json(&sessions)["agent:main:main"].get("authProfileOverride").cloned().unwrap_or(Value::Null);
    let order_now = || read_json(&state)["order"]["openai-codex"].clone();
    let w = std::thread::scope(|s| {
        let h = s.spawn(|| writer(fx.state.clone(), layout, &stop));
        // stop the writer even when an assertion below fails, so the scope can end
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        for _ in 0..iterations {
            // pin, then undo it (an undo refused because the writer held the lock is retried)
            if let Some(t) = apply_or_refused(
                &fx,
                &["--json", "pin", "agent:main:main", BOB, "--yes"],
                &mut c,
                pin_now,
                &Value::Null,
            ) {
                assert_eq!(pin_now(), json!(BOB), "pin lost right after txn {t}");
                let undo = t.to_string();
                let args = ["--json", "undo", undo.as_str(), "--yes"];
                while apply_or_refused(&fx, &args, &mut c, pin_now, &json!(BOB)).is_none() {}
                assert_eq!(pin_now(), Value::Null);
            }
            // order set, then undo it
            let orig_order = orig_state["order"]["openai-codex"].clone();
            let set = ["--json", "order", "set", "openai-codex", BOB, ALICE, TEAM, "--yes"];
            if let Some(t) = apply_or_refused(&fx, &set, &mut c, order_now, &orig_order) {
                assert_eq!(order_now(), json!([BOB, ALICE, TEAM]), "order lost right after txn {t}");
                let undo = t.to_string();
                let args = ["--json", "undo", undo.as_str(), "--yes"];
                while apply_or_refused(&fx, &args, &mut c, order_now, &json!([BOB, ALICE, TEAM])).is_none() {}
                assert_eq!(order_now(), orig_order);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        h.join().unwrap()
    });
    assert!(w.lost.is_empty(), "{layout:?}: writer updates lost: {:#?}", w.lost);
    // every clawauth transaction ended applied, or failed on the held lock before writing
    let txns = transactions(&fx);
    for t in &txns {
        let refused =
            t["status"] == "failed" && t["error"].as_str().is_some_and(|e| e.contains("is held by live process"));
        assert!(t["status"] == "applied" || refused, "{layout:?}: {t}");
    }
    assert_eq!(txns.iter().filter(|t| t["status"] == "applied").count() as u64, c.applied, "{layout:?}");
    // the end state is the original with exactly the writer's last values
    let n = w.session_writes;
    let mut expect = orig_sessions;
    expect["agent:main:telegram:direct:100000"]["inputTokens"] = json!(n);
    expect["agent:main:telegram:direct:100000"]["updatedAt"] = json!(REF_NOW_MS + n as i64);
    assert_eq!(read_json(&sessions), expect, "{layout:?}: sessions.json");
    let mut expect = orig_state;
    expect["usageStats"][BOB]["lastUsed"] = json!(REF_NOW_MS + w.auth_writes as i64);
    assert_eq!(read_json(&state), expect, "{layout:?}: auth state");
    assert!(!fx.sessions().with_file_name("sessions.json.lock").exists());
    assert!(!fx.agent().join("auth-profiles.json.lock").exists());
    (c, w)
}

#[test]
fn concurrent_openclaw_writer_loses_no_update() {
    let mut lines = vec![];
    // 30 rounds on B, 15 on A (same code path, one file fewer): keeps the suite fast
    for (layout, rounds) in [(Layout::A, 15), (Layout::B, 30)] {
        let (c, w) = concurrent_writer_on(layout, rounds);
        assert!(w.session_writes > 0 && w.auth_writes > 0, "{layout:?}: the writer never ran");
        lines.push(format!(
            "  layout {layout:?}, {rounds} rounds: clawauth {} txns applied, {} refused (exit 3, nothing written); writer {} sessions.json + {} auth-state rewrites; 0 updates lost",
            c.applied, c.refused, w.session_writes, w.auth_writes
        ));
    }
    println!("concurrent writer (rounds of pin/undo + order set/undo):\n{}", lines.join("\n"));
}

// ----------------------------------------------------------------------------------------------
// 3. bad-input corpus

fn cut(p: &Path) {
    let b = std::fs::read(p).unwrap();
    std::fs::write(p, &b[..b.len() / 2]).unwrap();
}

fn edit(p: &Path, f: impl FnOnce(&mut Value)) {
    let b = std::fs::read(p).unwrap();
    let mut v: Value = serde_json::from_slice(&b).unwrap();
    f(&mut v);
    std::fs::write(p, to_bytes(&v, Style::detect(&b))).unwrap();
}

/// Replace the first occurrence of `from` in a file's bytes.
fn splice(p: &Path, from: &[u8], to: &[u8]) {
    let b = std::fs::read(p).unwrap();
    let at = b.windows(from.len()).position(|w| w == from).unwrap_or_else(|| panic!("{}: no {from:?}", p.display()));
    let mut out = b[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&b[at + from.len()..]);
    std::fs::write(p, out).unwrap();
}

fn deep(n: usize) -> Vec<u8> {
    let mut v = vec![b'['; n];
    v.extend(std::iter::repeat(b']').take(n));
    v
}

fn replace_with_dir(p: &Path) {
    std::fs::remove_file(p).unwrap();
    std::fs::create_dir(p).unwrap();
}

fn dangling(p: &Path) {
    std::fs::remove_file(p).unwrap();
    std::os::unix::fs::symlink(p.with_file_name("does-not-exist.json"), p).unwrap();
}

fn symlink_loop(p: &Path) {
    std::fs::remove_file(p).unwrap();
    let a = p.with_file_name("loop-a");
    let b = p.with_file_name("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    std::os::unix::fs::symlink(&a, p).unwrap();
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Base {
    B,
    Router,
    C,
    D,
}

type Setup = Box<dyn Fn(&Fx)>;

struct Case {
    name: &'static str,
    base: Base,
    setup: Setup,
    /// The mutating command; it must fail with `code`, its error naming `needle`.
    cmd: Vec<&'static str>,
    code: i32,
    needle: &'static str,
    /// clawauth's own journal may record the refused attempt (the failure is audited).
    journal_may_change: bool,
    /// A readable document with a wrong-typed value: read as OpenClaw reads it, with a warning
    /// naming the file; a mutation may proceed, and its undo restores every byte.
    tolerated: bool,
}

fn case(name: &'static str, base: Base, needle: &'static str, setup: impl Fn(&Fx) + 'static) -> Case {
    let cmd = match base {
        Base::C | Base::D => vec!["order", "set", "openai", "openai:bob@example.com", "--yes"],
        _ if needle == "sessions.json" => vec!["pin", "agent:main:main", BOB, "--yes"],
        _ => vec!["order", "set", "openai-codex", BOB, "--yes"],
    };
    Case { name, base, setup: Box::new(setup), cmd, code: 1, needle, journal_may_change: false, tolerated: false }
}

fn with_cmd(mut c: Case, cmd: &[&'static str]) -> Case {
    c.cmd = cmd.to_vec();
    c
}

fn tolerated(mut c: Case) -> Case {
    c.tolerated = true;
    c
}

fn corpus() -> Vec<Case> {
    let s = |fx: &Fx| fx.sessions();
    let a = |fx: &Fx| fx.agent().join("auth-profiles.json");
    let t = |fx: &Fx| fx.agent().join("auth-state.json");
    const S: &str = "sessions.json";
    const P: &str = "auth-profiles.json";
    const T: &str = "auth-state.json";
    let mut v = vec![
        // sessions.json
        case("sessions: truncated", Base::B, S, move |fx| cut(&s(fx))),
        case("sessions: empty file", Base::B, S, move |fx| std::fs::write(s(fx), b"").unwrap()),
        case("sessions: whitespace only", Base::B, S, move |fx| std::fs::write(s(fx), b" \n\t\n").unwrap()),
        case("sessions: UTF-8 BOM", Base::B, S, move |fx| splice(&s(fx), b"{", b"\xEF\xBB\xBF{")),
        case("sessions: non-UTF-8 in an entry", Base::B, S, move |fx| {
            splice(&s(fx), b"00000000-0000-4000-8000-000000000001", b"00000000-0000-4000-8000-0000000000\xff\xfe")
        }),
        case("sessions: root is an array", Base::B, S, move |fx| std::fs::write(s(fx), b"[1, 2]").unwrap()),
        case("sessions: root is a string", Base::B, S, move |fx| std::fs::write(s(fx), b"\"sessions\"").unwrap()),
        case("sessions: root is null", Base::B, S, move |fx| std::fs::write(s(fx), b"null").unwrap()),
        case("sessions: trailing garbage", Base::B, S, move |fx| {
            let mut b = std::fs::read(s(fx)).unwrap();
            b.extend_from_slice(b"\n}garbage");
            std::fs::write(s(fx), b).unwrap()
        }),
        case("sessions: 100k nested arrays as the root", Base::B, S, move |fx| {
            std::fs::write(s(fx), deep(100_000)).unwrap()
        }),
        case("sessions: 100k nested arrays in a read field", Base::B, S, move |fx| {
            let mut to = b"\"compactionCount\": ".to_vec();
            to.extend(deep(100_000));
            splice(&s(fx), b"\"compactionCount\": 0", &to)
        }),
        case("sessions: 100k nested arrays in a skipped field", Base::B, S, move |fx| {
            let mut to = b"\"chatType\": \"direct\", \"origin\": ".to_vec();
            to.extend(deep(100_000));
            splice(&s(fx), b"\"chatType\": \"direct\"", &to)
        }),
        case("sessions: unterminated 8 MB string", Base::B, S, move |fx| {
            let mut b = std::fs::read(s(fx)).unwrap();
            b.truncate(b.len() - 2);
            b.extend_from_slice(b", \"blob\": \"");
            b.extend(std::iter::repeat(b'x').take(8 << 20));
            std::fs::write(s(fx), b).unwrap()
        }),
        tolerated(case("sessions: duplicate session key", Base::B, S, move |fx| {
            splice(
                &s(fx),
                b"{\n  \"agent:main:main\"",
                b"{\n  \"agent:main:main\": {\"sessionId\": \"dup\"},\n  \"agent:main:main\"",
            )
        })),
        case("sessions: a directory", Base::B, S, move |fx| replace_with_dir(&s(fx))),
        case("sessions: dangling symlink", Base::B, S, move |fx| dangling(&s(fx))),
        case("sessions: symlink loop", Base::B, S, move |fx| symlink_loop(&s(fx))),
        case("sessions: entry is a string", Base::B, S, move |fx| {
            edit(&s(fx), |v| v["agent:main:main"] = json!("oops"))
        }),
        case("sessions: entry is an array", Base::B, S, move |fx| edit(&s(fx), |v| v["agent:main:main"] = json!([1]))),
        // auth-profiles.json
        case("auth: truncated", Base::B, P, move |fx| cut(&a(fx))),
        case("auth: empty file", Base::B, P, move |fx| std::fs::write(a(fx), b"").unwrap()),
        case("auth: UTF-8 BOM", Base::B, P, move |fx| splice(&a(fx), b"{", b"\xEF\xBB\xBF{")),
        case("auth: non-UTF-8", Base::B, P, move |fx| splice(&a(fx), b"\"oauth\"", b"\"oa\xffth\"")),
        case("auth: NUL bytes", Base::B, P, move |fx| splice(&a(fx), b"\"version\"", b"\0\0\"version\"")),
        case("auth: root is an array", Base::B, P, move |fx| std::fs::write(a(fx), b"[]\n").unwrap()),
        case("auth: root is null", Base::B, P, move |fx| std::fs::write(a(fx), b"null\n").unwrap()),
        tolerated(case("auth: profiles is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"] = json!("oops"))
        })),
        tolerated(case("auth: profiles is an array", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"] = json!([1, 2]))
        })),
        tolerated(case("auth: a profile is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB] = json!("oops"))
        })),
        tolerated(case("auth: a profile's type is a number", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["type"] = json!(7))
        })),
        tolerated(case("auth: a profile's expires is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["expires"] = json!("tomorrow"))
        })),
        tolerated(case("auth: a profile's access is a number", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["access"] = json!(12))
        })),
        tolerated(case("auth: version is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["version"] = json!("one"))
        })),
        case("auth: 100k nested arrays", Base::B, P, move |fx| {
            let mut b = b"{\"version\": 1, \"profiles\": ".to_vec();
            b.extend(deep(100_000));
            b.extend_from_slice(b"}\n");
            std::fs::write(a(fx), b).unwrap()
        }),
        case("auth: unterminated 8 MB string", Base::B, P, move |fx| {
            let mut b = b"{\"version\": 1, \"profiles\": {\"x\": \"".to_vec();
            b.extend(std::iter::repeat(b'y').take(8 << 20));
            std::fs::write(a(fx), b).unwrap()
        }),
        tolerated(case("auth: duplicate profile id", Base::B, P, move |fx| {
            splice(
                &a(fx),
                b"\"profiles\": {",
                format!("\"profiles\": {{\n    \"{BOB}\": {{\"type\": \"oauth\"}},").as_bytes(),
            )
        })),
        case("auth: trailing garbage", Base::B, P, move |fx| {
            let mut b = std::fs::read(a(fx)).unwrap();
            b.extend_from_slice(b"{}");
            std::fs::write(a(fx), b).unwrap()
        }),
        case("auth: a directory", Base::B, P, move |fx| replace_with_dir(&a(fx))),
        case("auth: dangling symlink", Base::B, P, move |fx| dangling(&a(fx))),
        case("auth: symlink loop", Base::B, P, move |fx| symlink_loop(&a(fx))),
        // auth-state.json
        case("state: truncated", Base::B, T, move |fx| cut(&t(fx))),
        case("state: empty file", Base::B, T, move |fx| std::fs::write(t(fx), b"").unwrap()),
        tolerated(case("state: order is an array", Base::B, T, move |fx| edit(&t(fx), |v| v["order"] = json!([BOB])))),
        tolerated(case("state: order[provider] is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["order"]["openai-codex"] = json!(BOB))
        })),
        tolerated(case("state: order[provider] holds numbers", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["order"]["openai-codex"] = json!([1, 2]))
        })),
        tolerated(case("state: lastGood is an array", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["lastGood"] = json!([BOB]))
        })),
        tolerated(case("state: usageStats is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["usageStats"] = json!("x"))
        })),
        tolerated(case("state: cooldownUntil is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["usageStats"][TEAM]["cooldownUntil"] = json!("soon"))
        })),
        case("state: 100k nested arrays", Base::B, T, move |fx| {
            let mut b = b"{\"version\": 1, \"order\": {\"openai-codex\": ".to_vec();
            b.extend(deep(100_000));
            b.extend_from_slice(b"}}\n");
            std::fs::write(t(fx), b).unwrap()
        }),
        // the external repo and the preference
        with_cmd(
            case("repo: truncated", Base::Router, "codex-oauth-profiles.json", move |fx| {
                cut(&fx.state.join("codex-oauth-profiles.json"))
            }),
            &["activate", ALICE, "--yes"],
        ),
        with_cmd(
            case("preference: a directory", Base::Router, "codex_profile_id", move |fx| {
                replace_with_dir(&fx.state.join("codex_profile_id"))
            }),
            &["preference", "set", ALICE, "--yes"],
        ),
        // the journal
        case("journal: not a database", Base::B, "journal.db", move |fx| {
            std::fs::write(fx.state.join(".clawauth/journal.db"), b"garbage, not sqlite at all, definitely").unwrap()
        }),
        case("journal: truncated database", Base::B, "journal.db", move |fx| {
            cut(&fx.state.join(".clawauth/journal.db"))
        }),
        case("journal: newer schema version", Base::B, "journal.db", move |fx| {
            let c = rusqlite::Connection::open(fx.state.join(".clawauth/journal.db")).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }),
        case("journal: a directory", Base::B, "journal.db", move |fx| {
            let j = fx.state.join(".clawauth/journal.db");
            std::fs::remove_file(&j).unwrap();
            std::fs::create_dir(&j).unwrap();
        }),
        // SQLite stores
        case("sqlite: agent database is not a database", Base::B, "openclaw-agent.sqlite", move |fx| {
            std::fs::write(fx.agent().join("openclaw-agent.sqlite"), b"this is not a database, just text").unwrap()
        }),
        case("sqlite: C agent database is not a database", Base::C, "openclaw-agent.sqlite", move |fx| {
            std::fs::write(fx.agent().join("openclaw-agent.sqlite"), vec![b'z'; 8192]).unwrap();
            let _ = std::fs::remove_file(fx.agent().join("openclaw-agent.sqlite-wal"));
        }),
        case("sqlite: D state database is not a database", Base::D, "openclaw.sqlite", move |fx| {
            std::fs::write(fx.state.join("state/openclaw.sqlite"), vec![b'z'; 8192]).unwrap();
            let _ = std::fs::remove_file(fx.state.join("state/openclaw.sqlite-wal"));
        }),
    ];
    // wrong types where a session's fields are read
    for (field, val) in [
        ("updatedAt", json!("yesterday")),
        ("authProfileOverride", json!(42)),
        ("authProfileOverrideSource", json!(["user"])),
    ] {
        let name: &'static str = Box::leak(format!("sessions: {field} is {}", val).into_boxed_str());
        let mut c =
            tolerated(case(name, Base::B, S, move |fx| edit(&s(fx), |v| v["agent:main:main"][field] = val.clone())));
        c.cmd = vec!["unpin", "agent:main:main", "--yes"];
        v.push(c);
    }
    v
}

/// Whole state dir, clawauth's journal included unless the case may audit a refused attempt.
fn full_hash(fx: &Fx, with_journal: bool) -> BTreeMap<String, String> {
    if with_journal {
        tree_hash(&fx.state, &[".clawauth/journal.db-shm"])
    } else {
        fx.hash()
    }
}

fn base_fx(base: Base) -> Fx {
    let fx = match base {
        Base::B => Fx::standard(Layout::B),
        Base::Router => router(Layout::B),
        Base::C => Fx::committed("layout-c"),
        Base::D => Fx::committed("layout-d"),
    };
    // a journal with history, so that its bytes are checked too
    let id = match base {
        Base::C | Base::D => "openai:bob@example.com",
        Base::Router => ALICE,
        Base::B => BOB,
    };
    fx.ok(&["preference", "set", id, "--yes"]);
    fx.ok(&["undo", "1", "--yes"]);
    fx
}

/// Check one refused input: status, explain and doctor never panic or write; the mutating
/// command fails with the documented code, naming the path; nothing changes anywhere.
fn check_refused(c: &Case, fx: &Fx) -> String {
    let what = c.name;
    if c.tolerated {
        return check_tolerated(c, fx);
    }
    let before = full_hash(fx, !c.journal_may_change);
    for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:main"], &["log"]] {
        let o = fx.run(args);
        no_panic(&o, &format!("{what}: {args:?}"));
        assert_eq!(before, full_hash(fx, !c.journal_may_change), "{what}: {args:?} changed the state");
    }
    let st = fx.run(&["status", "--all"]);
    if c.needle != "journal.db" {
        // status never opens the journal
        assert!(st.all().contains(c.needle), "{what}: status does not name {}:\n{}", c.needle, st.all());
    }
    let o = fx.run(&c.cmd);
    no_panic(&o, what);
    assert_eq!(o.code, c.code, "{what}: {:?} exit {}:\n{}", c.cmd, o.code, o.all());
    assert!(o.stderr.contains(c.needle), "{what}: the error does not name {}:\n{}", c.needle, o.stderr);
    assert!(o.stderr.starts_with("error: ") || o.stderr.contains("\nerror: "), "{what}: {}", o.stderr);
    assert_eq!(before, full_hash(fx, !c.journal_may_change), "{what}: {:?} changed the state", c.cmd);
    o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string()
}

fn check_tolerated(c: &Case, fx: &Fx) -> String {
    let what = c.name;
    let before = fx.hash();
    for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:main"], &["status", "--json", "--all"]]
    {
        let o = fx.run(args);
        no_panic(&o, &format!("{what}: {args:?}"));
        assert_eq!(before, fx.hash(), "{what}: {args:?} changed the state");
    }
    let st = fx.run(&["status", "--all"]);
    assert_eq!(st.code, 0, "{what}: {}", st.all());
    let warning = st
        .all()
        .lines()
        .find(|l| {
            l.contains(c.needle)
                && (l.contains("instead of")
                    || l.contains("duplicate")
                    || l.contains("skipped")
                    || l.contains("ignored")
                    || l.contains("not a"))
        })
        .map(str::to_owned);
    let warning = match warning {
        Some(w) => format!("warning: {}", w.trim()),
        None => "read as OpenClaw reads it (no file-level warning)".into(),
    };
    let o = fx.run(&c.cmd);
    no_panic(&o, what);
    match o.code {
        0 if !o.stdout.contains("Applied transaction") => {
            assert_eq!(before, fx.hash(), "{what}: nothing to do, but wrote")
        }
        0 => {
            let t = transactions(fx)[0]["id"].as_i64().unwrap().to_string();
            fx.ok(&["undo", &t, "--yes"]);
            assert_eq!(before, fx.hash(), "{what}: apply + undo is not byte-identical");
        }
        1 | 3 => assert_eq!(before, fx.hash(), "{what}: refused but wrote"),
        n => panic!("{what}: exit {n}"),
    }
    warning
}

#[test]
fn bad_input_corpus_is_refused_by_name_and_writes_nothing() {
    let cases = corpus();
    let mut shown = vec![];
    let mut failed = vec![];
    for c in &cases {
        let fx = base_fx(c.base);
        (c.setup)(&fx);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_refused(c, &fx))) {
            Ok(line) => {
                let how = if c.tolerated { "tolerated".to_string() } else { format!("exit {}", c.code) };
                shown.push(format!("  {:<52} {how:<9} {}", c.name, clawauth::diff::shorten(&line, 150)))
            }
            Err(_) => failed.push(c.name),
        }
    }
    assert!(failed.is_empty(), "{} case(s) failed: {failed:?}", failed.len());
    let extra = special_inputs(&mut shown);
    let tol = cases.iter().filter(|c| c.tolerated).count();
    println!(
        "bad-input corpus: {} malformed inputs: {} unreadable ones refused by name with the documented exit code and nothing written; {tol} wrong-typed values read as OpenClaw reads them (no panic; every mutation on them undone byte-identically)",
        cases.len() + extra,
        cases.len() + extra - tol
    );
    for l in &shown {
        println!("{l}");
    }
}

/// Inputs that need more than a file edit: a locked database, read-only directories and a
/// full disk. Returns how many ran.
fn special_inputs(shown: &mut Vec<String>) -> usize {
    let mut n = 0;
    // a database another process holds a write lock on (BEGIN EXCLUSIVE): a live lock, exit 3
    {
        let fx = base_fx(Base::C);
        let db = fx.agent().join("openclaw-agent.sqlite");
        // held by another process: POSIX locks of this one would drop when hashing reads the file
        let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "helper_hold_sqlite_write_lock", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("CLAWAUTH_TEST_HOLD_DB", &db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let mut out = std::io::BufReader::new(holder.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("LOCKED") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the lock holder did not start");
        }
        let mut c = case("sqlite: database locked by another writer", Base::C, "openclaw-agent.sqlite", |_| {});
        c.code = 3;
        c.journal_may_change = true;
        shown.push(format!("  {:<52} exit 3  {}", c.name, check_refused(&c, &fx)));
        drop(holder.stdin.take());
        std::io::Read::read_to_string(&mut out, &mut line).unwrap();
        holder.wait().unwrap();
        n += 1;
    }
    // read-only directories (a read-only bind mount: root ignores permission bits) and a full
    // disk (a tiny tmpfs). Both need mount(2); without it they are skipped with the reason.
    let probe = tempfile::tempdir().unwrap();
    let m =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(probe.path()).output();
    match m {
        Ok(o) if o.status.success() => {
            umount(probe.path());
        }
        other => {
            let why =
                other.map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string()).unwrap_or_else(|e| e.to_string());
            println!("  SKIPPED read-only directory and full-disk inputs: cannot mount ({why})");
            return n;
        }
    }
    for (name, dir, needle, cmd) in [
        (
            "fs: read-only agent directory",
            "agents/main/agent",
            "auth-profiles.json.lock",
            vec!["order", "set", "openai-codex", BOB, "--yes"],
        ),
        (
            "fs: read-only sessions directory",
            "agents/main/sessions",
            "sessions.json",
            vec!["pin", "agent:main:main", BOB, "--yes"],
        ),
        ("fs: read-only journal directory", ".clawauth", "journal.db", vec!["pin", "agent:main:main", BOB, "--yes"]),
    ] {
        let fx = base_fx(Base::B);
        let d = fx.state.join(dir);
        let before = fx.hash();
        let ok =
            |args: &[&str]| std::process::Command::new("mount").args(args).arg(&d).arg(&d).status().unwrap().success();
        assert!(ok(&["--bind"]), "bind mount");
        let remount =
            std::process::Command::new("mount").args(["-o", "remount,ro,bind"]).arg(&d).status().unwrap().success();
        let o = fx.run(&cmd);
        umount(&d);
        assert!(remount, "remount read-only");
        no_panic(&o, name);
        assert_eq!(o.code, 1, "{name}: {}", o.all());
        assert!(o.stderr.contains(needle), "{name}: the error does not name {needle}:\n{}", o.stderr);
        assert_eq!(before, fx.hash(), "{name}: changed the state");
        let line = o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string();
        shown.push(format!("  {name:<52} exit 1  {}", clawauth::diff::shorten(&line, 150)));
        n += 1;
    }
    // a full disk: the state on a 1 MiB tmpfs filled to the last byte
    for (name, journal_elsewhere, needle) in [
        ("fs: full disk (journal on it too)", false, "journal.db"),
        ("fs: full disk (journal elsewhere)", true, "sessions.json"),
    ] {
        let fx = base_fx(Base::B);
        let mnt = fx.tmp.path().join("full");
        std::fs::create_dir(&mnt).unwrap();
        assert!(std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .unwrap()
            .success());
        let state = mnt.join("state");
        copy_dir(&fx.state, &state);
        let jpath = fx.tmp.path().join("journal.db");
        std::fs::copy(fx.state.join(".clawauth/journal.db"), &jpath).unwrap();
        // fill the disk
        {
            use std::io::Write;
            let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
            let block = vec![0u8; 4096];
            while f.write_all(&block).is_ok() {}
            while f.write_all(&block[..1]).is_ok() {}
        }
        let before = tree_hash(&state, &[".clawauth/journal.db-shm"]);
        let mut cmd = fx.cmd(&["pin", "agent:main:main", BOB, "--yes"]);
        // point --state-dir at the full copy (the later flag wins)
        cmd.arg("--state-dir").arg(&state);
        if journal_elsewhere {
            cmd.arg("--journal").arg(&jpath);
        }
        let o = run(cmd);
        let mut after = tree_hash(&state, &[".clawauth/journal.db-shm"]);
        // SQLite may leave an empty -wal behind: no bytes of the journal changed
        after.retain(|k, v| {
            !(k.ends_with("-wal") && v.starts_with("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        });
        umount(&mnt);
        no_panic(&o, name);
        assert_eq!(o.code, 1, "{name}: {}", o.all());
        assert!(o.stderr.contains(needle), "{name}: the error does not name {needle}:\n{}", o.stderr);
        let user_files = |h: &BTreeMap<String, String>| {
            h.iter()
                .filter(|(k, _)| !k.starts_with(".clawauth"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(user_files(&before), user_files(&after), "{name}: changed OpenClaw's files");
        if !journal_elsewhere {
            assert_eq!(before, after, "{name}: changed the journal");
        }
        let line = o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string();
        shown.push(format!("  {name:<52} exit 1  {}", clawauth::diff::shorten(&line, 150)));
        n += 1;
    }
    n
}

/// Not a test: run by `special_inputs` in a child process to hold `BEGIN EXCLUSIVE` on a
/// database until its stdin closes.
#[test]
#[ignore]
fn helper_hold_sqlite_write_lock() {
    let Ok(db) = std::env::var("CLAWAUTH_TEST_HOLD_DB") else { return };
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    println!("LOCKED");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    conn.execute_batch("ROLLBACK").unwrap();
}

fn umount(p: &Path) {
    let ok = std::process::Command::new("umount").arg(p).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "umount {}", p.display());
}

// ----------------------------------------------------------------------------------------------
// 5. secrets and file modes

/// Every secret in a state dir: JSON files anywhere below it (stores, archives, backups, repo)
/// and every text cell of every SQLite database (C/D stores).
fn all_secrets(state: &Path) -> Vec<String> {
    fn rec(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if let (true, Some(s)) = (clawauth::token::is_secret_key(k), x.as_str()) {
                        if s.len() >= 8 {
                            out.push(s.to_string());
                        }
                    }
                    rec(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| rec(x, out)),
            _ => {}
        }
    }
    let mut out = secrets_of(state);
    let mut stack = vec![state.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".sqlite") {
                let c = rusqlite::Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
                let tables: Vec<String> = c
                    .prepare("SELECT name FROM sqlite_master WHERE type='table'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                for t in tables {
                    let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
                    let n = st.column_count();
                    let mut rows = st.query([]).unwrap();
                    while let Some(r) = rows.next().unwrap() {
                        for i in 0..n {
                            if let Ok(Some(s)) = r.get::<_, Option<String>>(i) {
                                if let Ok(v) = serde_json::from_str::<Value>(&s) {
                                    rec(&v, &mut out);
                                }
                            }
                        }
                    }
                }
            } else if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap_or_default()) {
                rec(&v, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_command_output_ever_contains_a_secret() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut outputs = 0usize;
    let mut total_secrets = 0usize;
    for name in &names {
        let fx = Fx::committed(name);
        let secrets = all_secrets(&fx.state);
        assert!(!secrets.is_empty(), "{name}: no secrets found to look for");
        total_secrets += secrets.len();
        let status = fx.ok(&["status", "--json", "--all"]).json();
        let agent = &status["agents"][0];
        let p = agent["profiles"][0]["id"].as_str().unwrap_or(BOB).to_string();
        let p2 = agent["profiles"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|x| x["id"].as_str())
            .unwrap_or(ALICE)
            .to_string();
        let provider = p.split(':').next().unwrap().to_string();
        let keys: Vec<String> =
            agent["sessions"].as_array().unwrap().iter().filter_map(|s| s["key"].as_str().map(str::to_owned)).collect();
        let mut cmds: Vec<Vec<String>> = vec![];
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        for json in [false, true] {
            let j = |mut a: Vec<String>| {
                if json {
                    a.insert(0, "--json".into());
                }
                a
            };
            cmds.push(j(v(&["status", "--all"])));
            cmds.push(j(v(&["doctor"])));
            cmds.push(j(v(&["usage", "--endpoint", "http://127.0.0.1:9", "--timeout", "1"])));
            cmds.push(j(v(&["restore-token", &p, "--list"])));
            for k in keys.iter().take(3) {
                cmds.push(j(v(&["explain", k])));
            }
            cmds.push(j(v(&["pin", &keys[0], &p2, "--dry-run"])));
            cmds.push(j(v(&["order", "set", &provider, &p2, &p, "--yes"])));
            cmds.push(j(v(&["pin", &keys[0], &p2, "--yes"])));
            cmds.push(j(v(&["cooldown", "clear", "--all", "--yes"])));
            cmds.push(j(v(&["restore-token", &p, "--yes"])));
            cmds.push(j(v(&["resync", "--yes"])));
            cmds.push(j(v(&["activate", &p, "--yes"])));
            cmds.push(j(v(&["profile", "rename", &p2, &format!("{provider}:renamed"), "--yes"])));
            cmds.push(j(v(&["undo", "2", "--yes"])));
            cmds.push(j(v(&["undo", "2", "--yes"]))); // refused: already undone / conflict
            cmds.push(j(v(&["doctor", "--fix", "--yes"])));
            cmds.push(j(v(&["log", "--limit", "100"])));
            for t in 1..=8 {
                cmds.push(j(v(&["show", &t.to_string()])));
            }
            // errors
            cmds.push(j(v(&["pin", "agent:main:nope", &p, "--yes"])));
            cmds.push(j(v(&["restore-token", "nope:nope", "--yes"])));
            cmds.push(j(v(&["undo", "999", "--yes"])));
        }
        for c in &cmds {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            let o = fx.run(&args);
            no_panic(&o, &format!("{name}: {args:?}"));
            assert_no_secrets(&o.all(), &secrets);
            outputs += 1;
        }
        // the journal's own rendering of every recorded value, too
        let log = fx.ok(&["log", "--json", "--limit", "1000"]).json();
        for t in log["transactions"].as_array().unwrap() {
            let id = t["id"].to_string();
            assert_no_secrets(&fx.ok(&["show", &id, "--json"]).all(), &secrets);
            outputs += 1;
        }
    }
    println!(
        "secrets: {outputs} command outputs (human and --json, errors, log, show) over {} fixtures ({}) checked against {total_secrets} secrets: none leaked",
        names.len(),
        names.join(", ")
    );
}

#[test]
fn journal_is_private_and_rewritten_files_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for layout in [Layout::A, Layout::B] {
        let fx = with_preference(layout);
        let files = [
            fx.agent().join("auth-profiles.json"),
            state_file(&fx, layout),
            fx.sessions(),
            fx.state.join("codex_profile_id"),
        ];
        for (p, m) in files.iter().zip([0o640, 0o640, 0o644, 0o604]) {
            set(p, m);
        }
        let before: Vec<u32> = files.iter().map(|p| mode(p)).collect();
        // rename rewrites all four documents
        fx.ok(&["profile", "rename", ALICE, "openai-codex:alice-personal", "--yes"]);
        let after: Vec<u32> = files.iter().map(|p| mode(p)).collect();
        assert_eq!(before, after, "{layout:?}: modes changed");
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, files.iter().map(|p| mode(p)).collect::<Vec<_>>(), "{layout:?}: undo changed modes");
        assert_eq!(mode(&fx.state.join(".clawauth")), 0o700);
        for f in ["journal.db", "journal.db-wal", "journal.db-shm"] {
            let p = fx.state.join(".clawauth").join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
    }
}
