//! `clawauth migrate` without OpenClaw: a fake `openclaw` script mimics `doctor --fix
//! --non-interactive` on a layout-B fixture by archiving the JSON stores and dropping in the
//! tree real OpenClaw made from the same scenario (`fixtures/layout-c`: 2026.7.35 left the user
//! pin on a retired `openai-codex:*` id, so one chat moves to another account; `fixtures/layout-d`
//! for the shared-SQLite shape). Covered: the whole-tree snapshot, the per-chat identity diff and
//! its repair, `--before`/`--after`, `show`, undo byte-identity, refusals (state written since,
//! a live OpenClaw lock, a failing migration, a bad `--openclaw`), and that nothing is written on
//! a dry run or a refusal.

mod common;
use common::*;

use clawauth_core::model::Layout;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A fake OpenClaw of `version` whose migration moves the JSON stores aside and copies the
/// committed fixture `result` in; it records the environment it ran with beside the state dir.
fn fake_openclaw(fx: &Fx, version: &str, result: &str, exit: i32) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(result);
    let env_file = fx.tmp.path().join("fake-env.txt");
    let script = fx.tmp.path().join(format!("openclaw-{version}"));
    let body = format!(
        r#"#!/bin/sh
# fake OpenClaw for tests: mimics doctor --fix's JSON->SQLite migration
if [ "$1" = "--version" ]; then echo "OpenClaw {version} (fake000)"; exit 0; fi
if [ "$1 $2 $3" != "doctor --fix --non-interactive" ]; then echo "fake openclaw: unexpected $*" >&2; exit 2; fi
env > '{env}'
S="$OPENCLAW_STATE_DIR/agents/main/agent"
mv "$S/auth-profiles.json" "$S/auth-profiles.json.sqlite-import.1795799046402.bak"
mv "$S/auth-state.json" "$S/auth-state.json.sqlite-import.1795799046403.bak"
cp -R '{src}/.' "$OPENCLAW_STATE_DIR/"
[ -d "$OPENCLAW_STATE_DIR/agents/main/session-sqlite-import-archive" ] && rm -rf "$OPENCLAW_STATE_DIR/agents/main/sessions"
mkdir -p "$OPENCLAW_STATE_DIR/logs"; echo '{{"event":"migrated"}}' > "$OPENCLAW_STATE_DIR/logs/config-audit.jsonl"
echo "Migrated auth profile JSON into SQLite"
printf 'note \033]0;title\007 token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.sig\n' >&2
exit {exit}
"#,
        env = env_file.display(),
        src = src.display(),
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn journal_exists(fx: &Fx) -> bool {
    fx.state.join(".clawauth").exists()
}

fn layout_of(fx: &Fx) -> String {
    let st = fx.ok(&["status", "--json"]).json();
    st["agents"][0]["layout"].as_str().unwrap_or_default().to_string()
}

#[test]
fn migrate_repairs_the_lost_pin_and_undo_gives_back_the_tree_byte_identical() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let secrets = secrets_of(&fx.state);
    let oc = fake_openclaw(&fx, "2026.7.35", "layout-c", 0);
    let mut c = fx.cmd(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes", "--json"]);
    c.env("OPENAI_API_KEY", "sk-not-passed-to-openclaw");
    let o = run(c);
    assert_eq!(o.code, 0, "{}", o.all());
    assert_no_secrets(&o.all(), &secrets);
    let j = o.json();
    assert_eq!(j["outcome"], "migrated");
    // 2026.7.35 dropped the telegram chat's user pin (bob): it lands on alice without repair
    assert_eq!(j["accounts_changed_without_repair"], 1, "{j:#}");
    assert_eq!(j["accounts_changed_after_repair"], 0, "{j:#}");
    assert!(j["repair_txn"].as_i64().is_some());
    assert_eq!(layout_of(&fx), "C");
    // OpenClaw ran isolated: a throw-away HOME, the state dir given, nothing else inherited
    let env = std::fs::read_to_string(fx.tmp.path().join("fake-env.txt")).unwrap();
    assert!(env.contains(&format!("OPENCLAW_STATE_DIR={}", fx.state.display())), "{env}");
    assert!(!env.contains("OPENAI_API_KEY") && !env.contains(&format!("HOME={}\n", fx.home.display())), "{env}");
    // the pin is back on bob's live id, with its source
    let st = fx.ok(&["status", "--json", "--all"]).json();
    let tg = st["agents"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "agent:main:telegram:direct:1001")
        .unwrap()
        .clone();
    assert_eq!(tg["pin"], "openai:bob@example.com", "{tg:#}");
    assert_eq!(tg["pin_source"], "user");
    assert_eq!(tg["effective"], "openai:bob@example.com");
    // show: what OpenClaw changed, what clawauth repaired, what still differs; output sanitized
    let show = fx.ok(&["show", "1"]);
    assert!(show.stdout.contains("What OpenClaw changed"), "{}", show.stdout);
    assert!(show.stdout.contains("What clawauth repaired (transaction 2)"), "{}", show.stdout);
    assert!(show.stdout.contains("Still different (0 chat(s) on another account)"), "{}", show.stdout);
    assert!(!show.stdout.contains('\u{1b}'), "escape sequences reach the terminal");
    assert!(!show.stdout.contains("eyJzdWIiOiJmYWtlIn0"), "a token in OpenClaw's output is shown");
    assert_no_secrets(&show.all(), &secrets);
    let sj = fx.ok(&["show", "1", "--json"]).json();
    let m = &sj["transaction"]["migration"];
    assert_eq!(m["exit_code"], 0);
    assert_eq!(m["release_to"], "2026.7.35");
    assert!(m["files_changed"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "agents/main/agent/auth-profiles.json"));
    // the snapshot lives beside the journal, not in it: the journal has paths, sizes, modes
    // and sha256, the store one object per content
    let objects = fx.state.join(".clawauth/journal.db.objects");
    let c = rusqlite::Connection::open(fx.state.join(".clawauth/journal.db")).unwrap();
    let files: Vec<(String, i64, i64, String)> = c
        .prepare(
            "SELECT path, size, mode, sha256 FROM tree_entry WHERE txn_id = 1 AND tree = 'before' AND kind = 'file'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(files.iter().any(|f| f.0 == "agents/main/agent/auth-profiles.json"), "{files:?}");
    for (p, size, mode, sha) in &files {
        let obj = objects.join(&sha[..2]).join(sha);
        assert_eq!(std::fs::metadata(&obj).unwrap().len() as i64, *size, "{p}");
        assert!(*mode > 0);
    }
    let blobs: i64 = c.query_row("SELECT count(*) FROM snapshot WHERE txn_id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(blobs, 0, "no file content in the journal for a migration");
    drop(c);
    // apply of a migration is refused
    assert_eq!(fx.run(&["apply", "1", "--yes"]).code, 3);
    // undo: the original tree, byte for byte (files OpenClaw created removed, moved ones back)
    let u = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(u.code, 0, "{}", u.all());
    assert_eq!(fx.hash(), original);
    assert_eq!(layout_of(&fx), "B");
    // a second undo is refused
    assert_eq!(fx.run(&["undo", "1", "--yes"]).code, 3);
}

#[test]
fn before_and_after_around_an_openclaw_run_by_the_operator_on_a_shared_sqlite_tree() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let oc = fake_openclaw(&fx, "2026.9.6", "layout-d", 0);
    let b = fx.ok(&["migrate", "--before", "--yes", "--json"]).json();
    assert_eq!(b["outcome"], "pending");
    assert_eq!(fx.hash(), original, "--before changes nothing in the state dir");
    // a second migration while one is pending is refused
    assert_eq!(fx.run(&["migrate", "--before", "--yes"]).code, 3);
    // the operator runs OpenClaw themselves
    let st = std::process::Command::new(&oc)
        .args(["doctor", "--fix", "--non-interactive"])
        .env("OPENCLAW_STATE_DIR", &fx.state)
        .output()
        .unwrap();
    assert!(st.status.success());
    // 9.6 dropped the pins: put them on retired ids in the session rows, as it does on some states
    let db = fx.agent().join("openclaw-agent.sqlite");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let rows: Vec<(String, String)> = c
            .prepare("SELECT session_key, entry_json FROM session_nodes")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (k, e) in rows {
            let e2 = e.replace("\"openai:", "\"openai-codex:");
            if e2 != e {
                c.execute("UPDATE session_nodes SET entry_json = ?2 WHERE session_key = ?1", rusqlite::params![k, e2])
                    .unwrap();
                c.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key = ?1", [&k]).unwrap();
            }
        }
        c.execute("DELETE FROM session_canonical_validation_pending", []).ok();
    }
    let a = fx.run(&["migrate", "--after", "--yes", "--json"]);
    assert_eq!(a.code, 0, "{}", a.all());
    let j = a.json();
    assert!(j["accounts_changed_without_repair"].as_i64().unwrap() >= 1, "{j:#}");
    assert_eq!(j["accounts_changed_after_repair"], 0, "{j:#}");
    assert_eq!(layout_of(&fx), "D");
    let st = fx.ok(&["status", "--json", "--all"]).json();
    for s in st["agents"][0]["sessions"].as_array().unwrap() {
        assert!(!s["pin"].as_str().unwrap_or("openai:").starts_with("openai-codex:"), "{s:#}");
    }
    // the repair undone first (value-level, in the session rows), then the whole migration
    fx.ok(&["undo", "2", "--yes"]);
    let u = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(u.code, 0, "{}", u.all());
    assert_eq!(fx.hash(), original);
}

#[test]
fn undo_is_refused_when_state_was_written_since_unless_forced() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let oc = fake_openclaw(&fx, "2026.7.35", "layout-c", 0);
    fx.ok(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
    // a gateway turn rewrote the sessions and left a new transcript
    let sessions = fx.sessions();
    let mut s = std::fs::read_to_string(&sessions).unwrap();
    s = s.replacen("\"compactionCount\": 0", "\"compactionCount\": 1", 1);
    std::fs::write(&sessions, s).unwrap();
    std::fs::write(fx.state.join("agents/main/sessions/new.jsonl"), "{}\n").unwrap();
    let written = fx.hash();
    let u = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(u.code, 3, "{}", u.all());
    assert!(u.stderr.contains("written since") && u.stderr.contains("agents/main/sessions/new.jsonl"), "{}", u.stderr);
    assert!(u.stderr.contains("--force"), "{}", u.stderr);
    assert_eq!(fx.hash(), written, "a refused undo writes nothing");
    let f = fx.run(&["undo", "1", "--yes", "--force"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_eq!(fx.hash(), original);
    let log = fx.ok(&["log", "--json"]).json();
    let undo =
        log["transactions"].as_array().unwrap().iter().find(|t| t["workflow"] == "migrate-undo").unwrap().clone();
    assert_eq!(undo["forced"], true);
}

#[test]
fn dry_run_and_refusals_write_nothing_not_even_the_journal() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let oc = fake_openclaw(&fx, "2026.7.35", "layout-c", 0);
    let d = fx.run(&["migrate", "--openclaw", oc.to_str().unwrap(), "--dry-run"]);
    assert_eq!(d.code, 0, "{}", d.all());
    assert!(d.stdout.contains("agent:main:telegram:direct:1001 -> openai-codex:bob@example.com"), "{}", d.stdout);
    assert!(d.stdout.contains("Dry run: nothing recorded, nothing run."));
    // without a terminal and without --yes: declined
    assert_eq!(fx.run(&["migrate", "--openclaw", oc.to_str().unwrap()]).code, 1);
    // a path that is not OpenClaw
    let bad = fx.run(&["migrate", "--openclaw", fx.tmp.path().join("nope").to_str().unwrap(), "--yes"]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("nope"), "{}", bad.stderr);
    // an OpenClaw too old to have the migration
    let old = fake_openclaw(&fx, "2026.5.28", "layout-c", 0);
    let o = fx.run(&["migrate", "--openclaw", old.to_str().unwrap(), "--yes"]);
    assert_eq!(o.code, 2, "{}", o.all());
    // a live OpenClaw lock on the auth store: a gateway is writing it
    let lock = fx.agent().join("auth-profiles.json.lock");
    std::fs::write(&lock, format!("{{\"pid\": {}, \"createdAt\": \"{NOW}\"}}\n", std::process::id())).unwrap();
    let g = fx.run(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
    assert_eq!(g.code, 3, "{}", g.all());
    assert!(g.stderr.contains("refusing to migrate while OpenClaw runs"), "{}", g.stderr);
    std::fs::remove_file(&lock).unwrap();
    // broken input: a truncated auth store is named, nothing written
    let store = fx.agent().join("auth-profiles.json");
    let keep = std::fs::read(&store).unwrap();
    std::fs::write(&store, &keep[..keep.len() / 2]).unwrap();
    let b = fx.run(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
    assert_ne!(b.code, 0);
    assert!(b.stderr.contains("auth-profiles.json"), "{}", b.stderr);
    std::fs::write(&store, keep).unwrap();
    assert_eq!(fx.hash(), original);
    assert!(!journal_exists(&fx), "no journal was created");
}

#[test]
fn a_failing_migration_is_journaled_and_undone() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let oc = fake_openclaw(&fx, "2026.9.6", "layout-d", 1);
    let o = fx.run(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("exited Some(1)") && o.stderr.contains("undo 1"), "{}", o.stderr);
    let sj = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(sj["transaction"]["status"], "failed");
    assert_eq!(sj["transaction"]["migration"]["exit_code"], 1);
    // not under a live OpenClaw
    let lock = fx.agent().join("auth-profiles.json.lock");
    std::fs::write(&lock, format!("{{\"pid\": {}, \"createdAt\": \"{NOW}\"}}\n", std::process::id())).unwrap();
    let g = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(g.code, 3, "{}", g.all());
    std::fs::remove_file(&lock).unwrap();
    let u = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(u.code, 0, "{}", u.all());
    assert_eq!(fx.hash(), original);
}

#[test]
fn a_killed_migration_or_undo_is_finished_by_running_it_again() {
    for point in ["migrate-undo-before-restore", "migrate-undo-before-mark"] {
        let fx = Fx::standard(Layout::B);
        let original = fx.hash();
        let oc = fake_openclaw(&fx, "2026.7.35", "layout-c", 0);
        fx.ok(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
        let mut c = fx.cmd(&["undo", "1", "--yes"]);
        c.env("CLAWAUTH_FAILPOINT", point);
        let k = run(c);
        assert_ne!(k.code, 0, "{point}: the failpoint did not fire:\n{}", k.all());
        // a later command recovers first; the undo run again finishes the restore
        let u = fx.run(&["undo", "1", "--yes"]);
        assert_eq!(u.code, 0, "{point}: {}", u.all());
        assert_eq!(fx.hash(), original, "{point}");
        assert_eq!(fx.run(&["undo", "1", "--yes"]).code, 3, "{point}: undone once");
    }
    // killed after the snapshot, before OpenClaw ran: pending; undo gives back the same tree
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    let oc = fake_openclaw(&fx, "2026.7.35", "layout-c", 0);
    let mut c = fx.cmd(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]);
    c.env("CLAWAUTH_FAILPOINT", "migrate-before-run");
    assert_ne!(run(c).code, 0);
    assert_eq!(fx.hash(), original);
    assert_eq!(fx.run(&["migrate", "--openclaw", oc.to_str().unwrap(), "--yes"]).code, 3, "still pending");
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(fx.hash(), original);
}
