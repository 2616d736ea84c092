//! `explain` and `doctor` end to end: the real binary over fixture states built for each
//! situation. Every doctor code has a state that triggers it and a test of its evidence; a
//! clean state yields nothing; no output ever carries a secret.

mod common;
use common::*;

use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Scenario, FAR_MS, REF_NOW_MS};
use serde_json::{json, Value};
use std::path::Path;

const ALICE: &str = "openai-codex:alice@example.com";
const TEAM: &str = "openai-codex:alice-team";
const BOB: &str = "openai-codex:bob@example.com";
const TG: &str = "agent:main:telegram:direct:1001";
const DISCORD: &str = "agent:main:discord:channel:2002";

/// The standard scenario without its deliberate oddities: no second alice workspace (CA012),
/// no cooldown, and no user pin whose usage /status would show from another account (CA015).
fn clean() -> Scenario {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.profiles.remove(TEAM);
    sc.usage_stats.remove(TEAM);
    sc.order.insert("openai-codex".into(), json!([ALICE, BOB]));
    let tg = sc.sessions[TG].as_object_mut().unwrap();
    tg.remove("authProfileOverride");
    tg.remove("authProfileOverrideSource");
    sc
}

/// A state dir whose process scan sees nothing (tests must not depend on the machine).
fn isolate(mut fx: Fx) -> Fx {
    let proc_dir = fx.tmp.path().join("proc");
    std::fs::create_dir_all(&proc_dir).unwrap();
    fx.env.push(("CLAWAUTH_PROC_DIR".into(), proc_dir.display().to_string()));
    fx
}

fn fx_of(sc: &Scenario, layout: Layout) -> Fx {
    isolate(Fx::scenario(sc, layout))
}

/// `doctor --json`: the report, with the exit code checked against the findings and no secret
/// in either output form.
fn doctor(fx: &Fx, extra: &[&str]) -> Value {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let o = fx.run(&args);
    let v = o.json();
    let serious = v["findings"].as_array().unwrap().iter().any(|f| f["severity"] != "info");
    assert_eq!(o.code, if serious { 4 } else { 0 }, "{}", o.all());
    assert_eq!(v["exit_code"], o.code);
    let mut text_args = vec!["doctor"];
    text_args.extend_from_slice(extra);
    let t = fx.run(&text_args);
    assert_eq!(t.code, o.code, "{}", t.all());
    let secrets = secrets_of(&fx.state);
    assert_no_secrets(&o.all(), &secrets);
    assert_no_secrets(&t.all(), &secrets);
    v
}

fn findings<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).collect()
}

fn one<'a>(v: &'a Value, code: &str) -> &'a Value {
    let f = findings(v, code);
    assert_eq!(f.len(), 1, "expected one {code}, got {}:\n{}", f.len(), serde_json::to_string_pretty(v).unwrap());
    f[0]
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

fn explain(fx: &Fx, args: &[&str]) -> Value {
    let mut a = vec!["explain"];
    a.extend_from_slice(args);
    a.push("--json");
    let o = fx.ok(&a);
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));
    o.json()
}

fn explain_text(fx: &Fx, args: &[&str]) -> String {
    let mut a = vec!["explain"];
    a.extend_from_slice(args);
    let o = fx.ok(&a);
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));
    o.stdout
}

fn committed(name: &str) -> Fx {
    isolate(Fx::committed(name))
}

/// Rewrite one SQLite cell of a committed fixture (the way OpenClaw writes: compact JSON).
fn set_cell(db: &Path, sql: &str, value: &Value) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute(sql, [value.to_string()]).unwrap();
}

// ----------------------------------------------------------------------------------------------
// doctor: the clean state, exit codes, the command surface

#[test]
fn clean_state_has_no_finding_in_any_json_layout() {
    for layout in [Layout::A, Layout::B] {
        let fx = fx_of(&clean(), layout);
        let v = doctor(&fx, &[]);
        assert_eq!(v["findings"], json!([]), "{layout:?}: {v:#}");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["summary"], json!({"errors": 0, "warnings": 0, "infos": 0}));
        assert_eq!(v["agents"][0]["id"], "main");
        // issue 19: the layout's newest release (no openclaw installed, no stamp)
        assert_eq!(v["agents"][0]["rules"], if layout == Layout::A { "4.5" } else { "6.1" });
        let t = fx.ok(&["doctor"]).stdout;
        assert!(t.contains("No problems found."), "{t}");
    }
}

