//! Hardening, crash safety: every workflow killed with SIGKILL at every point between two
//! writes (JSON layouts A/B and SQLite layouts C/D), then `recover`. Run with `--nocapture` to
//! see the figures the README quotes.

mod common;
use common::hardening::*;
use common::*;

#[allow(unused_imports)]
use clawauth_core::json::{to_bytes, Style};
use clawauth_core::model::Layout;
#[allow(unused_imports)]
use clawauth_fixture::{self as fixture, Account, Scenario, REF_NOW_MS};
#[allow(unused_imports)]
use serde_json::{json, Value};
#[allow(unused_imports)]
use std::collections::BTreeMap;
#[allow(unused_imports)]
use std::path::{Path, PathBuf};

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

fn prepared_with(wf: &Wf, layout: Layout, env: &[(&str, &str)]) -> Fx {
    let mut fx = (wf.setup)(layout);
    fx.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    for p in wf.pre {
        fx.ok(p);
    }
    fx
}

/// Kill `wf` at every failpoint on `layout`, recover, and check all-before or all-after.
/// Returns the number of kill points, and how many distinct moments between writes they hit.
fn crash_one(wf: &Wf, layout: Layout) -> (usize, usize) {
    crash_one_with(wf, layout, &[], &[])
}

/// `crash_one` with `env` set for every command, and kill points `extra` (each hit before the
/// transaction's first write is in place) besides the matrix's own.
fn crash_one_with(wf: &Wf, layout: Layout, env: &[(&str, &str)], extra: &[&str]) -> (usize, usize) {
    let prepared = |wf: &Wf, layout: Layout| prepared_with(wf, layout, env);
    let what = format!("{} on {layout:?}{}", wf.name, if env.is_empty() { "" } else { " (streamed)" });
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
    points.extend(extra.iter().map(|p| p.to_string()));

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
        let first_write = point == "after-intent" || extra.contains(&point.as_str());
        assert_eq!(recoveries, usize::from(!reached_end && !first_write), "{what}");
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

/// The workflows that rewrite `sessions.json`, with it streamed (`layout::bigfile`: indexed in one
/// pass, rewritten as a copy with the changed spans spliced in) as a large one is.
const STREAMED: &[&str] = &["pin", "unpin", "resync", "profile remove", "undo (of resync)"];

#[test]
fn crash_matrix_streamed_sessions_json_every_failpoint_recovers() {
    // `before-rename`: the spliced copy is written and fsynced but not yet renamed into place
    let env = [("CLAWAUTH_STREAM_MIN_BYTES", "0")];
    let cells: Vec<(&Wf, Layout)> = WORKFLOWS
        .iter()
        .filter(|w| STREAMED.contains(&w.name))
        .flat_map(|w| MATRIX_LAYOUTS.iter().map(move |l| (w, *l)))
        .collect();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = cells
            .chunks(cells.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk.iter().map(|(w, l)| crash_one_with(w, *l, &env, &["before-rename"]).0).sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!(
        "crash matrix, sessions.json streamed: {total} kill points over {} workflows x {} layouts",
        STREAMED.len(),
        MATRIX_LAYOUTS.len()
    );
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
