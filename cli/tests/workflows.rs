//! Repair workflows end to end: restore-token, resync, activate, cooldown clear, profile
//! remove/rename/merge, preference set. Each: the plan, apply -> undo -> byte-identical, bad
//! arguments with nothing written, and the credential rotation rule.

mod common;
use common::*;

use clawauth_core::json::{to_bytes, Style};
use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Account, Scenario, FAR_MS, REF_NOW_MS};
use serde_json::{json, Value};

const ALICE: &str = "openai-codex:alice@example.com";
const TEAM: &str = "openai-codex:alice-team";
const BOB: &str = "openai-codex:bob@example.com";

fn write_json(p: &std::path::Path, v: &Value, style: Style) {
    std::fs::write(p, to_bytes(v, style)).unwrap();
}

fn bob() -> Account {
    fixture::accounts("openai-codex").remove(2)
}

fn alice() -> Account {
    fixture::accounts("openai-codex").remove(0)
}

/// Paths that differ between two tree hashes.
fn changed(
    a: &std::collections::BTreeMap<String, String>,
    b: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

fn state_json(fx: &Fx, layout: Layout) -> Value {
    let p =
        if layout == Layout::A { fx.agent().join("auth-profiles.json") } else { fx.agent().join("auth-state.json") };
    read_json(&p)
}

/// A mutating command that must fail with `code`, naming `phrase`, writing nothing.
fn refused(fx: &Fx, args: &[&str], code: i32, phrase: &str) {
    let before = fx.hash();
    let o = fx.run(args);
    assert_eq!(o.code, code, "{args:?}: {}", o.all());
    assert!(o.stderr.contains(phrase), "{args:?}: expected '{phrase}' in:\n{}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert_eq!(before, fx.hash(), "{args:?} wrote something");
}

// ----------------------------------------------------------------------------------------------
// cooldown clear

#[test]
fn cooldown_clear_plan_apply_undo() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        let o = fx.ok(&["cooldown", "clear", TEAM, "--yes"]);
        let t = &o.stdout;
        assert!(t.contains(&format!("remove /usageStats/{TEAM}/cooldownUntil")), "{t}");
        assert!(t.contains(&format!("set    /usageStats/{TEAM}/errorCount = 0 (was 2)")), "{t}");
        // alice's personal and team workspaces are two identities: an account change
        assert!(
            t.contains(&format!(
                "agent:main:main: {ALICE} (alice@example.com, account acct-alice-personal-0001) -> {TEAM} (alice@example.com, account acct-alice-team-0002)"
            )),
            "blast radius missing:\n{t}"
        );
        let e = state_json(&fx, layout)["usageStats"][TEAM].clone();
        assert_eq!(
            e,
            json!({"lastUsed": REF_NOW_MS - 3_600_000, "errorCount": 0, "lastFailureAt": REF_NOW_MS - 120_000}),
            "{layout:?}"
        );
        assert_eq!(changed(&before, &fx.hash()).len(), 1);
        // nothing left to clear
        assert_eq!(fx.ok(&["cooldown", "clear", "--all", "--yes"]).stdout.trim(), "Nothing to do.");
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, fx.hash(), "{layout:?}");
        // --all takes every profile with a window or counters
        let o = fx.ok(&["cooldown", "clear", "--all", "--yes"]);
        assert!(o.stdout.contains(TEAM), "{}", o.stdout);
        fx.ok(&["undo", "3", "--yes"]);
        assert_eq!(before, fx.hash());
    }
}

#[test]
fn cooldown_clear_bad_arguments_write_nothing() {
    let fx = Fx::standard(Layout::B);
    refused(&fx, &["cooldown", "clear", "openai-codex:zed", "--yes"], 1, "no profile 'openai-codex:zed'");
    refused(&fx, &["cooldown", "clear", "--yes"], 2, "");
}

// ----------------------------------------------------------------------------------------------
// profile remove / rename / merge