#[test]
fn doctor_json_schema_and_fix_flag_does_not_exist() {
    let fx = isolate(Fx::standard(Layout::B));
    let v = doctor(&fx, &[]);
    for k in ["schema_version", "tool_version", "now", "state_dir", "agents", "summary", "exit_code", "findings"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["now"], NOW);
    for f in v["findings"].as_array().unwrap() {
        for k in ["code", "severity", "title", "layers", "agent", "subjects", "message", "evidence", "fix"] {
            assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
        }
        assert!(f["code"].as_str().unwrap().starts_with("CA"));
        assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()));
        assert!(!f["layers"].as_array().unwrap().is_empty());
        assert!(f["evidence"].is_object());
    }
    // the standard fixture: the user pin's usage shows alice (CA015), alice's two workspaces (CA012)
    assert_eq!(codes(&v), vec!["CA015", "CA012"]);
    // only report-only findings: --fix has nothing to do and records nothing
    let o = fx.run(&["doctor", "--fix", "--yes"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(o.stdout.trim(), "Nothing to do.");
    assert!(o.stderr.contains("report-only findings are not changed by --fix: CA015, CA012"), "{}", o.stderr);
}

#[test]
fn doctor_fix_is_one_undoable_transaction() {
    // the demo without its router: a stale `:default` copy of bob beside the named profile
    // (CA010, CA011; with the router the slot is such a copy by design, issue 20) and stale
    // auto pins (CA003)
    let fx = isolate(Fx::committed("demo"));
    std::fs::remove_file(fx.state.join("codex-oauth-profiles.json")).unwrap();
    let before = fx.hash();
    let secrets = secrets_of(&fx.state);
    let o = fx.run(&["doctor", "--fix"]);
    assert_eq!(o.code, 1, "no terminal and no --yes must decline: {}", o.all());
    assert_eq!(before, fx.hash());
    let o = fx.run(&["doctor", "--fix", "--yes"]);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("Plan: fix CA010"), "{}", o.stdout);
    // the overlapping merge and the resync onto the removed copy are named, not silently dropped
    assert!(o.stdout.contains("skipped `clawauth profile merge"), "{}", o.stdout);
    assert!(o.stdout.contains("skipped `clawauth resync --all --auto-only` (CA003)"), "{}", o.stdout);
    assert!(o.stdout.contains("report-only findings left alone: CA015"), "{}", o.stdout);
    assert_no_secrets(&o.all(), &secrets);
    let log = fx.ok(&["log", "--json"]).json();
    let t = &log["transactions"];
    assert_eq!(t.as_array().unwrap().len(), 1, "one transaction for all fixes");
    assert_eq!(t[0]["workflow"], "doctor --fix");
    // the fixed codes are gone
    let v = doctor(&fx, &[]);
    let after = codes(&v);
    for c in ["CA010", "CA011"] {
        assert!(!after.iter().any(|x| x == c), "{c} still reported: {after:?}");
    }
    // and it undoes to the original bytes
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}

#[test]
fn info_findings_alone_exit_zero_ca012() {
    let mut sc = clean();
    let team = &fixture::accounts("openai-codex")[1];
    sc.profiles.insert(TEAM.into(), fixture::credential("openai-codex", team, FAR_MS, REF_NOW_MS, 1));
    sc.order.insert("openai-codex".into(), json!([ALICE, BOB, TEAM]));
    let fx = fx_of(&sc, Layout::B);
    let v = doctor(&fx, &[]);
    assert_eq!(codes(&v), vec!["CA012"]);
    let f = one(&v, "CA012");
    assert_eq!(f["severity"], "info");
    assert_eq!(f["evidence"]["email"], "alice@example.com");
    let accts: Vec<&str> =
        f["evidence"]["profiles"].as_array().unwrap().iter().map(|p| p["account_id"].as_str().unwrap()).collect();
    assert_eq!(accts, vec!["acct-alice-personal-0001", "acct-alice-team-0002"]);
    assert_eq!(f["fix"], "none");
    assert_eq!(v["exit_code"], 0);
}

// ----------------------------------------------------------------------------------------------
// doctor: routing state

#[test]
fn ca001_order_names_missing_profile() {
    let mut sc = clean();
    sc.order.insert("openai-codex".into(), json!([ALICE, "openai-codex:carol@example.com", BOB]));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA001");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["evidence"]["missing"], json!(["openai-codex:carol@example.com"]));
    assert_eq!(f["evidence"]["stored_in"], "agents/main/agent/auth-state.json");
    assert_eq!(f["fix"], format!("clawauth order set openai-codex {ALICE} {BOB}"));
}

#[test]
fn ca014_last_good_names_missing_profile() {
    let mut sc = clean();
    sc.last_good.insert("openai-codex".into(), json!("openai-codex:carol@example.com"));
    let v = doctor(&fx_of(&sc, Layout::A), &[]);
    let f = one(&v, "CA014");
    assert_eq!(f["evidence"]["last_good"], "openai-codex:carol@example.com");
    assert_eq!(f["evidence"]["stored_in"], "agents/main/agent/auth-profiles.json");
    assert_eq!(f["fix"], "clawauth lastgood clear openai-codex");
}

#[test]
fn ca017_inline_state_shadowed_by_auth_state() {
    let fx = fx_of(&clean(), Layout::B);
    let p = fx.agent().join("auth-profiles.json");
    let mut v = read_json(&p);
    v["order"] = json!({"openai-codex": [BOB, ALICE]});
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let r = doctor(&fx, &[]);
    let f = one(&r, "CA017");
    assert_eq!(f["subjects"], json!(["order/openai-codex"]));
    assert_eq!(f["evidence"]["shadowed"][0]["inline"], json!([BOB, ALICE]));
    assert_eq!(f["evidence"]["shadowed"][0]["auth_state"], json!([ALICE, BOB]));
    assert_eq!(f["fix"], "report only");
}

