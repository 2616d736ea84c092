//! Issue 20: the operator's picture must tell the truth — one notion of identity, blast radii
//! by identity, router-aware doctor, dangling pins, JSON for every outcome, one exit-code table.

mod common;
use common::*;

use serde_json::Value;

const BOB: &str = "openai-codex:bob@example.com";
const ALICE: &str = "openai-codex:alice@example.com";
const SLOT: &str = "openai-codex:default";
const TG: &str = "agent:main:telegram:direct:1001";

fn codes(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

/// The demo's telegram chat replies with bob while /status reads the slot, which holds bob's
/// login under another id: one quota, not a disagreement.
#[test]
fn same_login_under_two_ids_is_no_false_alarm() {
    let fx = Fx::committed("demo");
    let st = fx.ok(&["status", "--json", "--session", TG]).json();
    let s = &st["agents"][0]["sessions"][0];
    assert_eq!((s["effective"].as_str(), s["usage_source"].as_str()), (Some(BOB), Some(SLOT)));
    assert_eq!((s["usage_differs"].as_bool(), s["usage_same_login"].as_bool()), (Some(false), Some(true)), "{s}");
    let t = fx.ok(&["status"]).stdout;
    let tg = t.lines().find(|l| l.contains(TG)).unwrap();
    assert!(tg.contains("openai-codex:default (same login)") && !tg.contains("differs!"), "{tg}");
    // the discord chat really is on another identity (alice) than /status shows (bob)
    let dc = t.lines().find(|l| l.contains("discord:channel:2002")).unwrap();
    assert!(dc.contains("(differs!)"), "{dc}");

    let e = fx.ok(&["explain", TG, "--json"]).json();
    assert_eq!((e["usage"]["differs"].as_bool(), e["usage"]["same_login"].as_bool()), (Some(false), Some(true)));
    assert_ne!(e["verdict"]["layer"], "usage source", "{}", e["verdict"]);

    // CA015 names only the chat whose quota really is another identity's
    let d = fx.run(&["doctor", "--json"]).json();
    let ca015 = d["findings"].as_array().unwrap().iter().find(|f| f["code"] == "CA015").expect("CA015 for discord");
    assert_eq!(ca015["subjects"], serde_json::json!(["agent:main:discord:channel:2002"]), "{ca015}");

    // the demo's own explain step shows no false alarm: on its default layout (D) and on the
    // router sample (layout B with a repo), which this scenario is
    for (layout, id) in [("d", "openai:bob@example.com"), ("router", "openai-codex:bob@example.com")] {
        let demo = run({
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clawauth"));
            c.env("CLAWAUTH_OPENCLAW_VERSION", "").env("NO_COLOR", "1").args(["demo", "--layout", layout]);
            c
        });
        assert_eq!(demo.code, 0, "{}", demo.all());
        assert!(
            demo.stdout.contains(&format!("verdict: all layers agree: the next reply uses {id}")),
            "{layout}: {}",
            demo.stdout
        );
        assert!(!demo.stdout.contains("verdict: usage source disagrees"), "{layout}: {}", demo.stdout);
    }
    let _ = (ALICE, codes(&d));
}

fn notes(o: &Out) -> Vec<String> {
    o.json()["plan"]["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

/// Removing a profile a user pin names (after `resync` moved the router fixture's pins to the
/// live ids) drops that pin: the radius says so, and names where the chat goes.
#[test]
fn profile_remove_on_a_router_reports_the_dropped_user_pin() {
    let fx = Fx::committed("layout-d-router");
    fx.ok(&["resync", "--yes"]);
    let o = fx.ok(&["profile", "remove", "openai:bob@example.com", "--dry-run", "--json"]);
    let n = notes(&o);
    assert!(n.contains(&"blast radius: 1 pin(s) dropped or re-homed:".to_string()), "{n:?}");
    assert!(n.contains(&format!("  {TG}: user pin on openai:bob@example.com dropped")), "{n:?}");
    // the chat lands on the slot, which holds bob's login: no account change, said as such
    assert!(n.contains(&format!("  {TG}: openai:bob@example.com -> openai:default")), "{n:?}");
    let steps = o.json()["plan"]["steps"].clone();
    let t = steps.as_array().unwrap().iter().find(|s| s["title"].as_str().unwrap().starts_with(TG)).unwrap();
    assert!(t["title"].as_str().unwrap().contains("unpin (OpenClaw then picks openai:default from the order)"), "{t}");
}

/// `activate` keeps the slot's profile id but changes the login behind it: every chat on the
/// slot switches account, and the radius lists each one with both identities.
#[test]
fn activate_on_a_router_lists_every_chat_on_the_slot_switching_account() {
    for name in ["layout-d-router", "layout-c-router"] {
        let fx = Fx::committed(name);
        let st = fx.ok(&["status", "--json", "--all"]).json();
        let slot = st["active_slot"]["id"].as_str().unwrap_or("openai:default").to_string();
        let on_slot: Vec<String> = st["agents"][0]["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["effective"].as_str() == Some(slot.as_str()))
            .map(|s| s["key"].as_str().unwrap().to_string())
            .collect();
        assert!(!on_slot.is_empty(), "{name}: {st}");
        let o = fx.ok(&["activate", ALICE, "--dry-run", "--json"]);
        let n = notes(&o);
        assert!(
            n.contains(&format!(
                "blast radius: {} session(s) change account (effective profile and identity):",
                on_slot.len()
            )),
            "{name}: {n:?}"
        );
        for k in &on_slot {
            let want = format!(
                "  {k}: {slot} (bob@example.com, account acct-bob-0003) -> {slot} (alice@example.com, account acct-alice-personal-0001)"
            );
            assert!(n.contains(&want), "{name}: {want}\n{n:?}");
        }
    }
}

fn doctor_json(fx: &Fx) -> Value {
    let o = fx.run(&["doctor", "--json"]);
    assert!(o.code == 0 || o.code == 4, "{}", o.all());
    o.json()
}

fn assert_no_slot_duplicates(fx: &Fx, what: &str, slot: &str, holds: &str) {
    let d = doctor_json(fx);
    assert_eq!(d["router"]["slot"], slot, "{what}: {}", d["router"]);
    assert_eq!(d["router"]["holds"], holds, "{what}: {}", d["router"]);
    let c = codes(&d);
    assert!(!c.iter().any(|x| x == "CA010" || x == "CA011"), "{what}: by-design copies reported: {c:?}");
    // --fix never merges into (or out of) the slot
    let o = fx.run(&["doctor", "--fix", "--dry-run", "--json"]);
    assert_eq!(o.code, 0, "{what}: {}", o.all());
    let plan = &o.json()["plan"];
    let text = plan.to_string();
    assert!(!text.contains("profile merge"), "{what}: {text}");
    for s in plan["steps"].as_array().into_iter().flatten() {
        for ch in s["changes"].as_array().unwrap() {
            assert_ne!(ch["pointer"].as_str(), Some(format!("/profiles/{slot}").as_str()), "{what}: {s}");
        }
    }
}

/// On a router the slot is a copy of a repo identity by design: doctor knows which, raises no
/// CA010/CA011 for it (not even after `activate` makes a new copy), and plans no merge into it.
#[test]
fn router_doctor_knows_the_slot_and_raises_no_by_design_findings() {
    for name in ["layout-c-router", "layout-d-router"] {
        let fx = Fx::committed(name);
        assert_no_slot_duplicates(&fx, name, "openai:default", BOB);
        let t = fx.run(&["doctor"]).stdout;
        assert!(
            t.contains("router           active slot openai:default holds repo identity openai-codex:bob@example.com"),
            "{t}"
        );
        fx.ok(&["activate", ALICE, "--yes"]);
        assert_no_slot_duplicates(&fx, &format!("{name} after activate"), "openai:default", ALICE);
    }
}

/// A router whose slot is not `<provider>:default`: found by content (the one live profile
/// holding a full repo copy under an id the repo does not use).
#[test]
fn router_with_another_slot_id_is_found_by_content() {
    use clawauth_fixture::{Scenario, REF_NOW_MS};
    let sc = Scenario::standard(REF_NOW_MS).with_router_at("openai-codex:active");
    for layout in [clawauth_core::model::Layout::A, clawauth_core::model::Layout::B] {
        let fx = Fx::scenario(&sc, layout);
        let st = fx.ok(&["status", "--json"]).json();
        assert_eq!(st["active_slot"]["id"], "openai-codex:active", "{}", st["active_slot"]);
        assert_no_slot_duplicates(&fx, "hidden slot", "openai-codex:active", BOB);
        let o = fx.ok(&["activate", ALICE, "--dry-run", "--json"]);
        let n = notes(&o);
        assert!(n.iter().any(|l| l.contains("openai-codex:active (bob@example.com, account acct-bob-0003) -> openai-codex:active (alice@example.com")), "{n:?}");
    }
}

/// A pin naming a profile that does not exist is marked, in text and JSON; on the router
/// fixtures every stored pin names a retired `openai-codex:*` id.
#[test]
fn status_marks_dangling_pins() {
    for name in ["layout-c-router", "layout-d-router"] {
        let fx = Fx::committed(name);
        let v = fx.ok(&["status", "--json", "--all"]).json();
        let sessions = v["agents"][0]["sessions"].as_array().unwrap();
        for s in sessions {
            let want = match s["pin"].as_str() {
                Some(p) if p.starts_with("openai-codex:") => Value::from("retired"),
                _ => Value::Null,
            };
            assert_eq!(s["pin_dangling"], want, "{name}: {s}");
        }
        assert!(sessions.iter().any(|s| s["pin_dangling"] == "retired"), "{name}");
        let t = fx.ok(&["status"]).stdout;
        let tg = t.lines().find(|l| l.contains(TG)).unwrap();
        assert!(tg.contains("openai-codex:bob@example.com (MISSING: retired id)"), "{tg}");
        assert!(t.contains("MISSING: the pin names a profile that does not exist"), "{t}");
        // after resync the pins name live ids: nothing is marked
        fx.ok(&["resync", "--yes"]);
        let t = fx.ok(&["status"]).stdout;
        assert!(!t.contains("MISSING"), "{t}");
    }
    // a plain missing profile (not a retired id)
    let fx = Fx::standard(clawauth_core::model::Layout::B);
    fx.ok(&["profile", "remove", BOB, "--yes"]);
    let mut e = read_json(&fx.sessions());
    e[TG]["authProfileOverride"] = Value::from(BOB);
    e[TG]["authProfileOverrideSource"] = Value::from("user");
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&e).unwrap()).unwrap();
    let v = fx.ok(&["status", "--json", "--session", TG]).json();
    assert_eq!(v["agents"][0]["sessions"][0]["pin_dangling"], "missing");
    let tg = fx.ok(&["status"]).stdout;
    assert!(tg.contains(&format!("{BOB} (MISSING)")), "{tg}");
}

/// `--json` means JSON for every outcome: each failure below prints `{"error": {...}, "exit":
/// N}` on stdout, with N the process's exit code from the one table.
#[test]
fn json_errors_for_every_outcome_and_one_exit_code_table() {
    let fx = Fx::committed("demo");
    let check = |fx: &Fx, args: &[&str], code: i32, kind: &str, phrase: &str| {
        let o = fx.run(args);
        assert_eq!(o.code, code, "{args:?}: {}", o.all());
        let v = o.json();
        assert_eq!(v["exit"], code, "{args:?}: {v}");
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        let msg = format!("{} {}", v["error"]["message"], v["error"]["detail"]);
        assert!(msg.contains(phrase), "{args:?}: '{phrase}' not in {v}");
    };
    // 2: the command line
    check(&fx, &["status", "--json", "--bogus"], 2, "usage", "--bogus");
    check(&fx, &["--json", "status", "--rules", "8"], 2, "usage", "--rules takes an OpenClaw release");
    // 1: errors, refusals
    check(&fx, &["explain", "agent:main:nope", "--json"], 1, "not_found", "no session 'agent:main:nope'");
    check(&fx, &["pin", "agent:main:main", ALICE, "--json"], 1, "declined", "refused");
    check(&fx, &["profile", "rename", ALICE, BOB, "--json", "--yes"], 1, "state", "already exists");
    fx.ok(&["order", "set", "openai-codex", BOB, "--dry-run"]);
    check(&fx, &["undo", "1", "--yes", "--json"], 1, "state", "planned");
    // 3: a stale plan
    fx.ok(&["order", "set", "openai-codex", ALICE, "--yes"]);
    check(&fx, &["apply", "1", "--yes", "--json"], 3, "conflict", "stale");
    // recover --json is JSON too
    let v = fx.ok(&["recover", "--json"]).json();
    assert_eq!((v["schema_version"].as_i64(), v["journal"].as_bool()), (Some(1), Some(true)), "{v}");
    assert!(v["recovered"].is_array(), "{v}");
    let empty = Fx::empty();
    std::fs::create_dir_all(&empty.state).unwrap();
    // no journal: nothing to recover, said in JSON, and no journal created
    let v = empty.ok(&["recover", "--json"]).json();
    assert_eq!((v["journal"].as_bool(), v["recovered"].as_array().map(Vec::len)), (Some(false), Some(0)), "{v}");
    assert!(!empty.state.join(".clawauth").exists());
    std::fs::remove_dir(&empty.state).unwrap();
    let v = empty.run(&["recover", "--json"]);
    assert_eq!(v.code, 1, "{}", v.all());
    assert_eq!(v.json()["error"]["kind"], "no_state");

    // the table, in --help and the README
    let help = fx.ok(&["--help"]).stdout;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for (code, what) in [
        ("0", "ok"),
        ("1", "error, or the change was declined"),
        ("2", "usage error"),
        ("3", "conflict"),
        ("4", "doctor found problems"),
    ] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(code) && l.contains(what)), "{code} {what}:\n{help}");
        assert!(readme.contains(&format!("| {code} | ")), "README lacks exit code {code}");
    }
    assert!(help.contains(r#"{"error": {...}, "exit": N}"#), "{help}");
    assert!(readme.contains(r#"{"error": {...}, "exit": N}"#));
}

/// Without a terminal and without --yes the refusal comes first and no plan is printed; with
/// --dry-run the plan is the point.
#[test]
fn a_refused_mutation_says_so_first_and_prints_no_plan() {
    let fx = Fx::committed("demo");
    let before = fx.hash();
    let o = fx.run(&["pin", "agent:main:main", ALICE]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stdout.is_empty(), "a refused change printed:\n{}", o.stdout);
    assert!(o.stderr.starts_with("error: refused: no terminal to confirm on and no --yes"), "{}", o.stderr);
    assert!(o.stderr.contains("--dry-run to see the plan"), "{}", o.stderr);
    assert_eq!(before, fx.hash());
    let o = fx.ok(&["pin", "agent:main:main", ALICE, "--dry-run"]);
    assert!(o.stdout.starts_with("Plan: pin agent:main:main"), "{}", o.stdout);
}

/// A missing state dir is an error with a hint; an empty directory is no OpenClaw state (not
/// layout A with no profiles).
#[test]
fn missing_and_empty_state_dirs_say_so_with_a_hint() {
    let fx = Fx::empty();
    for cmd in [&["status"][..], &["doctor"], &["pin", "agent:main:main", ALICE, "--yes"]] {
        let o = fx.run(cmd);
        assert_eq!(o.code, 1, "{cmd:?}: {}", o.all());
        assert!(o.stderr.contains("does not exist"), "{cmd:?}: {}", o.stderr);
        assert!(o.stderr.contains("hint: point --state-dir at OpenClaw's state dir"), "{cmd:?}: {}", o.stderr);
    }
    std::fs::create_dir_all(&fx.state).unwrap();
    for cmd in [&["status"][..], &["doctor"], &["status", "--json"]] {
        let o = fx.run(cmd);
        assert_eq!(o.code, 1, "{cmd:?}: {}", o.all());
        assert!(o.stderr.contains("no OpenClaw state in"), "{cmd:?}: {}", o.stderr);
        assert!(!o.all().contains("layout A"), "{cmd:?}: {}", o.all());
        assert!(o.stderr.contains("hint: "), "{cmd:?}: {}", o.stderr);
    }
    assert!(std::fs::read_dir(&fx.state).unwrap().next().is_none(), "an empty dir stays empty");
}

/// `doctor --fix` labels each step once, by its own workflow: three `resync --session` fixes
/// used to read "resync + resync: resync: KEY ...".
#[test]
fn doctor_fix_step_labels_are_not_mangled() {
    for name in ["layout-c-router", "layout-d-router"] {
        let fx = Fx::committed(name);
        let o = fx.ok(&["doctor", "--fix", "--dry-run", "--json"]);
        let plan = o.json()["plan"].clone();
        let titles: Vec<String> =
            plan["steps"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap().to_string()).collect();
        assert_eq!(titles.len(), 3, "{name}: {titles:?}");
        for t in &titles {
            assert!(t.starts_with("resync: agent:main:"), "{name}: {t}");
            assert!(!t.contains(" + ") && !t.contains("resync: resync:"), "{name}: {t}");
        }
        for n in plan["notes"].as_array().unwrap() {
            let n = n.as_str().unwrap();
            assert!(!n.contains(" + ") && !n.contains("resync: resync:"), "{name}: {n}");
        }
        let text = fx.ok(&["doctor", "--fix", "--dry-run"]).stdout;
        assert!(!text.contains("resync + resync") && !text.contains("resync: resync:"), "{text}");
    }
}

/// Read-only commands show interrupted and planned transactions with the command that
/// finishes them, reading the journal only if it exists.
#[test]
fn status_and_doctor_show_interrupted_and_stale_transactions() {
    let fx = Fx::committed("demo");
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["transactions"], serde_json::json!([]));
    assert!(!fx.state.join(".clawauth").exists(), "status created the journal");

    fx.ok(&["order", "set", "openai-codex", BOB, "--dry-run"]);
    let v = fx.ok(&["status", "--json"]).json();
    let t = &v["transactions"][0];
    assert_eq!((t["id"].as_i64(), t["status"].as_str(), t["stale"].is_null()), (Some(1), Some("planned"), true), "{t}");
    assert_eq!(t["command"], "clawauth apply 1");

    // the state moves on: the plan is stale; then a pin is killed after its intent
    fx.ok(&["order", "set", "openai-codex", ALICE, "--yes"]);
    let mut c = fx.cmd(&["pin", "agent:main:main", ALICE, "--yes"]);
    c.env("CLAWAUTH_FAILPOINT", "after-intent");
    let killed = run(c);
    assert_ne!(killed.code, 0);
    let v = fx.ok(&["status", "--json"]).json();
    let txns = v["transactions"].as_array().unwrap();
    let applying = txns.iter().find(|t| t["status"] == "applying").expect("the killed pin");
    assert_eq!((applying["workflow"].as_str(), applying["command"].as_str()), (Some("pin"), Some("clawauth recover")));
    let planned = txns.iter().find(|t| t["status"] == "planned").unwrap();
    assert!(planned["stale"].as_str().unwrap().contains("changed since the plan was made"), "{planned}");
    assert!(planned["command"].as_str().unwrap().contains("plan it again"), "{planned}");
    assert!(planned["command"].as_str().unwrap().starts_with("`clawauth discard 1` retires it"), "{planned}");
    for out in [fx.ok(&["status"]).stdout, fx.run(&["doctor"]).stdout] {
        assert!(out.contains("was interrupted while applying: run `clawauth recover`"), "{out}");
        assert!(
            out.contains(
                "planned transaction 1 (set the openai-codex auth order to openai-codex:bob@example.com) is stale"
            ),
            "{out}"
        );
    }
    let d = fx.run(&["doctor", "--json"]).json();
    assert_eq!(d["transactions"].as_array().unwrap().len(), 2);
    // status read it, recovered nothing
    let v = fx.ok(&["status", "--json"]).json();
    assert!(v["transactions"].as_array().unwrap().iter().any(|t| t["status"] == "applying"));
    // the command it names for the stale plan works: discarded, it is no longer shown
    fx.ok(&["discard", "1"]);
    let v = fx.ok(&["status", "--json"]).json();
    assert!(!v["transactions"].as_array().unwrap().iter().any(|t| t["id"] == 1), "{}", v["transactions"]);
    fx.ok(&["recover"]);
    let v = fx.ok(&["status", "--json"]).json();
    assert!(!v["transactions"].as_array().unwrap().iter().any(|t| t["status"] == "applying"), "{v}");
}

/// Restore sources are credentials only: the router fixture's chat transcripts
/// (`*.jsonl.imported-*`) and session archives are neither listed by `status` nor searched by
/// `restore-token`, and `--list` names each source it searched on its own line.
#[test]
fn restore_sources_are_credentials_only_and_named() {
    let fx = Fx::committed("layout-d-router");
    let v = fx.ok(&["status", "--json"]).json();
    let archives: Vec<&str> =
        v["agents"][0]["archives"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    assert!(archives[0].contains("auth-profiles.json.migrated-"), "{archives:?}");
    let t = fx.ok(&["status"]).stdout;
    assert!(!t.contains(".jsonl.imported-") && !t.contains("legacy-store.sessions.json"), "{t}");
    assert!(t.lines().all(|l| l.len() < 200 || !l.contains("archives")), "{t}");
    let l = fx.ok(&["restore-token", "openai:bob@example.com", "--list"]).stdout;
    assert!(l.contains("searched 2 source(s):"), "{l}");
    assert!(
        l.lines().any(|x| x.trim_start().starts_with("archive agents/main/agent/auth-profiles.json.migrated-")),
        "{l}"
    );
    assert!(l.lines().any(|x| x.trim_start().starts_with("repo codex-oauth-profiles.json")), "{l}");
    assert!(!l.contains(".jsonl"), "{l}");
}

/// Issue 20 items 13/16: `restore-token --list` and `status` show each restore candidate on one
/// short line (kind, file shortened, refresh fingerprint, expiry, account), ranked usable and
/// newest first, and `--list` names every source it searched. At COLUMNS=100 nothing needs
/// wrapping: the output is the same as unwrapped and no line is wider.
#[test]
fn restore_candidates_are_one_short_ranked_line_each() {
    use clawauth_core::json::{to_bytes, Style};
    let bob = "openai-codex:bob@example.com";
    let accts = clawauth_fixture::accounts("openai-codex");
    let mut fx = broken_bob_with_archive(clawauth_core::model::Layout::B);
    let now = clawauth_fixture::REF_NOW_MS;
    // an older backup with a long name, and the router's repo
    let old = serde_json::json!({"version": 1, "profiles": {
        bob: clawauth_fixture::credential("openai-codex", &accts[2], now + 86_400_000, now, 1),
    }});
    std::fs::write(
        fx.agent().join("auth-profiles.json.migrated-before-the-big-upgrade-20260415-123456-abcdef0123456789"),
        to_bytes(&old, Style::AUTH_FILE),
    )
    .unwrap();
    let repo = serde_json::json!({"profiles": {"openai-codex:bob": clawauth_fixture::credential("openai-codex", &accts[2], now + 2 * 86_400_000, now, 3)}});
    std::fs::write(fx.state.join("codex-oauth-profiles.json"), to_bytes(&repo, Style::AUTH_FILE)).unwrap();

    let plain_list = fx.ok(&["restore-token", bob, "--list"]).stdout;
    let plain_status = fx.ok(&["status"]).stdout;
    let j = fx.ok(&["restore-token", bob, "--list", "--json"]).json();
    let sj = fx.ok(&["status", "--json"]).json();
    fx.env.push(("COLUMNS".into(), "100".into()));
    let list = fx.ok(&["restore-token", bob, "--list"]).stdout;
    let status = fx.ok(&["status"]).stdout;

    let c = j["restore_candidates"]["candidates"].as_array().unwrap();
    assert!(c.len() >= 3, "{j}");
    assert_eq!(list, plain_list, "a candidate line needed wrapping at 100 columns");
    assert!(list.lines().all(|l| l.chars().count() <= 100), "{list}");
    // one line per candidate, in the JSON's order, ranked: usable, newest first
    let rows: Vec<&str> = list
        .lines()
        .skip_while(|l| !l.starts_with("candidates"))
        .skip(2)
        .take_while(|l| l.trim_start().starts_with(|ch: char| ch == '*' || ch.is_ascii_digit()))
        .filter(|l| !l.contains(" is stale: "))
        .collect();
    assert_eq!(rows.len(), c.len(), "{list}");
    let rank = |v: &str| match v {
        "ok" => 0,
        "current" => 1,
        _ => 2,
    };
    let verdicts: Vec<i32> = c.iter().map(|x| rank(x["verdict"].as_str().unwrap())).collect();
    assert!(verdicts.windows(2).all(|w| w[0] <= w[1]), "not usable first: {verdicts:?}");
    for (row, x) in rows.iter().zip(c) {
        assert!(row.contains(x["kind"].as_str().unwrap()), "{row}");
        assert!(row.contains(x["refresh_fp"].as_str().unwrap()), "{row}");
        assert!(row.contains(x["account_id"].as_str().unwrap()), "{row}");
    }
    assert!(rows[0].trim_start().starts_with("*1"), "the picked copy is first: {list}");
    // every source searched is named, on its own line
    for s in j["restore_candidates"]["searched"].as_array().unwrap() {
        let s = s.as_str().unwrap();
        let named = |l: &str| {
            let l = l.trim();
            let (head, tail) = l.split_once('…').unwrap_or((l, ""));
            l == s || (l.contains('…') && s.starts_with(head) && s.ends_with(tail))
        };
        assert!(list.lines().any(named), "{s} not named:\n{list}");
    }

    // status: one short line per backed-up credential, newest first
    let section = |t: &str| -> Vec<String> {
        t.lines()
            .skip_while(|l| !l.trim_start().starts_with("restore sources"))
            .take_while(|l| l.starts_with("    ") || l.trim_start().starts_with("restore sources"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(section(&status), section(&plain_status), "a restore source line needed wrapping at 100 columns");
    let srcs = sj["agents"][0]["restore_sources"].as_array().unwrap();
    assert_eq!(srcs.len(), 3, "bob in two archives, alice in one: {sj}");
    let lines: Vec<&str> = status
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("restore sources"))
        .skip(2)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert_eq!(lines.len(), srcs.len(), "{status}");
    for (l, s) in lines.iter().zip(srcs) {
        assert!(l.chars().count() <= 100 && l.contains(s["refresh_fp"].as_str().unwrap()), "{l}");
    }
    let exp: Vec<i64> = srcs.iter().map(|s| s["expires"].as_i64().unwrap()).collect();
    assert!(exp.windows(2).all(|w| w[0] >= w[1]), "not newest first: {exp:?}");
    assert!(status.contains("archive  auth-profiles.json.mig…"), "{status}");

    // the committed router fixture whose restore sources were one 943-column line
    let mut fx = Fx::committed("layout-d-router");
    fx.env.push(("COLUMNS".into(), "100".into()));
    let t = fx.ok(&["status"]).stdout;
    let part: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("restore sources"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(part.len() >= 2 && part.iter().all(|l| l.chars().count() <= 100), "{t}");
}