#[test]
fn profile_remove_rewrites_every_reference_and_undoes() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        let o = fx.ok(&["profile", "remove", ALICE, "--yes"]);
        let t = &o.stdout;
        // the pins on it are re-pinned to what OpenClaw would pick (team is cooling down)
        assert!(
            t.contains(&format!("agent:main:discord:channel:2002: pinned to {ALICE}: re-pin to {BOB} (auto)")),
            "{t}"
        );
        assert!(t.contains("blast radius:"), "{t}");
        let auth = read_json(&fx.agent().join("auth-profiles.json"));
        assert!(auth["profiles"].get(ALICE).is_none());
        assert!(auth["profiles"].get(BOB).is_some() && auth["profiles"].get(TEAM).is_some());
        let st = state_json(&fx, layout);
        assert_eq!(st["order"]["openai-codex"], json!([TEAM, BOB]));
        assert!(st.get("lastGood").is_none(), "emptied lastGood map is dropped: {st}");
        assert!(st["usageStats"].get(ALICE).is_none());
        let s = read_json(&fx.sessions());
        assert_eq!(s["agent:main:discord:channel:2002"]["authProfileOverride"], BOB);
        assert_eq!(s["agent:main:discord:channel:2002"]["authProfileOverrideSource"], "auto");
        // status agrees: nobody resolves to the removed profile
        let v = fx.ok(&["status", "--json", "--all"]).json();
        for sess in v["agents"][0]["sessions"].as_array().unwrap() {
            assert_ne!(sess["effective"], ALICE);
        }
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, fx.hash(), "{layout:?}");
    }
}

#[test]
fn profile_rename_rewrites_references_and_warns_about_config() {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.config = Some(json!({"auth": {"profiles": {ALICE: {"provider": "openai-codex", "mode": "oauth"}}}}));
    sc.preference = Some(ALICE.into());
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::scenario(&sc, layout);
        let before = fx.hash();
        let new = "openai-codex:alice-personal";
        let o = fx.ok(&["profile", "rename", ALICE, new, "--yes"]);
        assert!(
            o.stdout.contains("openclaw.json still names openai-codex:alice@example.com in auth.profiles"),
            "{}",
            o.stdout
        );
        assert!(o.stdout.contains("blast radius: no session changes account"), "{}", o.stdout);
        let auth = read_json(&fx.agent().join("auth-profiles.json"));
        assert!(auth["profiles"].get(ALICE).is_none());
        assert_eq!(auth["profiles"][new]["accountId"], "acct-alice-personal-0001");
        let st = state_json(&fx, layout);
        assert_eq!(st["order"]["openai-codex"], json!([TEAM, new, BOB]));
        assert_eq!(st["lastGood"]["openai-codex"], new);
        assert!(st["usageStats"].get(new).is_some() && st["usageStats"].get(ALICE).is_none());
        let s = read_json(&fx.sessions());
        let d = &s["agent:main:discord:channel:2002"];
        assert_eq!(
            (d["authProfileOverride"].as_str(), d["authProfileOverrideSource"].as_str()),
            (Some(new), Some("auto"))
        );
        assert_eq!(d["authProfileOverrideCompactionCount"], 0);
        assert_eq!(std::fs::read_to_string(fx.state.join("codex_profile_id")).unwrap(), format!("{new}\n"));
        // the config is never rewritten
        assert_eq!(before.get("openclaw.json"), fx.hash().get("openclaw.json"));
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, fx.hash(), "{layout:?}");
        refused(&fx, &["profile", "rename", ALICE, BOB, "--yes"], 1, "already exists");
        refused(
            &fx,
            &["profile", "rename", "openai-codex:zed", "openai-codex:z2", "--yes"],
            1,
            "no profile 'openai-codex:zed'",
        );
    }
}

/// A stale `openai-codex:default` beside bob's named profile: same identity, older credential.
fn duplicate_scenario() -> Scenario {
    let mut sc = Scenario::standard(REF_NOW_MS);
    let b = bob();
    let mut dflt = fixture::credential("openai-codex", &b, REF_NOW_MS + 86_400_000, REF_NOW_MS, 0);
    dflt["email"] = json!("bob@example.com");
    sc.profiles.insert("openai-codex:default".into(), dflt);
    sc.order.insert("openai-codex".into(), json!(["openai-codex:default", TEAM, ALICE, BOB]));
    sc.sessions["agent:main:main"]["authProfileOverride"] = json!("openai-codex:default");
    sc.sessions["agent:main:main"]["authProfileOverrideSource"] = json!("user");
    sc
}