#[test]
fn ca018_window_longer_than_openclaw_sets() {
    let mut sc = clean();
    let until = REF_NOW_MS + 400 * 86_400_000;
    sc.usage_stats.insert(BOB.into(), json!({"disabledUntil": until, "disabledReason": "billing"}));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA018");
    assert_eq!(f["evidence"]["field"], "disabledUntil");
    assert_eq!(f["evidence"]["until"], until);
    assert_eq!(f["evidence"]["reason"], "billing");
    assert_eq!(f["fix"], format!("clawauth cooldown clear {BOB}"));
    // the standard fixture's one-hour rate-limit cooldown is one OpenClaw really sets
    assert!(findings(&doctor(&isolate(Fx::standard(Layout::B)), &[]), "CA018").is_empty());
}

#[test]
fn ca023_routing_state_keyed_by_retired_ids_in_sqlite_layouts() {
    let retired = json!({
        "version": 1,
        "order": {"openai-codex": ["openai-codex:alice-team", "openai-codex:alice@example.com", "openai-codex:bob@example.com"]},
        "lastGood": {"openai-codex": "openai-codex:alice@example.com"},
        "usageStats": {"openai-codex:alice-team": {"cooldownUntil": REF_NOW_MS + 3_600_000, "cooldownReason": "billing"}}
    });
    // layout C: the agent database's state row, as the 7.35 doctor left it
    let fx = committed("layout-c");
    set_cell(
        &fx.agent().join("openclaw-agent.sqlite"),
        "UPDATE auth_profile_state SET state_json = ?1 WHERE state_key = 'primary'",
        &retired,
    );
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA023");
    assert_eq!(
        f["evidence"]["retired_keys"],
        json!(["order/openai-codex", "lastGood/openai-codex", "usageStats/openai-codex:alice-team"])
    );
    assert_eq!(f["evidence"]["renames"]["openai-codex:alice-team"], "openai:alice-team");
    assert_eq!(f["evidence"]["live_order_exists"], false);
    assert_eq!(f["evidence"]["ignored_windows"][0]["profile"], "openai-codex:alice-team");
    assert_eq!(f["fix"], "clawauth rekey-state");
    // reported once, not again as missing order / lastGood ids
    assert!(findings(&v, "CA001").is_empty() && findings(&v, "CA014").is_empty(), "{v:#}");

    // layout D: the shared state row
    let fx = committed("layout-d");
    set_cell(
        &fx.state.join("state/openclaw.sqlite"),
        "UPDATE config_machine_state SET value_json = ?1 WHERE state_key = 'authProfiles.state'",
        &retired,
    );
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA023");
    assert!(f["evidence"]["stored_in"][0].as_str().unwrap().contains("authProfiles.state"), "{f:#}");
}

// ----------------------------------------------------------------------------------------------
// doctor: sessions

#[test]
fn ca002_dangling_pin_json_and_sqlite() {
    let fx = isolate(Fx::broken("dangling-pin"));
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA002");
    assert_eq!(f["subjects"], json!(["agent:main:main", "openai-codex:carol@example.com"]));
    assert_eq!(f["evidence"]["pin_source"], "user");
    assert_eq!(f["evidence"]["next_reply"], ALICE);
    assert_eq!(f["fix"], "clawauth unpin agent:main:main");

    // real OpenClaw's 9.6 migration of the router state left the pins on the retired ids:
    // resync moves each to the same identity under its new id, keeping its source
    let fx = committed("layout-d-router");
    let v = doctor(&fx, &[]);
    let tg = findings(&v, "CA002").into_iter().find(|f| f["evidence"]["session"] == TG).unwrap();
    assert_eq!(tg["evidence"]["same_identity_now"], "openai:bob@example.com");
    assert_eq!(tg["fix"], format!("clawauth resync --session {TG}"));
    assert_eq!(tg["fix_alternatives"][0], format!("clawauth pin {TG} openai:bob@example.com"));
    let dc = findings(&v, "CA002").into_iter().find(|f| f["evidence"]["session"] == DISCORD).unwrap();
    assert_eq!(dc["fix"], format!("clawauth resync --session {DISCORD}"));
    assert_eq!(dc["fix_alternatives"][0], format!("clawauth pin {DISCORD} openai:alice@example.com --source auto"));
    // and doctor --fix repairs them all in one transaction
    fx.ok(&["doctor", "--fix", "--yes"]);
    let v = doctor(&fx, &[]);
    assert!(findings(&v, "CA002").is_empty(), "{v}");
}

#[test]
fn ca003_auto_pin_contradicts_order() {
    let mut sc = clean();
    sc.order.insert("openai-codex".into(), json!([BOB, ALICE]));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA003");
    // the discord chat and the subagent keep alice although the order now starts with bob
    assert_eq!(f["evidence"]["count"], 2);
    let d = f["evidence"]["sessions"].as_array().unwrap().iter().find(|s| s["session"] == DISCORD).unwrap();
    assert_eq!(d["pin"], ALICE);
    assert_eq!(d["first_usable_in_order"], BOB);
    assert_eq!(f["fix"], "clawauth resync --all --auto-only");

    // one session: the fix names it
    sc.sessions.retain(|k, _| !k.contains("subagent"));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    assert_eq!(one(&v, "CA003")["fix"], format!("clawauth resync --session {DISCORD} --auto-only"));
}

