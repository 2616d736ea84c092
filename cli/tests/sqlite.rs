//! Every workflow on the SQLite layouts C (OpenClaw 2026.7.35, per-agent `openclaw-agent.sqlite`
//! auth rows, `sessions.json`) and D (2026.9.6, shared `state/openclaw.sqlite`
//! `config_machine_state` rows, per-agent overlay, sessions in `session_nodes`), on fixtures made
//! by real OpenClaw `doctor --fix`: apply -> undo -> identical rows, rows nobody planned never
//! touched, stranded legacy JSON never written, `PRAGMA integrity_check` ok, kills at every
//! failpoint recovered, leases and unknown schemas refused, read-only commands leave no trace.

mod common;
use common::*;

use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The tables whose rows clawauth may write, dumped whole for before/after comparisons.
fn exec(db: &Path, sql: &str) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(sql).unwrap();
}

fn agent_db(fx: &Fx) -> PathBuf {
    fx.agent().join("openclaw-agent.sqlite")
}
fn state_db(fx: &Fx) -> PathBuf {
    fx.state.join("state/openclaw.sqlite")
}

/// Legacy JSON left beside the live SQLite store (as after a migration whose archive step was
/// undone by hand): auth-profiles.json and auth-state.json from OpenClaw's own backup, and a
/// sessions.json beside `session_nodes`. Returns their paths; their bytes must never change.
fn plant_strays(fx: &Fx) -> Vec<PathBuf> {
    let backup = std::fs::read_dir(fx.agent())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("auth-profiles.json."))
        .expect("a migration archive of auth-profiles.json");
    let v = read_json(&backup);
    let mut out = vec![fx.agent().join("auth-profiles.json"), fx.agent().join("auth-state.json")];
    std::fs::write(&out[0], std::fs::read(&backup).unwrap()).unwrap();
    let state = json!({"version": 1, "order": v.get("order").cloned().unwrap_or(json!({}))});
    std::fs::write(&out[1], serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    if !fx.sessions().exists() {
        let archived = std::fs::read_dir(fx.state.join("agents/main/session-sqlite-import-archive"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("legacy-store.sessions.json"))
            .expect("the archived sessions.json");
        std::fs::create_dir_all(fx.sessions().parent().unwrap()).unwrap();
        std::fs::write(fx.sessions(), std::fs::read(archived).unwrap()).unwrap();
        out.push(fx.sessions());
    }
    out
}

fn stray_bytes(strays: &[PathBuf]) -> Vec<Vec<u8>> {
    strays.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn txn_of(o: &Out) -> i64 {
    let s = o.stdout.split("Applied transaction ").nth(1).unwrap_or_else(|| panic!("not applied:\n{}", o.all()));
    s[..s.find('.').unwrap()].parse().unwrap()
}

/// The rows a journaled transaction planned to write (`db#table[key]`).
fn planned_rows(fx: &Fx, txn: i64) -> BTreeSet<String> {
    let v = fx.ok(&["show", &txn.to_string(), "--json"]).json();
    v["transaction"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let d = s["document"].as_str().unwrap();
            d.contains('#').then(|| d[..d.rfind("].").map(|i| i + 1).unwrap_or(d.len())].to_string())
        })
        .collect()
}

fn status(fx: &Fx) -> Value {
    fx.ok(&["status", "--json", "--all"]).json()["agents"][0].clone()
}

fn session<'a>(st: &'a Value, key: &str) -> &'a Value {
    st["sessions"].as_array().unwrap().iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("no session {key}"))
}