#[test]
fn profile_merge_keeps_freshest_and_moves_references() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::scenario(&duplicate_scenario(), layout);
        let before = fx.hash();
        let bob_cred = read_json(&fx.agent().join("auth-profiles.json"))["profiles"][BOB].clone();
        let o = fx.ok(&["profile", "merge", BOB, "openai-codex:default", "--yes"]);
        assert!(o.stdout.contains(&format!("{BOB}'s credential is the fresher one and stays")), "{}", o.stdout);
        let auth = read_json(&fx.agent().join("auth-profiles.json"));
        assert!(auth["profiles"].get("openai-codex:default").is_none());
        assert_eq!(auth["profiles"][BOB], bob_cred);
        assert_eq!(state_json(&fx, layout)["order"]["openai-codex"], json!([BOB, TEAM, ALICE]));
        let m = &read_json(&fx.sessions())["agent:main:main"];
        assert_eq!(
            (m["authProfileOverride"].as_str(), m["authProfileOverrideSource"].as_str()),
            (Some(BOB), Some("user"))
        );
        // undo would put back an older credential of bob's account: the rotation rule asks for --force
        let o = fx.run(&["undo", "1", "--yes"]);
        assert_eq!(o.code, 3, "{}", o.all());
        assert!(o.stderr.contains("refresh token has rotated"), "{}", o.stderr);
        fx.ok(&["undo", "1", "--force", "--yes"]);
        assert_eq!(before, fx.hash(), "{layout:?}");
    }
    // the fresher credential moves under KEEP
    let fx = Fx::scenario(&duplicate_scenario(), Layout::B);
    let dflt = read_json(&fx.agent().join("auth-profiles.json"))["profiles"][BOB].clone();
    fx.ok(&["profile", "merge", "openai-codex:default", BOB, "--yes"]);
    let auth = read_json(&fx.agent().join("auth-profiles.json"));
    assert_eq!(auth["profiles"]["openai-codex:default"]["refresh"], dflt["refresh"]);
    assert!(auth["profiles"].get(BOB).is_none());
}

#[test]
fn profile_merge_refuses_different_identities() {
    let fx = Fx::scenario(&duplicate_scenario(), Layout::B);
    // same email and user, different workspace (accountId): two identities
    refused(&fx, &["profile", "merge", ALICE, TEAM, "--yes"], 1, "hold different identities");
    refused(&fx, &["profile", "merge", ALICE, BOB, "--yes"], 1, "hold different identities");
    refused(&fx, &["profile", "merge", BOB, "openai-codex:nope", "--yes"], 1, "no profile 'openai-codex:nope'");
    refused(&fx, &["profile", "remove", "openai-codex:nope", "--yes"], 1, "no profile 'openai-codex:nope'");
}

// ----------------------------------------------------------------------------------------------
// preference set

#[test]
fn preference_set_creates_the_file_and_undo_removes_it() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    fx.ok(&["preference", "set", "openai:bob@example.com", "--yes"]);
    let p = fx.state.join("codex_profile_id");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{BOB}\n"));
    assert_eq!(fx.ok(&["preference", "set", BOB, "--yes"]).stdout.trim(), "Nothing to do.");
    fx.ok(&["undo", "1", "--yes"]);
    assert!(!p.exists());
    assert_eq!(before, fx.hash());
    refused(&fx, &["preference", "set", "openai-codex:zed", "--yes"], 1, "no profile 'openai-codex:zed'");
    // an existing file keeps its format; a repo id is accepted
    let fx = Fx::committed("demo");
    let before = fx.hash();
    fx.ok(&["preference", "set", ALICE, "--yes"]);
    assert_eq!(std::fs::read_to_string(fx.state.join("codex_profile_id")).unwrap(), format!("{ALICE}\n"));
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}