#[test]
fn ca004_auto_pin_in_cooldown() {
    let mut sc = clean();
    sc.sessions.retain(|k, _| !k.contains("subagent"));
    sc.usage_stats.insert(
        ALICE.into(),
        json!({"cooldownUntil": REF_NOW_MS + 30 * 60_000, "cooldownReason": "rate_limit", "errorCount": 1}),
    );
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA004");
    let s = &f["evidence"]["sessions"][0];
    assert_eq!(s["session"], DISCORD);
    assert_eq!(s["pin"], ALICE);
    assert_eq!(s["window"]["kind"], "cooldown");
    assert_eq!(s["window"]["until"], "2026-05-01T12:30:00Z");
    assert_eq!(s["next_reply"], BOB);
    assert_eq!(f["fix"], format!("clawauth resync --session {DISCORD} --auto-only"));
}

#[test]
fn ca015_usage_source_differs() {
    let v = doctor(&isolate(Fx::standard(Layout::A)), &[]);
    let f = one(&v, "CA015");
    assert_eq!(f["subjects"], json!([TG]));
    assert_eq!(f["evidence"]["sessions"][0]["next_reply"], BOB);
    assert_eq!(f["evidence"]["sessions"][0]["usage_source"], ALICE);
    assert_eq!(f["fix"], "report only");
}