fn profile_ids(st: &Value) -> Vec<String> {
    st["profiles"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

/// One workflow on one fixture: plant stray JSON, run `setup`, apply, check the planned rows
/// are the only rows changed, run `check` on the applied state, undo, and require every row,
/// every other file and the strays to be back. Integrity checked at each stage.
fn round_trip(fixture: &str, setup: impl Fn(&Fx), args: &[&str], check: impl Fn(&Fx)) {
    let fx = Fx::committed(fixture);
    let what = format!("{fixture}: {}", args.join(" "));
    let strays = plant_strays(&fx);
    setup(&fx);
    let strays_before = stray_bytes(&strays);
    let rows_before = dump(&fx);
    let files_before = files(&fx);
    let validity_before = session_validity(&fx);
    let mut a = args.to_vec();
    a.push("--yes");
    let o = fx.ok(&a);
    let txn = txn_of(&o);
    assert_sessions_valid(&fx, &validity_before, &what);
    let rows_mid = dump(&fx);
    let touched = changed_rows(&rows_before, &rows_mid);
    let planned = planned_rows(&fx, txn);
    assert!(touched.is_subset(&planned), "{what}: rows changed that were not planned: {touched:?} vs {planned:?}");
    assert_eq!(touched, planned, "{what}: a planned row did not change");
    check(&fx);
    assert_eq!(stray_bytes(&strays), strays_before, "{what}: a stranded legacy file was written");
    assert_integrity(&fx, &what);
    assert_no_sidecars(&fx, &what);
    let u = fx.ok(&["undo", &txn.to_string(), "--yes"]);
    assert!(u.stdout.contains("Applied transaction"), "{what}: {}", u.all());
    assert_sessions_valid(&fx, &validity_before, &format!("{what} (undo)"));
    let rows_after = dump(&fx);
    assert_rows_restored(&rows_before, &rows_after, &touched, &what);
    assert_eq!(files(&fx), files_before, "{what}: files not restored byte for byte");
    assert_eq!(stray_bytes(&strays), strays_before, "{what}: a stranded legacy file was written");
    assert_integrity(&fx, &what);
    assert_no_sidecars(&fx, &what);
    // the undo is recorded as the inverse of the transaction
    let log = fx.ok(&["log", "--json"]).json();
    assert_eq!(log["transactions"][0]["reverts_txn"], txn, "{what}");
}

fn no_setup(_: &Fx) {}

const C: &str = "layout-c";
const D: &str = "layout-d";
const CR: &str = "layout-c-router";
const DR: &str = "layout-d-router";
const BOB: &str = "openai:bob@example.com";
const ALICE: &str = "openai:alice@example.com";

// ----------------------------------------------------------------------------------------------
// order

#[test]
fn order_set_round_trip_on_c_and_d() {
    for fixture in [C, D] {
        round_trip(fixture, no_setup, &["order", "set", "openai-codex", BOB, "openai-codex:alice@example.com"], |fx| {
            let st = status(fx);
            // the retired spelling was mapped: real ids are shown and written
            assert_eq!(st["order"]["stored"], json!([BOB, ALICE]), "{fixture}");
            let rows = dump(fx);
            if fixture == D {
                // the overlay, where 2026.9.6 writes it, with the empty store row it requires;
                // the shared order is untouched
                let ov = &rows["agents/main/agent/openclaw-agent.sqlite#auth_profile_state[primary]"]["state_json"];
                assert_eq!(ov, &format!("'{{\"version\":1,\"order\":{{\"openai\":[\"{BOB}\",\"{ALICE}\"]}}}}'"));
                let store = &rows["agents/main/agent/openclaw-agent.sqlite#auth_profile_store[primary]"];
                assert_eq!(store["store_json"], "'{\"version\":1,\"profiles\":{}}'");
                assert_eq!(store["updated_at"], NOW_MS.to_string());
                assert!(rows["state/openclaw.sqlite#config_machine_state[authProfiles.state]"]["value_json"]
                    .contains("\"order\":{\"openai\":[\"openai:alice-team\""));
            } else {
                let r = &rows["agents/main/agent/openclaw-agent.sqlite#auth_profile_state[primary]"];
                assert!(r["state_json"]
                    .starts_with(&format!("'{{\"version\":1,\"order\":{{\"openai\":[\"{BOB}\",\"{ALICE}\"]}}")));
                assert_eq!(r["updated_at"], NOW_MS.to_string(), "the timestamp column is kept as OpenClaw does");
            }
        });
    }
}

#[test]
fn order_set_plan_says_where_it_writes_on_d() {
    let fx = Fx::committed(D);
    let o = fx.ok(&["order", "set", "openai", BOB, "--dry-run"]);
    assert!(o.stdout.contains("per-agent") || o.stdout.contains("overlay"), "{}", o.stdout);
    assert!(o.stdout.contains("create the empty agent store row 2026.9 requires"), "{}", o.stdout);
    assert!(o.stdout.contains("auth_profile_state[primary]"), "{}", o.stdout);
}

#[test]
fn order_clear_round_trip_on_c_and_d_clears_shared_and_overlay() {
    // on D an overlay order is set first: clear then spans both databases in one transaction
    round_trip(C, no_setup, &["order", "clear", "openai-codex"], |fx| {
        assert_eq!(status(fx)["order"]["stored"], Value::Null);
    });
    round_trip(
        D,
        |fx: &Fx| {
            fx.ok(&["order", "set", "openai", BOB, "--yes"]);
        },
        &["order", "clear", "openai"],
        |fx| {
            let st = status(fx);
            assert_eq!(st["order"]["stored"], Value::Null, "the operator still sees an order");
            let rows = dump(fx);
            assert!(!rows["state/openclaw.sqlite#config_machine_state[authProfiles.state]"]["value_json"]
                .contains("\"order\""));
            assert!(!rows["agents/main/agent/openclaw-agent.sqlite#auth_profile_state[primary]"]["state_json"]
                .contains("\"order\""));
        },
    );
}

#[test]
fn d_overlay_is_ignored_without_the_agent_store_row() {
    let fx = Fx::committed(D);
    // an overlay state row alone (2026.9 ignores it: the agent-local store is null)
    exec(
        &agent_db(&fx),
        &format!(
            "INSERT INTO auth_profile_state(state_key, state_json, updated_at) VALUES('primary', '{{\"version\":1,\"order\":{{\"openai\":[\"{BOB}\"]}}}}', 1)"
        ),
    );
    let st = status(&fx);
    assert_eq!(st["order"]["stored"][0], "openai:alice-team", "an ignored overlay must not win");
    assert!(fx.ok(&["status"]).stdout.contains("IGNORED by OpenClaw 2026.9"));
    // with the store row (as `models auth order set` leaves it) the overlay wins per provider key
    exec(
        &agent_db(&fx),
        "INSERT INTO auth_profile_store(store_key, store_json, updated_at) VALUES('primary', '{\"version\":1,\"profiles\":{}}', 1)",
    );
    let st = status(&fx);
    assert_eq!(st["order"]["stored"], json!([BOB]));
    // lastGood and usageStats still come from the shared row (the overlay has none)
    assert_eq!(st["last_good"]["openai"], ALICE, "{st}");
}

#[test]
fn d_order_set_over_an_ignored_overlay_says_it_revives_it() {
    let fx = Fx::committed(D);
    exec(
        &agent_db(&fx),
        &format!(
            "INSERT INTO auth_profile_state(state_key, state_json, updated_at) VALUES('primary', '{{\"version\":1,\"order\":{{\"openai\":[\"{BOB}\"]}},\"lastGood\":{{\"openai\":\"{BOB}\"}}}}', 1)"
        ),
    );
    let o = fx.ok(&["order", "set", "openai", ALICE, "--yes"]);
    assert!(o.stdout.contains("makes all of the overlay"), "{}", o.stdout);
    let st = status(&fx);
    assert_eq!(st["order"]["stored"], json!([ALICE]));
    assert_eq!(st["last_good"]["openai"], BOB);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(status(&fx)["order"]["stored"][0], "openai:alice-team");
}

// ----------------------------------------------------------------------------------------------
// pin / unpin

#[test]
fn pin_and_unpin_round_trip_on_c_and_d() {
    for fixture in [C, D] {
        round_trip(fixture, no_setup, &["pin", "agent:main:main", "openai-codex:bob@example.com"], |fx| {
            let st = status(fx);
            let s = session(&st, "agent:main:main");
            assert_eq!((s["pin"].as_str(), s["pin_source"].as_str()), (Some(BOB), Some("user")), "{fixture}");
            if fixture == D {
                let rows = dump(fx);
                let r = &rows["agents/main/agent/openclaw-agent.sqlite#session_nodes[agent:main:main]"];
                let entry: Value = serde_json::from_str(r["entry_json"].trim_matches('\'')).unwrap();
                // the row's updated_at follows the entry's updatedAt, as 2026.9.6 writes it
                assert_eq!(r["updated_at"], entry["updatedAt"].to_string());
                // OpenClaw's trigger resets the flag; its writer (and clawauth) sets it again
                assert_eq!(r["entry_valid"], "1", "a running 2026.9.6 gateway would refuse the chat");
            }
        });
        round_trip(fixture, no_setup, &["unpin", "agent:main:discord:channel:2002"], |fx| {
            let st = status(fx);
            assert_eq!(session(&st, "agent:main:discord:channel:2002")["pin"], Value::Null, "{fixture}");
        });
    }
}

// ----------------------------------------------------------------------------------------------
// resync: retired `openai-codex:*` pins after a migration

/// How many pins on missing profiles (CA002) doctor reports.
fn ca002(fx: &Fx) -> usize {
    let d = fx.run(&["doctor", "--json"]).json();
    d["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "CA002").count()
}

#[test]
fn resync_moves_retired_pins_to_the_same_identity_in_one_transaction() {
    for fixture in [CR, DR] {
        let fresh = Fx::committed(fixture);
        assert_eq!(ca002(&fresh), 3, "{fixture}: doctor finds the three pins on retired ids");
        let before = status(&fresh);
        assert_eq!(session(&before, "agent:main:telegram:direct:1001")["pin"], "openai-codex:bob@example.com");
        round_trip(fixture, no_setup, &["resync"], |fx| {
            let st = status(fx);
            let tg = session(&st, "agent:main:telegram:direct:1001");
            assert_eq!((tg["pin"].as_str(), tg["pin_source"].as_str()), (Some(BOB), Some("user")), "{fixture}");
            let dc = session(&st, "agent:main:discord:channel:2002");
            assert_eq!((dc["pin"].as_str(), dc["pin_source"].as_str()), (Some(ALICE), Some("auto")), "{fixture}");
            let sub = session(&st, "agent:main:subagent:6f1c2d3e-0000-4000-8000-000000000004");
            assert_eq!(sub["pin"], ALICE, "{fixture}");
            // one transaction, one step per chat
            let log = fx.ok(&["log", "--json"]).json();
            assert_eq!(log["transactions"].as_array().unwrap().len(), 1);
            let steps = fx.ok(&["show", "1", "--json"]).json()["transaction"]["steps"].as_array().unwrap().len();
            assert_eq!(steps, 3, "{fixture}");
            // doctor no longer finds pins on missing profiles
            assert_eq!(ca002(fx), 0, "{fixture}");
        });
    }
}

// ----------------------------------------------------------------------------------------------
// repair workflows

#[test]
fn cooldown_clear_round_trip_on_c_and_d() {
    for fixture in [C, D] {
        round_trip(fixture, no_setup, &["cooldown", "clear", "openai-codex:alice-team"], |fx| {
            let st = status(fx);
            let team = st["profiles"].as_array().unwrap().iter().find(|p| p["id"] == "openai:alice-team").unwrap();
            assert_eq!(team["window"], Value::Null, "{fixture}: {team}");
        });
    }
}

#[test]
fn profile_remove_rename_merge_round_trip_on_c_and_d() {
    for fixture in [C, D] {
        round_trip(fixture, no_setup, &["profile", "remove", "openai-codex:alice@example.com"], |fx| {
            let st = status(fx);
            assert!(!profile_ids(&st).contains(&ALICE.to_string()), "{fixture}");
            assert!(!st["order"]["stored"].to_string().contains(ALICE), "{fixture}");
        });
        round_trip(fixture, no_setup, &["profile", "rename", BOB, "openai:robert"], |fx| {
            let st = status(fx);
            assert!(profile_ids(&st).contains(&"openai:robert".to_string()), "{fixture}");
            assert!(st["order"]["stored"].to_string().contains("openai:robert"), "{fixture}");
        });
    }
    for fixture in [CR, DR] {
        // the router's active slot holds the same identity as bob's own profile
        round_trip(fixture, no_setup, &["profile", "merge", BOB, "openai:default"], |fx| {
            let st = status(fx);
            assert!(!profile_ids(&st).contains(&"openai:default".to_string()), "{fixture}");
        });
    }
}

/// Break bob's access token in the live store (as a bad copy would), for restore-token.
fn break_bob(fx: &Fx) {
    let path = "'$.profiles.\"openai:bob@example.com\".access'";
    if dump(fx).contains_key("state/openclaw.sqlite#config_machine_state[authProfiles.store]") {
        exec(&state_db(fx), &format!("UPDATE config_machine_state SET value_json = json_set(value_json, {path}, 'not-a-jwt') WHERE state_key = 'authProfiles.store'"));
    } else {
        exec(&agent_db(fx), &format!("UPDATE auth_profile_store SET store_json = json_set(store_json, {path}, 'not-a-jwt') WHERE store_key = 'primary'"));
    }
}

#[test]
fn restore_token_round_trip_on_c_and_d() {
    for fixture in [C, D] {
        round_trip(fixture, break_bob, &["restore-token", "openai-codex:bob@example.com"], |fx| {
            let st = status(fx);
            let bob = st["profiles"].as_array().unwrap().iter().find(|p| p["id"] == BOB).unwrap();
            assert_eq!(bob["token_state"], "valid", "{fixture}: {bob}");
            // the restored credential keeps the live provider id
            assert_eq!(bob["provider"], "openai", "{fixture}");
        });
    }
}

#[test]
fn preference_set_and_activate_round_trip_on_c_and_d() {
    for fixture in [CR, DR] {
        round_trip(fixture, no_setup, &["preference", "set", "openai:alice-team"], |fx| {
            // routers read the repo, so its spelling of the identity wins when both exist
            assert_eq!(
                std::fs::read_to_string(fx.state.join("codex_profile_id")).unwrap().trim(),
                "openai-codex:alice-team"
            );
        });
        // copy a repo identity into the slot, write the preference and pin a chat: on D this
        // spans the state DB, a file and the agent DB
        round_trip(
            fixture,
            no_setup,
            &["activate", "openai-codex:alice@example.com", "--session", "agent:main:main"],
            |fx| {
                let v = fx.ok(&["status", "--json"]).json();
                assert_eq!(v["active_slot"]["matches"], "openai-codex:alice@example.com", "{fixture}");
                let st = status(fx);
                assert_eq!(session(&st, "agent:main:main")["pin"], "openai:default", "{fixture}");
            },
        );
    }
}

// ----------------------------------------------------------------------------------------------
// crashes: a kill at every failpoint, recovered to all-before or all-after

/// Kill `args` at every failpoint of its transaction on `fixture` (after `setup`), recover,
/// and require all-before (rows equal but for derived columns) or all-after (rows equal to a
/// clean run's, which the pinned clock makes deterministic).
fn kill_everywhere(fixture: &str, setup: impl Fn(&Fx), args: &[&str]) {
    let mut a = args.to_vec();
    a.push("--yes");
    // a clean run gives the all-after rows and the step count
    let reference = Fx::committed(fixture);
    setup(&reference);
    let skip = reference.ok(&["log", "--json"]).json()["transactions"].as_array().unwrap().len() as i64;
    let o = reference.ok(&a);
    let txn = txn_of(&o);
    assert_eq!(txn, skip + 1);
    let all_after = dump(&reference);
    let docs = txn_documents(&reference, txn);
    let steps = docs.len();
    // consecutive steps on cells of one database are written in one SQLite transaction, so a
    // kill after any of them finds the whole group written: the last group's first step is the
    // earliest point at which everything is on disk
    let db_of = |d: &str| d.split_once('#').map(|(db, _)| db.to_string());
    let mut last_group_start = steps;
    while last_group_start > 1
        && db_of(&docs[last_group_start - 1]).is_some()
        && db_of(&docs[last_group_start - 1]) == db_of(&docs[last_group_start - 2])
    {
        last_group_start -= 1;
    }
    let mut points = vec!["after-intent".to_string()];
    points.extend((1..=steps).map(|n| format!("after-step-{n}")));
    points.push("before-commit".into());
    for point in &points {
        let what = format!("{fixture}: {} killed at {point}", args.join(" "));
        let mut fx = Fx::committed(fixture);
        setup(&fx);
        let before = dump(&fx);
        let files_before = files(&fx);
        fx.env.push(("CLAWAUTH_FAILPOINT".into(), point.clone()));
        let o = fx.run(&a);
        assert_eq!(o.code, 128 + 9, "{what}: expected SIGKILL: {}", o.all());
        fx.env.clear();
        assert_integrity(&fx, &what);
        assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][0]["status"], "applying", "{what}");
        let r = fx.ok(&["recover"]);
        let rows = dump(&fx);
        let log = fx.ok(&["log", "--json"]).json();
        let t = log["transactions"].as_array().unwrap().iter().find(|t| t["id"] == txn).unwrap().clone();
        let all_written = point == "before-commit"
            || point.strip_prefix("after-step-").is_some_and(|n| n.parse::<usize>().unwrap() >= last_group_start);
        if all_written {
            assert_eq!(t["status"], "applied", "{what}: {}", r.stdout);
            assert_eq!(rows, all_after, "{what}: not all-after");
        } else {
            assert_eq!(t["status"], "rolled back", "{what}: {}", r.stdout);
            if point != "after-intent" {
                // something was on disk and had to be taken back
                assert!(r.stdout.contains("rolled back"), "{what}: {}", r.stdout);
            }
            let touched = changed_rows(&before, &all_after);
            assert_rows_restored(&before, &rows, &touched, &what);
            assert_eq!(
                files(&fx).into_iter().filter(|(k, _)| !k.starts_with(".clawauth")).collect::<BTreeMap<_, _>>(),
                files_before,
                "{what}: files not all-before"
            );
        }
        assert_integrity(&fx, &what);
        assert_no_sidecars(&fx, &what);
        assert_eq!(fx.ok(&["recover"]).stdout.trim(), "No interrupted transactions.", "{what}");
    }
}

#[test]
fn kill_at_every_failpoint_on_c() {
    kill_everywhere(C, no_setup, &["order", "set", "openai", BOB, ALICE]);
    // agent DB cell + preference file + sessions.json
    kill_everywhere(CR, no_setup, &["activate", "openai-codex:alice@example.com", "--session", "agent:main:main"]);
}

#[test]
fn kill_at_every_failpoint_on_d_across_two_databases() {
    // shared state row (state DB) + overlay (agent DB)
    kill_everywhere(
        D,
        |fx: &Fx| {
            fx.ok(&["order", "set", "openai", BOB, "--yes"]);
        },
        &["order", "clear", "openai"],
    );
    // state DB credential + preference file + agent DB session row
    kill_everywhere(DR, no_setup, &["activate", "openai-codex:alice@example.com", "--session", "agent:main:main"]);
    // several session rows of one database: one BEGIN IMMEDIATE, all or nothing
    kill_everywhere(DR, no_setup, &["resync"]);
}

// ----------------------------------------------------------------------------------------------
// refusals: leases, unknown schemas

/// A live process's `agent_database_leases` registration and an unexpired lease of a scope
/// that guards OpenClaw's own lifecycles are no reason to refuse (a running gateway always has
/// them); OpenClaw's maintenance lease is (`cli/tests/gateway.rs`).
#[test]
fn registrations_and_unrelated_leases_do_not_refuse_on_c_and_d() {
    for fixture in [C, D] {
        let fx = Fx::committed(fixture);
        let pid = std::process::id();
        exec(
            &state_db(&fx),
            &format!("INSERT INTO state_leases(scope, lease_key, owner, expires_at, heartbeat_at, payload_json, created_at, updated_at) VALUES('core:plugin-lifecycle', 'main', 'gateway-4242', {}, NULL, NULL, 1, 1)", NOW_MS + 60_000),
        );
        let registrations = fixture == D;
        if registrations {
            exec(
                &state_db(&fx),
                &format!("INSERT INTO agent_database_leases(lease_id, agent_id, path, owner_pid, owner_start_time, opened_at) VALUES('l1', 'main', 'agents/main/agent/openclaw-agent.sqlite', {pid}, NULL, 1)"),
            );
        }
        fx.ok(&["cooldown", "clear", "openai:alice-team", "--yes"]);
        fx.ok(&["order", "set", "openai", BOB, "--yes"]);
        fx.ok(&["undo", "2", "--yes"]);
        assert_integrity(&fx, fixture);
        // never removes another process's rows
        let c = Connection::open(state_db(&fx)).unwrap();
        let n: i64 = c.query_row("SELECT count(*) FROM state_leases", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "{fixture}");
        if fixture == D {
            let n: i64 = c.query_row("SELECT count(*) FROM agent_database_leases", [], |r| r.get(0)).unwrap();
            assert_eq!(n, 1, "{fixture}");
        }
        drop(c);
    }
}

/// A starting gateway's schema migrations hold the databases: refused, nothing written.
#[test]
fn startup_migrations_lease_refuses_on_c_and_d() {
    for fixture in [C, D] {
        let fx = Fx::committed(fixture);
        exec(
            &state_db(&fx),
            &format!("INSERT INTO state_leases(scope, lease_key, owner, expires_at, heartbeat_at, payload_json, created_at, updated_at) VALUES('startup-migrations', 'global', 'gateway-4242', {}, NULL, NULL, 1, 1)", NOW_MS + 60_000),
        );
        let before = dump(&fx);
        let o = fx.run(&["cooldown", "clear", "openai:alice-team", "--yes"]);
        assert_eq!(o.code, 3, "{fixture}: {}", o.all());
        assert!(o.stderr.contains("startup-migrations") && o.stderr.contains("gateway-4242"), "{}", o.stderr);
        assert_eq!(dump(&fx), before, "{fixture}");
        exec(&state_db(&fx), &format!("UPDATE state_leases SET expires_at = {}", NOW_MS - 1));
        fx.ok(&["cooldown", "clear", "openai:alice-team", "--yes"]);
        assert_integrity(&fx, fixture);
    }
}

#[test]
fn unknown_schema_versions_are_refused_for_writing() {
    // an agent DB newer than any verified release (layout C)
    let fx = Fx::committed(C);
    exec(&agent_db(&fx), "PRAGMA user_version = 2");
    let before = dump(&fx);
    let o = fx.run(&["order", "set", "openai", BOB, "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("unknown schema version") && o.stderr.contains("user_version 2"), "{}", o.stderr);
    assert_eq!(dump(&fx), before);
    fx.ok(&["status"]);
    // layout D: schema_meta says a newer state schema even though user_version is known
    let fx = Fx::committed(D);
    exec(&state_db(&fx), "UPDATE schema_meta SET schema_version = 19 WHERE role = 'global'");
    let before = dump(&fx);
    let o = fx.run(&["cooldown", "clear", "--all", "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("unknown schema version"), "{}", o.stderr);
    assert_eq!(dump(&fx), before);
    // an upgrade between apply and undo: the undo is refused before anything is recorded
    let fx = Fx::committed(D);
    fx.ok(&["order", "set", "openai", BOB, "--yes"]);
    exec(&agent_db(&fx), "PRAGMA user_version = 24");
    let before = dump(&fx);
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("unknown schema version 24"), "{}", o.stderr);
    assert_eq!(dump(&fx), before);
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"].as_array().unwrap().len(), 1);
}

// ----------------------------------------------------------------------------------------------
// read-only commands

#[test]
fn read_only_commands_leave_no_trace_on_c_and_d() {
    for fixture in [C, D, CR, DR] {
        let fx = Fx::committed(fixture);
        let before = fx.hash();
        fx.ok(&["status"]);
        fx.ok(&["status", "--all", "--json"]);
        fx.ok(&["explain", "agent:main:telegram:direct:1001"]);
        let d = fx.run(&["doctor"]);
        assert!(d.code == 0 || d.code == 4, "{fixture}: {}", d.all());
        fx.run(&["doctor", "--json"]);
        fx.ok(&["restore-token", BOB, "--list"]);
        assert_eq!(fx.hash(), before, "{fixture}: a read-only command changed or created a file");
        assert!(!fx.state.join(".clawauth").exists(), "{fixture}: a read-only command created the journal");
        assert_no_sidecars(&fx, fixture);
    }
}

#[test]
fn status_says_which_store_is_live_and_that_legacy_json_is_stranded() {
    for fixture in [C, D] {
        let fx = Fx::committed(fixture);
        plant_strays(&fx);
        let o = fx.ok(&["status"]);
        assert!(o.stdout.contains("stranded legacy file"), "{fixture}: {}", o.stdout);
        assert!(
            o.stdout.contains("openclaw-agent.sqlite") || o.stdout.contains("state/openclaw.sqlite"),
            "{}",
            o.stdout
        );
        // the live provider's ids are shown
        assert!(o.stdout.contains("live Codex provider: openai"), "{}", o.stdout);
    }
}

// ----------------------------------------------------------------------------------------------
// the rotation rule on cells

#[test]
fn undo_refuses_to_restore_a_credential_whose_account_has_rotated_since() {
    for fixture in [CR, DR] {
        let fx = Fx::committed(fixture);
        // bob's own profile and the router's slot hold one account
        fx.ok(&["profile", "remove", BOB, "--yes"]);
        // then OpenClaw refreshes the slot: newer expiry, new single-use refresh token
        let (db, table, key_col, key, col) = if fixture == DR {
            (state_db(&fx), "config_machine_state", "state_key", "authProfiles.store", "value_json")
        } else {
            (agent_db(&fx), "auth_profile_store", "store_key", "primary", "store_json")
        };
        let slot = "'$.profiles.\"openai:default\"";
        exec(
            &db,
            &format!(
                "UPDATE {table} SET {col} = json_set({col}, {slot}.refresh', 'rotated-refresh', {slot}.expires', 4102444800001) WHERE {key_col} = '{key}'"
            ),
        );
        let before = dump(&fx);
        let o = fx.run(&["undo", "1", "--yes"]);
        assert_eq!(o.code, 3, "{fixture}: {}", o.all());
        assert!(o.stderr.contains("rotated"), "{fixture}: {}", o.stderr);
        assert_eq!(dump(&fx), before, "{fixture}");
        assert_integrity(&fx, fixture);
    }
}

#[test]
fn profile_remove_on_d_says_every_agent_loses_it() {
    let fx = Fx::committed(D);
    let before = dump(&fx);
    let o = fx.ok(&["profile", "remove", BOB, "--dry-run"]);
    assert!(
        o.stdout.contains("removed from the shared store (state/openclaw.sqlite), so every agent loses it"),
        "{}",
        o.stdout
    );
    assert_eq!(before, dump(&fx), "a dry run writes nothing");
    let o = Fx::committed(C).ok(&["profile", "remove", BOB, "--dry-run"]);
    assert!(!o.stdout.contains("shared store"), "{}", o.stdout);
}

// ----------------------------------------------------------------------------------------------
// OpenClaw 2026.9.6's session-row invariants and the schema scopes a running gateway records

/// The `schema_meta` rows a real 2026.9.6 gateway adds when it starts on a state dir.
fn as_after_gateway_start(fx: &Fx) {
    exec(
        &state_db(fx),
        "INSERT INTO schema_meta VALUES ('startup-migrations', 'global', 3, NULL, '2026.9.6', 1, 1);
         INSERT INTO schema_meta VALUES ('state-migrations', 'global', 3, NULL, '2026.9.6', 1, 1);",
    );
}

#[test]
fn every_session_write_and_undo_leaves_rows_valid_on_a_gateway_started_state() {
    round_trip(D, as_after_gateway_start, &["pin", "agent:main:main", BOB], no_setup);
    round_trip(D, as_after_gateway_start, &["unpin", "agent:main:telegram:direct:1001"], no_setup);
    round_trip(DR, as_after_gateway_start, &["resync"], no_setup);
    round_trip(D, as_after_gateway_start, &["profile", "rename", BOB, "openai:robert@example.com"], no_setup);
}

#[test]
fn schema_scopes_are_judged_by_what_they_mean() {
    let refused = |setup: &dyn Fn(&Fx), want: &str| {
        let fx = Fx::committed(D);
        setup(&fx);
        let before = dump(&fx);
        let o = fx.run(&["pin", "agent:main:main", BOB, "--yes"]);
        assert_eq!(o.code, 1, "{want}: {}", o.all());
        assert!(o.stderr.contains(want) && o.stderr.contains("will not write"), "{want}: {}", o.stderr);
        let j = fx.run(&["pin", "agent:main:main", BOB, "--yes", "--json"]);
        assert_eq!((j.code, &j.json()["error"]["kind"]), (1, &serde_json::json!("refused")), "{want}: {}", j.stdout);
        assert_eq!(dump(&fx), before, "{want}");
        // the reason is the same when status reads the state
        assert!(fx.ok(&["status"]).stdout.contains("UNKNOWN") || fx.ok(&["status"]).all().contains(want));
    };
    refused(
        &|fx| {
            exec(&state_db(fx), "INSERT INTO schema_meta VALUES ('startup-migrations','global',4,NULL,'2026.9.9',1,1)")
        },
        "schema_meta startup-migrations/global 4",
    );
    refused(
        &|fx| exec(&state_db(fx), "INSERT INTO schema_meta VALUES ('search-index','global',1,NULL,'2026.9.9',1,1)"),
        "unknown schema_meta scope `search-index`",
    );
    refused(
        &|fx| {
            exec(&agent_db(fx), "CREATE TRIGGER session_nodes_audit AFTER UPDATE ON session_nodes BEGIN SELECT 1; END;")
        },
        "trigger session_nodes_audit",
    );
}

#[test]
fn a_change_openclaw_would_reject_is_refused_before_anything_is_written() {
    let fx = Fx::committed(D);
    // a lineage column that disagrees with the entry: OpenClaw's validator rejects the row
    exec(
        &agent_db(&fx),
        "UPDATE session_nodes SET spawned_by = 'agent:main:other' WHERE session_key = 'agent:main:main'",
    );
    let before = dump(&fx);
    let o = fx.run(&["pin", "agent:main:main", BOB, "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stderr.contains("OpenClaw would reject this session row") && o.stderr.contains("spawnedBy"),
        "{}",
        o.stderr
    );
    assert_eq!(dump(&fx), before);
    // other chats are still writable
    round_trip(D, no_setup, &["pin", "agent:main:telegram:direct:1001", ALICE], no_setup);
}

#[test]
fn doctor_reports_invalid_rows_and_fix_revalidates_them() {
    let fx = Fx::committed(D);
    // as earlier clawauth builds left a pinned row: the trigger reset entry_valid and nobody set it
    exec(
        &agent_db(&fx),
        "UPDATE session_nodes SET entry_json = json_set(entry_json, '$.authProfileOverride', 'openai:bob@example.com',
           '$.authProfileOverrideSource', 'user') WHERE session_key = 'agent:main:main';
         UPDATE session_nodes SET current_session_id = 'other' WHERE session_key = 'agent:main:cron:nightly-report';",
    );
    let d = fx.run(&["doctor", "--json"]);
    assert_eq!(d.code, 4, "{}", d.all());
    let v = d.json();
    let ca024: Vec<&Value> = v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "CA024").collect();
    assert_eq!(ca024.len(), 2, "{v:#}");
    let by = |k: &str| *ca024.iter().find(|f| f["evidence"]["session"] == k).unwrap();
    assert_eq!(by("agent:main:main")["fix"], "clawauth revalidate --session agent:main:main");
    assert_eq!(by("agent:main:main")["severity"], "error");
    let cron = by("agent:main:cron:nightly-report");
    assert_eq!(cron["fix"], "report only");
    assert!(cron["evidence"]["entry_problem"].as_str().unwrap().contains("current_session_id"), "{cron:#}");
    let queued = session_validity(&fx);
    let o = fx.ok(&["doctor", "--fix", "--yes"]);
    let txn = txn_of(&o);
    let flags = &session_validity(&fx)["agents/main/agent/openclaw-agent.sqlite"].0;
    assert_eq!(flags["agent:main:main"], 1, "re-validated");
    assert_eq!(flags["agent:main:cron:nightly-report"], 0, "a row OpenClaw rejects is left for OpenClaw");
    let left: Vec<Value> = fx.run(&["doctor", "--json"]).json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "CA024")
        .map(|f| f["evidence"]["session"].clone())
        .collect();
    assert_eq!(left, vec![json!("agent:main:cron:nightly-report")]);
    // the queue OpenClaw re-checks at start-up keeps what it held
    assert_eq!(
        session_validity(&fx)["agents/main/agent/openclaw-agent.sqlite"].1,
        queued["agents/main/agent/openclaw-agent.sqlite"].1
    );
    // undo puts the flag back as it was; revalidate on one named row that OpenClaw rejects refuses
    fx.ok(&["undo", &txn.to_string(), "--yes"]);
    assert_eq!(session_validity(&fx)["agents/main/agent/openclaw-agent.sqlite"].0["agent:main:main"], 0);
    let r = fx.run(&["revalidate", "--session", "agent:main:cron:nightly-report", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("current_session_id"), "{}", r.stderr);
    let r = fx.run(&["revalidate", "--session", "agent:main:telegram:direct:1001", "--yes"]);
    assert!(r.stderr.contains("valid for OpenClaw already"), "{}", r.all());
}

/// States a real OpenClaw 2026.9.6 gateway started and stopped on (`fixtures/regen-gateway.sh`):
/// its start-up migrations are recorded in `schema_meta`, and every write still goes through.
#[test]
fn workflows_round_trip_on_states_a_real_gateway_ran_on() {
    const DG: &str = "layout-d-gateway";
    const DRG: &str = "layout-d-router-gateway";
    round_trip(DG, no_setup, &["pin", "agent:main:main", BOB], no_setup);
    round_trip(DG, no_setup, &["order", "set", "openai", BOB, ALICE], no_setup);
    round_trip(DG, no_setup, &["profile", "rename", BOB, "openai:robert@example.com"], no_setup);
    round_trip(DRG, no_setup, &["resync"], no_setup);
}