// ----------------------------------------------------------------------------------------------
// resync

/// Order bob first: auto pins on alice mask it; one auto pin sits on the cooling-down team
/// profile, one on a profile that no longer exists; a user pin on alice.
fn stale_pins_scenario() -> Scenario {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.order.insert("openai-codex".into(), json!([BOB, ALICE, TEAM]));
    let s = &mut sc.sessions;
    s["agent:main:main"]["authProfileOverride"] = json!(TEAM);
    s["agent:main:main"]["authProfileOverrideSource"] = json!("auto");
    s["agent:main:main"]["authProfileOverrideCompactionCount"] = json!(0);
    s["agent:main:cron:nightly-report"]["authProfileOverride"] = json!("openai-codex:gone@example.com");
    s["agent:main:cron:nightly-report"]["authProfileOverrideSource"] = json!("auto");
    s["agent:main:cron:nightly-report"]["authProfileOverrideCompactionCount"] = json!(0);
    s["agent:main:telegram:direct:1001"]["authProfileOverride"] = json!(ALICE);
    sc
}

#[test]
fn resync_reselects_stale_auto_pins_one_step_per_chat() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::scenario(&stale_pins_scenario(), layout);
        let before = fx.hash();
        let o = fx.ok(&["resync", "--yes"]);
        let t = &o.stdout;
        assert!(
            t.contains(&format!("agent:main:main: auto pin stale: {TEAM} is in cooldown: re-select {BOB} (auto)")),
            "{t}"
        );
        assert!(t.contains(&format!("{ALICE} masks the order's first choice {BOB}")), "{t}");
        assert!(t.contains("openai-codex:gone@example.com does not exist"), "{t}");
        assert!(t.contains("1 user pin(s) left alone"), "{t}");
        let s = read_json(&fx.sessions());
        for k in [
            "agent:main:main",
            "agent:main:discord:channel:2002",
            "agent:main:subagent:6f1c2d3e-0000-4000-8000-000000000004",
            "agent:main:cron:nightly-report",
        ] {
            assert_eq!(s[k]["authProfileOverride"], BOB, "{k}");
            assert_eq!(s[k]["authProfileOverrideSource"], "auto", "{k}");
            assert_eq!(s[k]["updatedAt"], NOW_MS, "{k}");
        }
        assert_eq!(s["agent:main:telegram:direct:1001"]["authProfileOverride"], ALICE, "user pin untouched");
        // one step per chat: the journal has four steps on sessions.json
        let show = fx.ok(&["show", "1", "--json"]).json();
        assert_eq!(show["transaction"]["steps"].as_array().unwrap().len(), 4, "{show}");
        // undo one chat only
        fx.ok(&["undo", "1", "--step", "2", "--yes"]);
        let s2 = read_json(&fx.sessions());
        assert_eq!(s2["agent:main:discord:channel:2002"]["authProfileOverride"], ALICE);
        assert_eq!(s2["agent:main:main"]["authProfileOverride"], BOB);
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, fx.hash(), "{layout:?}");
        // in line now: nothing to do
        fx.ok(&["resync", "--yes"]);
        assert_eq!(fx.ok(&["resync", "--all", "--yes"]).stdout.trim(), "Nothing to do.");
    }
}

#[test]
fn resync_named_user_pin_and_auto_only() {
    let fx = Fx::scenario(&stale_pins_scenario(), Layout::B);
    let before = fx.hash();
    let key = "agent:main:telegram:direct:1001";
    assert_eq!(fx.ok(&["resync", "--session", key, "--auto-only", "--yes"]).stdout.trim(), "Nothing to do.");
    assert_eq!(before, fx.hash());
    let o = fx.ok(&["resync", "--session", key, "--yes"]);
    assert!(
        o.stdout.contains(&format!("{key}: user pin stale: {ALICE} masks the order's first choice {BOB}")),
        "{}",
        o.stdout
    );
    let s = read_json(&fx.sessions());
    assert_eq!(s[key]["authProfileOverride"], BOB);
    assert_eq!(
        (s[key]["authProfileOverrideSource"].as_str(), s[key]["authProfileOverrideCompactionCount"].as_i64()),
        (Some("auto"), Some(1))
    );
    // only the named chat changed
    assert_eq!(s["agent:main:main"]["authProfileOverride"], TEAM);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
    refused(&fx, &["resync", "--session", "agent:main:nope", "--yes"], 1, "no session 'agent:main:nope'");
}