#[test]
fn ca019_case_variant_keys_with_different_pins() {
    let mut sc = clean();
    let mut alias = sc.sessions["agent:main:main"].clone();
    alias["authProfileOverride"] = json!(BOB);
    alias["authProfileOverrideSource"] = json!("user");
    sc.sessions.insert("agent:main:MAIN".into(), alias);
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA019");
    let keys: Vec<&str> =
        f["evidence"]["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"agent:main:main") && keys.contains(&"agent:main:MAIN"));
    assert_eq!(f["fix"], "clawauth resync --session agent:main:main --auto-only");

    // neither key is lower-case, and the letters that differ are not ASCII
    let mut sc = clean();
    for (k, pin) in [("agent:main:telegram:ÉTÉ", ALICE), ("agent:main:telegram:Été", BOB)] {
        let mut e = sc.sessions["agent:main:main"].clone();
        e["authProfileOverride"] = json!(pin);
        e["authProfileOverrideSource"] = json!("user");
        sc.sessions.insert(k.into(), e);
    }
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA019");
    assert_eq!(f["subjects"], json!(["agent:main:telegram:ÉTÉ", "agent:main:telegram:Été"]));
}

#[test]
fn ca022_user_pin_the_runtime_cannot_use() {
    // 2026.5.28 keeps a user pin outside the order: the chat fails over to another model
    let mut sc = clean();
    sc.sessions[TG]["authProfileOverride"] = json!(BOB);
    sc.sessions[TG]["authProfileOverrideSource"] = json!("user");
    sc.order.insert("openai-codex".into(), json!([ALICE]));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA022");
    assert_eq!(f["subjects"], json!([TG, BOB]));
    assert_eq!(f["evidence"]["reason"], "not in the effective auth order");
    assert_eq!(f["fix"], format!("clawauth unpin {TG}"));
    assert_eq!(f["fix_alternatives"], json!([format!("clawauth pin {TG} {ALICE}")]));

    // 2026.9 keeps a user pin in cooldown; 2026.5.28 would move the chat instead
    let mut sc = clean();
    sc.sessions[TG]["authProfileOverride"] = json!(BOB);
    sc.sessions[TG]["authProfileOverrideSource"] = json!("user");
    sc.usage_stats.insert(BOB.into(), json!({"cooldownUntil": REF_NOW_MS + 3_600_000, "cooldownReason": "auth"}));
    let fx = fx_of(&sc, Layout::B);
    assert!(findings(&doctor(&fx, &[]), "CA022").is_empty());
    let v = doctor(&fx, &["--rules", "9.6"]);
    let f = one(&v, "CA022");
    assert!(f["evidence"]["reason"].as_str().unwrap().starts_with("unusable: cooldown until 2026-05-01T13:00:00Z"));
    assert_eq!(f["evidence"]["rules"], "9.6");
}

// ----------------------------------------------------------------------------------------------
// doctor: credentials

#[test]
fn ca007_token_account_differs_from_stored() {
    let mut sc = clean();
    sc.profiles[BOB]["accountId"] = json!("acct-someone-else-9999");
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA007");
    assert_eq!(f["evidence"]["stored_account_id"], "acct-someone-else-9999");
    assert_eq!(f["evidence"]["token_account_id"], "acct-bob-0003");
    assert_eq!(f["evidence"]["token_email"], "bob@example.com");
    assert!(f["evidence"]["access"].as_str().unwrap().starts_with("eyJ…#"));
    assert_eq!(f["fix"], format!("clawauth restore-token {BOB}"));
}

#[test]
fn ca008_broken_entry() {
    let v = doctor(&isolate(Fx::broken("non-jwt-access")), &[]);
    let f = one(&v, "CA008");
    assert_eq!(f["subjects"], json!([BOB]));
    assert_eq!(f["evidence"]["problems"], json!(["access token is not a decodable JWT"]));
    assert_eq!(f["evidence"]["token_state"], "not_a_jwt");
    assert!(f["evidence"]["access"].as_str().unwrap().starts_with("…#"));
    assert_eq!(f["fix"], format!("clawauth restore-token {BOB}"));

    // wrong types are broken too
    let mut sc = clean();
    sc.profiles[BOB]["expires"] = json!("tomorrow");
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    assert_eq!(one(&v, "CA008")["evidence"]["problems"], json!(["`expires` is a string instead of a number"]));
}

#[test]
fn ca009_expired_without_refresh() {
    let mut sc = clean();
    let bob = &fixture::accounts("openai-codex")[2];
    let past = REF_NOW_MS - 86_400_000;
    sc.profiles[BOB]["access"] = json!(fixture::fake_jwt(&bob.email, &bob.account_id, &bob.user_id, "pro", past, past));
    sc.profiles[BOB]["expires"] = json!(past);
    sc.profiles[BOB].as_object_mut().unwrap().remove("refresh");
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA009");
    assert_eq!(f["evidence"]["expired_at"], "2026-04-30T12:00:00Z");
    assert_eq!(f["fix"], format!("clawauth restore-token {BOB}"));
}

#[test]
fn ca010_refresh_token_shared_in_one_store_and_across_agents() {
    let v = doctor(&isolate(Fx::broken("duplicate-refresh")), &[]);
    let f = one(&v, "CA010");
    assert_eq!(f["agent"], "main");
    assert_eq!(f["subjects"], json!([ALICE, BOB]));
    assert!(f["evidence"]["refresh"].as_str().unwrap().starts_with("…#"));
    assert_eq!(f["evidence"]["across_agents"], false);
    assert!(f["fix"].as_str().unwrap().starts_with("clawauth profile remove "));

    // another agent holds its own copy of bob's credential: one refresh logs the other out
    let mut sc = clean();
    let copy: serde_json::Map<String, Value> = [(BOB.to_string(), sc.profiles[BOB].clone())].into_iter().collect();
    sc.extra_agents.push(("work".into(), copy));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    assert_eq!(v["agents"].as_array().unwrap().len(), 2);
    let f = one(&v, "CA010");
    assert_eq!(f["agent"], Value::Null);
    assert_eq!(f["evidence"]["across_agents"], true);
    let agents: Vec<&str> =
        f["evidence"]["copies"].as_array().unwrap().iter().map(|c| c["agent"].as_str().unwrap()).collect();
    assert_eq!(agents, vec!["main", "work"]);
    assert_eq!(f["fix"], format!("clawauth --agent work profile remove {BOB}"));
}

#[test]
fn ca011_same_identity_under_two_ids() {
    let mut sc = clean();
    let bob = &fixture::accounts("openai-codex")[2];
    sc.profiles.insert("openai-codex:default".into(), fixture::credential("openai-codex", bob, FAR_MS, REF_NOW_MS, 2));
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA011");
    assert_eq!(f["evidence"]["account_id"], "acct-bob-0003");
    assert_eq!(f["evidence"]["user_id"], "user-bob-0003");
    assert_eq!(f["evidence"]["keep"], BOB);
    assert_eq!(f["fix"], format!("clawauth profile merge {BOB} openai-codex:default"));
    // different refresh generations: not the same token
    assert!(findings(&v, "CA010").is_empty());
}

#[test]
fn ca013_label_is_not_the_token_email() {
    let mut sc = clean();
    sc.config = Some(
        json!({"auth": {"profiles": {BOB: {"provider": "openai-codex", "mode": "oauth", "email": "carol@example.com"}}}}),
    );
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA013");
    assert_eq!(f["evidence"]["token_email"], "bob@example.com");
    assert_eq!(
        f["evidence"]["mismatches"],
        json!([{"field": "config auth.profiles.email", "value": "carol@example.com"}])
    );
    assert_eq!(f["evidence"]["label"], format!("{BOB} (carol@example.com)"));
    assert_eq!(f["evidence"]["label_source"], "config email");
}

// ----------------------------------------------------------------------------------------------
// doctor: external router

#[test]
fn ca005_active_slot_matches_no_repo_profile() {
    let mut sc = clean().with_router();
    sc.profiles["openai-codex:default"]["refresh"] = json!("fake-refresh-edited-copy");
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA005");
    assert_eq!(f["subjects"], json!(["openai-codex:default", "codex-oauth-profiles.json"]));
    let bob = f["evidence"]["partial_matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["repo_id"] == "openai-codex:bob@example.com")
        .unwrap();
    assert_eq!(bob["account_id"], true);
    assert_eq!(bob["access"], true);
    assert_eq!(bob["refresh"], false);
    assert!(f["evidence"]["slot_refresh"].as_str().unwrap().starts_with("…#"));
    assert_eq!(f["fix"], "clawauth activate openai-codex:bob@example.com");
}

#[test]
fn ca006_preference_is_not_the_slot_identity() {
    let mut sc = clean().with_router();
    sc.preference = Some(ALICE.into());
    let v = doctor(&fx_of(&sc, Layout::B), &[]);
    let f = one(&v, "CA006");
    assert_eq!(f["evidence"]["preference_identity"]["account_id"], "acct-alice-personal-0001");
    assert_eq!(f["evidence"]["slot_identity"]["account_id"], "acct-bob-0003");
    assert_eq!(f["evidence"]["slot_holds_repo_profile"], BOB);
    assert_eq!(f["fix"], format!("clawauth activate {ALICE}"));
    assert_eq!(f["fix_alternatives"], json!([format!("clawauth preference set {BOB}")]));
    // the router fixture as built: preference and slot agree
    assert!(findings(&doctor(&fx_of(&clean().with_router(), Layout::B), &[]), "CA006").is_empty());
}

// ----------------------------------------------------------------------------------------------
// doctor: storage era and the running system

#[test]
fn ca016_stranded_legacy_files_beside_sqlite() {
    for name in ["layout-c", "layout-d"] {
        let fx = committed(name);
        std::fs::write(fx.agent().join("auth-profiles.json"), b"{\"version\": 1, \"profiles\": {}}\n").unwrap();
        let v = doctor(&fx, &[]);
        let f = one(&v, "CA016");
        assert_eq!(f["evidence"]["stranded"], json!(["agents/main/agent/auth-profiles.json"]), "{name}");
        assert_eq!(f["fix"], "report only");
        assert!(f["evidence"]["live_store"][0].as_str().unwrap().contains(".sqlite#"), "{f:#}");
    }
    assert!(findings(&doctor(&committed("layout-c"), &[]), "CA016").is_empty());
}

#[test]
fn ca020_stale_lock_file() {
    let fx = fx_of(&clean(), Layout::B);
    std::fs::write(
        fx.agent().join("auth-profiles.json.lock"),
        b"{\n  \"pid\": 2000000000,\n  \"createdAt\": \"2026-05-01T11:00:00.000Z\"\n}\n",
    )
    .unwrap();
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA020");
    assert_eq!(f["evidence"]["lock"], "agents/main/agent/auth-profiles.json.lock");
    assert_eq!(f["evidence"]["pid"], 2000000000);
    assert_eq!(f["evidence"]["why"], "pid 2000000000 is not running");
    assert_eq!(f["fix"], "report only");
}

#[test]
fn ca021_running_gateway_process_lock_and_lease() {
    // a gateway process (in a fake /proc, so the test does not depend on the machine)
    let fx = fx_of(&clean(), Layout::B);
    let pdir = fx.tmp.path().join("proc/4242");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(
        pdir.join("cmdline"),
        b"node\0/usr/lib/node_modules/openclaw/openclaw.mjs\0gateway\0--token\0sekrit-value\0",
    )
    .unwrap();
    // it works on this state dir (its environment says so)
    std::fs::write(pdir.join("environ"), format!("HOME=/root\0OPENCLAW_STATE_DIR={}\0", fx.state.display())).unwrap();
    std::fs::create_dir_all(fx.tmp.path().join("proc/4243")).unwrap();
    std::fs::write(fx.tmp.path().join("proc/4243/cmdline"), b"bash\0-l\0").unwrap();
    // another state dir's gateway is none of this state dir's business
    let other = fx.tmp.path().join("proc/4244");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("cmdline"), b"node\0/usr/lib/node_modules/openclaw/openclaw.mjs\0gateway\0").unwrap();
    std::fs::write(other.join("environ"), b"HOME=/home/other\0OPENCLAW_STATE_DIR=/srv/other-openclaw\0").unwrap();
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA021");
    assert_eq!(f["evidence"]["source"], "process");
    assert_eq!(f["evidence"]["pid"], 4242);
    let cmd = f["evidence"]["command"].as_str().unwrap();
    assert!(cmd.contains("openclaw.mjs gateway --token …"), "{cmd}");
    assert!(!fx.run(&["doctor"]).stdout.contains("sekrit"));

    // a live holder of OpenClaw's own lock (this test process)
    let fx = fx_of(&clean(), Layout::B);
    let me = std::process::id();
    std::fs::write(
        fx.agent().join("auth-profiles.json.lock"),
        format!("{{\n  \"pid\": {me},\n  \"createdAt\": \"2026-05-01T12:04:59.000Z\"\n}}\n"),
    )
    .unwrap();
    let v = doctor(&fx, &[]);
    let f = one(&v, "CA021");
    assert_eq!(f["evidence"]["source"], "lock file");
    assert_eq!(f["evidence"]["pid"], me);

    // layout D: a live process's registration is no finding; OpenClaw's maintenance lease is
    let fx = committed("layout-d");
    let db = rusqlite::Connection::open(fx.state.join("state/openclaw.sqlite")).unwrap();
    db.execute(
        "INSERT INTO agent_database_leases (lease_id, agent_id, path, owner_pid, opened_at) VALUES ('l1', 'main', 'agents/main/agent/openclaw-agent.sqlite', ?1, 0)",
        [me],
    )
    .unwrap();
    drop(db);
    assert!(findings(&doctor(&fx, &[]), "CA021").is_empty(), "a registration is not a running gateway");
    let db = rusqlite::Connection::open(fx.state.join("state/openclaw.sqlite")).unwrap();
    db.execute(
        "INSERT INTO state_leases (scope, lease_key, owner, expires_at, created_at, updated_at) VALUES ('core:agent-database-maintenance', 'global', 'doctor-1', ?1, 0, 0)",
        [REF_NOW_MS + 3_600_000],
    )
    .unwrap();
    drop(db);
    let v = doctor(&fx, &[]);
    let lease = one(&v, "CA021");
    assert_eq!(lease["evidence"]["source"], "state_leases");
    assert_eq!(lease["evidence"]["scope"], "core:agent-database-maintenance");
    assert_eq!(lease["evidence"]["owner"], "doctor-1");
}

#[test]
fn doctor_text_reads_well_and_never_leaks() {
    let fx = isolate(Fx::broken("duplicate-refresh"));
    let o = fx.run(&["doctor"]);
    assert_eq!(o.code, 4);
    let t = &o.stdout;
    assert!(t.contains("ERROR    CA010  the same refresh token is stored twice  [agent main]"), "{t}");
    assert!(t.contains("fix       clawauth profile remove"), "{t}");
    assert!(t.lines().last().unwrap().contains("— exit 4"), "{t}");
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));
}