#[test]
fn resync_moves_pins_off_retired_codex_ids_by_account() {
    let orig = Scenario::standard(REF_NOW_MS);
    let mut sc = orig.migrated_to_openai();
    // OpenClaw's doctor may also pick another name: find alice by her account, not her id
    let a = sc.profiles.shift_remove("openai:alice@example.com").unwrap();
    sc.profiles.insert("openai:alice-personal".into(), a);
    sc.order.insert("openai".into(), json!(["openai:alice-team", "openai:alice-personal", "openai:bob@example.com"]));
    sc.usage_stats.shift_remove("openai:alice@example.com");
    sc.last_good.clear();
    let fx = Fx::scenario(&sc, Layout::B);
    // the backup OpenClaw's migration left: the retired ids with their credentials
    write_json(
        &fx.agent().join("auth-profiles.json.openai-provider-unification.1777000000000.bak"),
        &json!({"version": 1, "profiles": orig.profiles}),
        Style::AUTH_FILE,
    );
    let before = fx.hash();
    let o = fx.ok(&["resync", "--yes"]);
    assert!(
        o.stdout.contains(&format!(
            "agent:main:telegram:direct:1001: retired id {BOB} -> openai:bob@example.com (same account acct-bob-0003), user pin kept"
        )),
        "{}",
        o.stdout
    );
    let s = read_json(&fx.sessions());
    assert_eq!(s["agent:main:telegram:direct:1001"]["authProfileOverride"], "openai:bob@example.com");
    assert_eq!(s["agent:main:telegram:direct:1001"]["authProfileOverrideSource"], "user");
    assert_eq!(s["agent:main:discord:channel:2002"]["authProfileOverride"], "openai:alice-personal");
    assert_eq!(s["agent:main:discord:channel:2002"]["authProfileOverrideSource"], "auto");
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}

// ----------------------------------------------------------------------------------------------
// activate

#[test]
fn activate_copies_identity_writes_preference_pins_and_verifies() {
    let fx = Fx::committed("demo");
    let before = fx.hash();
    let o = fx.ok(&["activate", ALICE, "--session", "agent:main:main", "--yes"]);
    assert!(o.stdout.contains("copy repo openai-codex:alice@example.com into openai-codex:default"), "{}", o.stdout);
    assert!(
        o.stderr.contains("verified: openai-codex:default holds repo identity openai-codex:alice@example.com"),
        "{}",
        o.stderr
    );
    let auth = read_json(&fx.agent().join("auth-profiles.json"));
    let repo = read_json(&fx.state.join("codex-oauth-profiles.json"));
    assert_eq!(auth["profiles"]["openai-codex:default"], repo["profiles"][ALICE]);
    assert_eq!(std::fs::read_to_string(fx.state.join("codex_profile_id")).unwrap(), format!("{ALICE}\n"));
    let m = &read_json(&fx.sessions())["agent:main:main"];
    assert_eq!(
        (m["authProfileOverride"].as_str(), m["authProfileOverrideSource"].as_str()),
        (Some("openai-codex:default"), Some("user"))
    );
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["active_slot"]["matches"], ALICE);
    assert_eq!(v["preference"]["profile"], ALICE);
    let show = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(show["transaction"]["steps"].as_array().unwrap().len(), 3);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
    assert_secrets_hidden(&fx, &o);
}

fn assert_secrets_hidden(fx: &Fx, o: &Out) {
    assert_no_secrets(&o.all(), &secrets_of(&fx.state));
}

#[test]
fn activate_refuses_an_older_repo_copy_over_a_rotated_slot() {
    let fx = Fx::committed("demo");
    // OpenClaw refreshed the slot since the router copied bob in: the repo's refresh is dead
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"]["openai-codex:default"] = fixture::credential("openai-codex", &bob(), FAR_MS + 1000, REF_NOW_MS, 2);
    write_json(&p, &a, Style::AUTH_FILE);
    refused(&fx, &["activate", BOB, "--yes"], 3, "refresh token has rotated");
    let o = fx.ok(&["activate", BOB, "--force", "--yes"]);
    assert!(o.stdout.contains("forced: "), "{}", o.stdout);
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][0]["forced"], true);
    refused(&fx, &["activate", "openai-codex:zed", "--yes"], 1, "no profile 'openai-codex:zed' in the repo");
    refused(&fx, &["activate", ALICE, "--session", "agent:main:nope", "--yes"], 1, "no session 'agent:main:nope'");
    let plain = Fx::standard(Layout::B);
    refused(&plain, &["activate", ALICE, "--yes"], 1, "no external repo");
}

// ----------------------------------------------------------------------------------------------
// restore-token

/// Bob's credential is broken (access not a JWT, expiring soon); OpenClaw's migration archive
/// holds a fresher copy, the repo an older one, and alice's copy is in the archive too.
fn broken_bob() -> Fx {
    let fx = broken_bob_with_archive(Layout::B);
    let repo = json!({"profiles": {"openai-codex:bob": fixture::credential("openai-codex", &bob(), REF_NOW_MS + 2 * 86_400_000, REF_NOW_MS, 1)}});
    write_json(&fx.state.join("codex-oauth-profiles.json"), &repo, Style::AUTH_FILE);
    fx
}

#[test]
fn restore_token_lists_then_restores_the_freshest_copy_only() {
    let fx = broken_bob();
    let before = fx.hash();
    let l = fx.ok(&["restore-token", BOB, "--list"]);
    // one short line per candidate, ranked: the archive (fresher) first and picked
    let line = |n: &str| l.stdout.lines().find(|x| x.trim_start().starts_with(n)).unwrap_or_default().to_string();
    let (first, second) = (line("*1 "), line("2 "));
    assert!(
        first.contains("ok") && first.contains("archive  auth-profiles.json.…-0000-uuid") && first.contains("in 9d"),
        "{}",
        l.stdout
    );
    assert!(first.contains("acct-bob-0003") && first.contains("…#"), "{}", l.stdout);
    assert!(second.contains("repo     codex-oauth-profiles.json"), "{}", l.stdout);
    assert!(!l.stdout.contains("acct-alice"), "{}", l.stdout);
    let j = fx.ok(&["restore-token", BOB, "--list", "--json"]).json();
    let c = j["restore_candidates"]["candidates"].as_array().unwrap();
    assert_eq!(c.len(), 2, "{j}");
    assert_eq!((c[0]["kind"].as_str(), c[0]["verdict"].as_str()), (Some("archive"), Some("ok")));
    assert_eq!(
        (c[1]["kind"].as_str(), c[1]["source"].as_str()),
        (Some("repo"), Some("repo codex-oauth-profiles.json"))
    );
    assert_eq!(j["restore_candidates"]["pick"], 0);
    assert_no_secrets(&(l.all() + &j.to_string()), &secrets_of(&fx.state));
    assert_eq!(before, fx.hash(), "--list writes nothing");
    assert!(!fx.state.join(".clawauth").exists(), "--list creates no journal");

    let other_before = read_json(&fx.agent().join("auth-profiles.json"));
    let o = fx.ok(&["restore-token", BOB, "--yes"]);
    assert!(
        o.stdout.contains(&format!(
            "1. agents/main/agent/auth-profiles.json — restore credential {BOB} (matched by accountId)"
        )),
        "{}",
        o.stdout
    );
    let after = read_json(&fx.agent().join("auth-profiles.json"));
    assert_eq!(after["profiles"][BOB]["refresh"], "fake-refresh-acct-bob-0003-g2");
    for id in [ALICE, TEAM] {
        assert_eq!(after["profiles"][id], other_before["profiles"][id], "{id} was touched");
    }
    assert_eq!(changed(&before, &fx.hash()), vec!["agents/main/agent/auth-profiles.json".to_string()]);
    // undoing would put back the older, broken credential: the rotation rule refuses
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("refresh token has rotated"), "{}", o.stderr);
    fx.ok(&["undo", "1", "--force", "--yes"]);
    assert_eq!(before, fx.hash());
}