// ----------------------------------------------------------------------------------------------
// explain

#[test]
fn explain_user_pin_kept_and_usage_differs() {
    let fx = isolate(Fx::standard(Layout::B));
    let v = explain(&fx, &[TG]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["agent"], "main");
    assert_eq!(v["layout"], "B");
    // issue 19: a plain layout-B dir without evidence -> its newest release, said to be a guess
    assert_eq!(v["rules"], "6.1");
    assert!(v["rules_source"].as_str().unwrap().starts_with("guess"), "{}", v["rules_source"]);
    assert_eq!(v["pin"]["profile"], BOB);
    assert_eq!(v["pin"]["source"], "user");
    assert_eq!(v["pin"]["source_inferred"], false);
    assert_eq!(v["next_reply"]["profile"], BOB);
    assert_eq!(v["next_reply"]["source"], "user");
    assert_eq!(v["next_reply"]["rewrites_pin"], false);
    assert_eq!(v["next_reply"]["write"], json!({"action": "none"}));
    assert!(v["next_reply"]["steps"].as_array().unwrap().iter().any(|s| s == &json!(format!("user pin kept: {BOB}"))));
    assert_eq!(v["usage"]["profile"], ALICE);
    assert_eq!(v["usage"]["differs"], true);
    assert_eq!(v["label"]["profile"], BOB);
    assert_eq!(v["label"]["source"], "credential email");
    assert_eq!(v["label"]["lies"], false);
    assert_eq!(v["verdict"]["layer"], "usage source");
    // the order layer: stored wins, the cooling profile is last with its window
    assert_eq!(v["order"]["explicit_source"], "stored");
    assert_eq!(v["order"]["stored_from"], "agents/main/agent/auth-state.json");
    assert_eq!(v["order"]["effective"], json!([ALICE, BOB, TEAM]));
    let team = v["eligibility"].as_array().unwrap().iter().find(|e| e["id"] == TEAM).unwrap();
    assert_eq!(team["unusable"], true);
    assert_eq!(team["position"], 3);
    assert_eq!(team["window"]["kind"], "cooldown");
    assert_eq!(team["window"]["reason"], "rate_limit");

    let t = explain_text(&fx, &[TG]);
    for (n, name) in [
        (1, "stored preference"),
        (2, "auth order"),
        (3, "eligibility"),
        (4, "session pin"),
        (5, "next reply"),
        (6, "usage source"),
        (7, "display label"),
        (8, "external repo"),
    ] {
        assert!(t.contains(&format!("{n} {name}")), "missing step {n} {name}:\n{t}");
    }
    assert!(t.contains("unusable: cooldown until 2026-05-01T13:00:00Z (in 55m, rate_limit) — tried last"), "{t}");
    assert_eq!(t.matches("verdict:").count(), 1, "{t}");
    assert!(
        t.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("verdict: usage source disagrees — /status shows the quota of openai-codex:alice@example.com"),
        "{t}"
    );
}