#[test]
fn restore_token_refuses_copies_older_than_a_known_rotation() {
    // the current credential is newer than every copy: restoring one would log bob out
    let fx = broken_bob_with_archive(Layout::B);
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"][BOB]["expires"] = json!(REF_NOW_MS + 20 * 86_400_000);
    write_json(&p, &a, Style::AUTH_FILE);
    // ... but a copy holding the current refresh token (the router's repo) is not dead: usable
    // copies rank first, so it is the one restored rather than the fresher, stale archive
    let with_repo = broken_bob();
    let rp = with_repo.agent().join("auth-profiles.json");
    write_json(&rp, &a, Style::AUTH_FILE);
    let l = with_repo.ok(&["restore-token", BOB, "--list"]).stdout;
    let rows: Vec<&str> = l.lines().filter(|x| x.trim_start().starts_with(['*', '1', '2'])).collect();
    assert!(rows[0].contains("*1") && rows[0].contains(" ok ") && rows[0].contains("repo"), "{l}");
    assert!(rows[1].contains("stale") && rows[1].contains("archive"), "{l}");
    assert!(l.contains("2 is stale: older than a known rotation"), "{l}");
    with_repo.ok(&["restore-token", BOB, "--yes"]);
    assert_eq!(read_json(&rp)["profiles"][BOB]["refresh"], "fake-refresh-acct-bob-0003-g1");
    refused(
        &fx,
        &["restore-token", BOB, "--yes"],
        3,
        "older than a known rotation (the current openai-codex:bob@example.com",
    );
    fx.ok(&["restore-token", BOB, "--force", "--yes"]);
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][0]["forced"], true);

    // the journal knows a newer rotation than the archive: it is the one restored
    let fx = broken_bob();
    let newer = fx.tmp.path().join("newer.json");
    write_json(
        &newer,
        &fixture::credential("openai-codex", &bob(), REF_NOW_MS + 30 * 86_400_000, REF_NOW_MS, 5),
        Style::AUTH_FILE,
    );
    fx.ok(&["restore-token", BOB, "--from", newer.to_str().unwrap(), "--yes"]);
    std::fs::remove_file(&newer).unwrap();
    // the entry breaks again
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"][BOB]["access"] = json!("truncated");
    a["profiles"][BOB]["expires"] = json!(0);
    write_json(&p, &a, Style::AUTH_FILE);
    let l = fx.ok(&["restore-token", BOB, "--list"]);
    assert!(l.stdout.contains("older than a known rotation (journal txn 1"), "{}", l.stdout);
    fx.ok(&["restore-token", BOB, "--yes"]);
    assert_eq!(read_json(&p)["profiles"][BOB]["refresh"], "fake-refresh-acct-bob-0003-g5");
}

#[test]
fn restore_token_bad_arguments_write_nothing() {
    let fx = broken_bob();
    refused(&fx, &["restore-token", "openai-codex:zed", "--yes"], 1, "no profile 'openai-codex:zed'");
    refused(&fx, &["restore-token", BOB, "--from", "/nonexistent/creds.json", "--yes"], 1, "/nonexistent/creds.json");
    // a source holding only another identity gives no candidate
    let fx = Fx::standard(Layout::B);
    let other = fx.tmp.path().join("alice.json");
    write_json(
        &other,
        &json!({"profiles": {ALICE: fixture::credential("openai-codex", &alice(), FAR_MS, REF_NOW_MS, 3)}}),
        Style::AUTH_FILE,
    );
    refused(
        &fx,
        &["restore-token", BOB, "--from", other.to_str().unwrap(), "--yes"],
        1,
        "no restore source holds another copy",
    );
}

// ----------------------------------------------------------------------------------------------
// composing plans (doctor --fix)

#[test]
fn merge_plans_keeps_steps_and_refuses_overlaps() {
    use clawauth_core::layout::store::Location;
    use clawauth_core::txn::plan::{Change, Plan};
    let loc = Location::json_file("/x/sessions.json", Style::SESSIONS_FILE);
    let mut a = Plan::new("resync", "a");
    a.push_step(loc.clone(), "one", vec![Change::new("/k1/authProfileOverride", Some(json!("x")), Some(json!("y")))]);
    a.push_step(loc.clone(), "two", vec![Change::new("/k2/authProfileOverride", Some(json!("x")), Some(json!("y")))]);
    assert_eq!(a.steps.len(), 2, "push_step keeps one step per call");
    let mut b = Plan::new("cooldown clear", "b");
    b.push(loc.clone(), "three", vec![Change::new("/k3", Some(json!(1)), None)]);
    let m = clawauth_core::workflow::merge_plans(vec![a.clone(), b]).unwrap();
    assert_eq!(m.steps.len(), 3);
    assert_eq!(m.workflow, "resync + cooldown clear");
    let mut c = Plan::new("profile remove", "c");
    c.push(loc, "four", vec![Change::new("/k1", Some(json!({})), None)]);
    let e = clawauth_core::workflow::merge_plans(vec![a, c]).unwrap_err();
    assert!(e.to_string().contains("both change"), "{e}");
}

#[test]
fn lastgood_set_and_clear_apply_and_undo() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    fx.ok(&["lastgood", "set", "openai-codex", "openai:bob@example.com", "--yes"]);
    assert_eq!(
        read_json(&fx.agent().join("auth-state.json"))["lastGood"]["openai-codex"],
        "openai-codex:bob@example.com"
    );
    let o = fx.run(&["lastgood", "set", "openai-codex", "openai-codex:nobody", "--yes"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no profile 'openai-codex:nobody'"), "{}", o.stderr);
    fx.ok(&["lastgood", "clear", "openai-codex", "--yes"]);
    // the map emptied: removed entirely, as OpenClaw drops empty maps
    assert!(read_json(&fx.agent().join("auth-state.json")).get("lastGood").is_none());
    fx.ok(&["undo", "2", "--yes"]);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}

#[test]
fn rekey_state_renames_retired_codex_keys_to_live_ids() {
    // profiles renamed to openai:* but the routing state left on the retired ids (the 7.35
    // doctor's leftover, CA023): the stored order and the cooldown silently stop applying
    let live = Scenario::standard(fixture::REF_NOW_MS).migrated_to_openai();
    let mut sc = live.clone();
    let old = Scenario::standard(fixture::REF_NOW_MS);
    sc.order = old.order.clone();
    sc.last_good = old.last_good.clone();
    sc.usage_stats = old.usage_stats.clone();
    let fx = Fx::scenario(&sc, Layout::B);
    let before = fx.hash();
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["agents"][0]["provider"], "openai");
    assert_eq!(v["agents"][0]["order"]["stored"], Value::Null, "the retired order is not the live provider's");
    let o = fx.ok(&["rekey-state", "--yes"]);
    assert!(o.stdout.contains("blast radius"), "{}", o.stdout);
    let st = read_json(&fx.agent().join("auth-state.json"));
    assert_eq!(
        st["order"],
        json!({"openai": ["openai:alice-team", "openai:alice@example.com", "openai:bob@example.com"]})
    );
    assert_eq!(st["lastGood"], json!({"openai": "openai:alice@example.com"}));
    assert!(
        st["usageStats"].get("openai:alice-team").is_some()
            && st["usageStats"].get("openai-codex:alice-team").is_none()
    );
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["agents"][0]["order"]["stored"][0], "openai:alice-team");
    // the cooldown applies again: alice-team moves last in the effective order
    assert_eq!(v["agents"][0]["order"]["effective"][2], "openai:alice-team");
    // refused where openai-codex is still the live provider
    let fx2 = Fx::standard(Layout::B);
    assert_eq!(fx2.run(&["rekey-state", "--yes"]).code, 2);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}