#[test]
fn explain_auto_pin_in_cooldown_is_replaced() {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.usage_stats
        .insert(ALICE.into(), json!({"cooldownUntil": REF_NOW_MS + 20 * 60_000, "cooldownReason": "rate_limit"}));
    let fx = fx_of(&sc, Layout::B);
    let v = explain(&fx, &[DISCORD]);
    assert_eq!(v["pin"]["profile"], ALICE);
    assert_eq!(v["pin"]["unusable"], true);
    assert_eq!(v["next_reply"]["profile"], BOB);
    assert_eq!(v["next_reply"]["source"], "auto");
    assert_eq!(v["next_reply"]["rewrites_pin"], true);
    assert_eq!(v["next_reply"]["write"], json!({"action": "set_auto", "profile": BOB, "compaction_count": 0}));
    assert_eq!(v["verdict"]["layer"], "session override");
    assert!(v["verdict"]["text"].as_str().unwrap().contains("is in cooldown"), "{v:#}");
    let t = explain_text(&fx, &[DISCORD]);
    assert!(t.contains(&format!("rewrites the pin: auto -> {BOB}")), "{t}");
}

#[test]
fn explain_dangling_pin_json_and_sqlite() {
    let fx = isolate(Fx::broken("dangling-pin"));
    let v = explain(&fx, &["agent:main:main"]);
    assert_eq!(v["pin"]["profile"], "openai-codex:carol@example.com");
    assert_eq!(v["pin"]["exists"], false);
    assert_eq!(v["next_reply"]["write"]["action"], "set_auto");
    assert_eq!(v["next_reply"]["profile"], ALICE);
    assert_eq!(v["verdict"]["layer"], "session override");
    assert!(v["verdict"]["text"].as_str().unwrap().contains("does not exist: OpenClaw clears it"));

    // layout D made by real OpenClaw 2026.9.6: the migrated router store kept the old id on the pin
    let fx = committed("layout-d-router");
    let v = explain(&fx, &[TG]);
    assert_eq!(v["layout"], "D");
    assert_eq!(v["rules"], "9.6");
    assert_eq!(v["provider"], "openai");
    assert_eq!(v["pin"]["exists"], false);
    assert_eq!(v["next_reply"]["profile"], "openai:default");
    assert_eq!(v["verdict"]["layer"], "session override");
}

#[test]
fn explain_new_session_rotates_the_auto_pin() {
    let fx = isolate(Fx::standard(Layout::B));
    let v = explain(&fx, &[DISCORD]);
    assert!(v.get("after_new_session").is_none());
    assert_eq!(v["next_reply"]["profile"], ALICE);
    let v = explain(&fx, &[DISCORD, "--new-session"]);
    assert_eq!(v["next_reply"]["profile"], ALICE);
    assert_eq!(v["after_new_session"]["profile"], BOB);
    assert_eq!(v["after_new_session"]["write"], json!({"action": "set_auto", "profile": BOB, "compaction_count": 0}));
    let t = explain_text(&fx, &[DISCORD, "--new-session"]);
    assert!(t.contains(&format!("after /new           {BOB} (auto)")), "{t}");
    assert!(t.contains(&format!("/new: the pin rotates to the next usable profile: {BOB}")), "{t}");
}

#[test]
fn explain_rules_override_changes_the_era() {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.usage_stats.insert(BOB.into(), json!({"cooldownUntil": REF_NOW_MS + 30 * 60_000, "cooldownReason": "auth"}));
    let fx = fx_of(&sc, Layout::B);
    // 2026.5.4 – 7.35: a user pin in cooldown is replaced by the first usable profile, re-tagged
    // auto (issue 19: a layout-B dir without evidence is read as 2026.6.1)
    let v = explain(&fx, &[TG]);
    assert_eq!(v["rules"], "6.1");
    assert_eq!(v["next_reply"]["profile"], ALICE);
    assert_eq!(v["next_reply"]["source"], "auto");
    // 2026.9.6: user pins are kept, so the chat fails over to another model
    let v = explain(&fx, &[TG, "--rules", "9.6"]);
    assert_eq!(v["rules"], "9.6");
    assert_eq!(v["rules_source"], "--rules");
    assert_eq!(v["next_reply"]["profile"], BOB);
    assert_eq!(v["next_reply"]["source"], "user");
    assert_eq!(v["verdict"]["layer"], "session override");
    assert!(v["verdict"]["text"].as_str().unwrap().contains("unusable right now, but OpenClaw keeps it"));
    // 2026.4.5 keeps it as well
    assert_eq!(explain(&fx, &[TG, "--rules", "4.5"])["next_reply"]["profile"], BOB);
    let o = fx.run(&["explain", TG, "--rules", "8"]);
    assert_eq!(o.code, 2, "{}", o.all());
}

#[test]
fn explain_clean_chat_agrees_and_preference_disagrees() {
    let fx = fx_of(&clean(), Layout::A);
    let v = explain(&fx, &["agent:main:main"]);
    assert_eq!(v["verdict"]["layer"], Value::Null);
    assert_eq!(v["verdict"]["text"], format!("all layers agree: the next reply uses {ALICE}"));
    let t = explain_text(&fx, &["agent:main:main"]);
    assert!(t.trim_end().ends_with(&format!("verdict: all layers agree: the next reply uses {ALICE}")), "{t}");

    // the router: the helper prefers alice, the slot (first in the order) holds bob
    let mut sc = clean().with_router();
    sc.preference = Some(ALICE.into());
    let fx = fx_of(&sc, Layout::B);
    let v = explain(&fx, &["agent:main:main"]);
    assert_eq!(v["next_reply"]["profile"], "openai-codex:default");
    assert_eq!(v["preference"]["matches_next_reply"], false);
    assert_eq!(v["external"]["slot_holds"], BOB);
    assert_eq!(v["external"]["next_reply_uses_slot"], true);
    assert_eq!(v["external"]["preference_matches_slot"], false);
    assert_eq!(v["verdict"]["layer"], "stored preference");
}

#[test]
fn explain_label_that_lies_and_config_order() {
    let mut sc = clean();
    sc.config = Some(json!({
        "auth": {
            "profiles": {ALICE: {"provider": "openai-codex", "mode": "oauth", "email": "carol@example.com"}},
            "order": {"openai-codex": [BOB, ALICE]}
        }
    }));
    let fx = fx_of(&sc, Layout::B);
    let v = explain(&fx, &["agent:main:main"]);
    assert_eq!(v["order"]["stored_and_config_differ"], true);
    assert_eq!(v["order"]["configured"], json!([BOB, ALICE]));
    assert_eq!(v["label"]["source"], "config email");
    assert_eq!(v["label"]["lies"], true);
    assert_eq!(v["verdict"]["layer"], "display metadata");
    assert_eq!(v["verdict"]["also"], json!(["auth order"]));
}

#[test]
fn explain_unknown_session_and_case_alias() {
    let fx = isolate(Fx::standard(Layout::B));
    let o = fx.run(&["explain", "agent:main:nope"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no session 'agent:main:nope'"), "{}", o.stderr);
    // a case-variant of the key finds the chat
    let v = explain(&fx, &["AGENT:MAIN:TELEGRAM:DIRECT:1001"]);
    assert_eq!(v["session"]["key"], TG);
}
