//! End-to-end tests: the real `clawauth` binary over fixture state dirs in temp dirs.

mod common;
use common::*;

use clawauth_core::model::Layout;
use clawauth_fixture::{self as fixture, Scenario};
use serde_json::{json, Value};

// ----------------------------------------------------------------------------------------------
// status: every layer, per layout

#[test]
fn status_shows_all_layers_on_layout_a_and_b() {
    for (layout, name) in [(Layout::A, "A"), (Layout::B, "B")] {
        let fx = Fx::standard(layout);
        let o = fx.ok(&["status"]);
        let t = &o.stdout;
        assert!(t.contains(&format!("layout {name}")), "{t}");
        // issue 19: the release is detected (no openclaw installed here: the newest release
        // writing the layout, said to be a guess); layout A gets 2026.4.5, the release that wrote it
        let want = if name == "A" { "2026.4.5" } else { "2026.6.1" };
        assert!(t.contains(&format!("rules: OpenClaw {want} (from guess: no openclaw installed")), "{t}");
        assert!(t.contains("live Codex provider: openai-codex"), "{t}");
        // stored order, and the effective order with the cooling-down profile moved last
        assert!(
            t.contains(
                "stored     openai-codex:alice-team, openai-codex:alice@example.com, openai-codex:bob@example.com"
            ),
            "{t}"
        );
        assert!(t.contains("effective  openai-codex:alice@example.com, openai-codex:bob@example.com, openai-codex:alice-team (unusable until 2026-05-01T13:00:00Z"), "{t}");
        assert!(t.contains("lastGood: openai-codex → openai-codex:alice@example.com"), "{t}");
        assert!(t.contains("acct-alice-team-0002") && t.contains("cooldown in 55m (rate_limit)"), "{t}");
        // default session view hides subagent and cron sessions, most recent first
        assert!(t.contains("sessions: 5 total, 3 user-facing, 3 pinned; showing 3"), "{t}");
        assert!(!t.contains("subagent") && !t.contains("cron:nightly"), "{t}");
        let main = t.lines().find(|l| l.trim_start().starts_with("agent:main:main ")).unwrap();
        assert!(main.contains("openai-codex:alice@example.com (auto)"), "{main}");
        let tg = t.lines().find(|l| l.contains("telegram:direct:1001")).unwrap();
        assert!(tg.contains("openai-codex:bob@example.com (user)") && tg.contains("(differs!)"), "{tg}");
        assert_no_secrets(&o.all(), &secrets_of(&fx.state));
    }
}

#[test]
fn status_json_is_versioned_and_complete() {
    let fx = Fx::standard(Layout::B);
    let v = fx.ok(&["status", "--json", "--all"]).json();
    assert_eq!(v["schema_version"], 1);
    let a = &v["agents"][0];
    assert_eq!(a["layout"], "B");
    // issue 19: no evidence in a plain layout-B dir -> the newest layout-B release, a guess
    assert_eq!(a["rules"], "6.1");
    assert!(a["rules_source"].as_str().unwrap().starts_with("guess"), "{}", a["rules_source"]);
    assert_eq!(a["provider"], "openai-codex");
    assert_eq!(
        a["order"]["stored"],
        json!(["openai-codex:alice-team", "openai-codex:alice@example.com", "openai-codex:bob@example.com"])
    );
    assert_eq!(a["order"]["stored_from"], "agents/main/agent/auth-state.json");
    assert_eq!(a["order"]["effective"][2], "openai-codex:alice-team");
    assert_eq!(a["profiles"].as_array().unwrap().len(), 3);
    let team = a["profiles"].as_array().unwrap().iter().find(|p| p["id"] == "openai-codex:alice-team").unwrap();
    assert_eq!(team["window"]["kind"], "cooldown");
    assert_eq!(team["token_state"], "valid");
    assert_eq!(team["user_id"], "user-alice-0001");
    assert!(team["access_fp"].as_str().unwrap().starts_with("eyJ…#"));
    assert_eq!(a["sessions"].as_array().unwrap().len(), 5);
    let sub =
        a["sessions"].as_array().unwrap().iter().find(|s| s["key"].as_str().unwrap().contains("subagent")).unwrap();
    assert_eq!(sub["pin"], "openai-codex:alice@example.com");
    assert_eq!(sub["pin_source"], "auto");
    assert_eq!(sub["effective"], "openai-codex:alice@example.com");
    assert_eq!(sub["usage_source"], "openai-codex:alice@example.com");
    assert_no_secrets(&v.to_string(), &secrets_of(&fx.state));
}

#[test]
fn status_one_session_and_unknown_session() {
    let fx = Fx::standard(Layout::B);
    let v = fx.ok(&["status", "--json", "--session", "agent:main:telegram:direct:1001"]).json();
    let s = &v["agents"][0]["sessions"];
    assert_eq!(s.as_array().unwrap().len(), 1);
    assert_eq!(s[0]["effective"], "openai-codex:bob@example.com");
    assert_eq!(s[0]["effective_source"], "user");
    assert_eq!(s[0]["usage_source"], "openai-codex:alice@example.com");
    assert_eq!(s[0]["usage_differs"], true);
    let o = fx.run(&["status", "--session", "agent:main:nope"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no session 'agent:main:nope'"), "{}", o.stderr);
}

#[test]
fn status_external_router_matches_repo_identity() {
    let fx = Fx::committed("demo");
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["preference"]["profile"], "openai-codex:bob@example.com");
    assert_eq!(v["active_slot"]["id"], "openai-codex:default");
    assert_eq!(v["active_slot"]["matches"], "openai-codex:bob@example.com");
    // an edited slot no longer matches by signature
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"]["openai-codex:default"]["refresh"] = json!("fake-refresh-edited");
    std::fs::write(&p, serde_json::to_vec_pretty(&a).unwrap()).unwrap();
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["active_slot"]["matches"], Value::Null);
    let c = &v["active_slot"]["candidates"][0];
    assert_eq!((c["account_id"].as_bool(), c["refresh"].as_bool()), (Some(true), Some(false)));
    assert!(fx.ok(&["status"]).stdout.contains("matches NO repo identity"));
}

#[test]
fn status_never_writes() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        fx.ok(&["status", "--all"]);
        fx.ok(&["status", "--json"]);
        assert_eq!(before, fx.hash());
        assert!(!fx.state.join(".clawauth").exists(), "status must not create a journal");
    }
}

#[test]
fn demo_runs_on_the_embedded_state() {
    let fx = Fx::empty();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clawauth"));
    c.args(["demo", "--layout", "router"]).env_remove("OPENCLAW_STATE_DIR");
    let o = run(c);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(
        o.stdout.contains("layout B") && o.stdout.contains("holds repo identity 'openai-codex:bob@example.com'"),
        "{}",
        o.stdout
    );
    drop(fx);
}

#[test]
fn committed_fixtures_match_the_builder() {
    // the demo and layout fixtures are the builder's output, byte for byte
    for (name, layout, router) in
        [("demo", Layout::B, true), ("layout-a", Layout::A, false), ("layout-b", Layout::B, false)]
    {
        let fx = Fx::empty();
        let sc = Scenario::standard(fixture::REF_NOW_MS);
        let sc = if router { sc.with_router() } else { sc };
        sc.write(&fx.state, layout).unwrap();
        let committed =
            tree_hash(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name), &[]);
        let built = tree_hash(&fx.state, &[]);
        let strip = |m: std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
            m.into_iter()
                .filter(|(k, _)| !k.ends_with('/'))
                .map(|(k, v)| (k, v.split(':').next().unwrap().to_string()))
                .collect()
        };
        assert_eq!(
            strip(committed),
            strip(built),
            "fixtures/{name} drifted from the builder; regenerate with clawauth-fixture"
        );
    }
}

#[test]
fn json_files_round_trip_byte_for_byte() {
    use clawauth_core::json::{to_bytes, Style};
    for name in ["layout-a", "layout-b", "demo"] {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name);
        for rel in [
            "agents/main/agent/auth-profiles.json",
            "agents/main/agent/auth-state.json",
            "agents/main/sessions/sessions.json",
            "codex-oauth-profiles.json",
        ] {
            let p = root.join(rel);
            let Ok(b) = std::fs::read(&p) else { continue };
            let v: Value = serde_json::from_slice(&b).unwrap();
            let style = Style::detect(&b);
            let expect = if rel.ends_with("sessions.json") { Style::SESSIONS_FILE } else { Style::AUTH_FILE };
            assert_eq!(style, expect, "{}", p.display());
            assert_eq!(to_bytes(&v, style), b, "{} does not round-trip", p.display());
        }
    }
}

// ----------------------------------------------------------------------------------------------
// discovery

#[test]
fn discovery_follows_openclaw_rules() {
    let fx = Fx::standard(Layout::B);
    let bin = env!("CARGO_BIN_EXE_clawauth");
    let base = |home: &std::path::Path| {
        let mut c = std::process::Command::new(bin);
        c.env_clear().env("HOME", home).env("CLAWAUTH_NOW", NOW).env("PATH", "/usr/bin:/bin");
        c
    };
    // $OPENCLAW_STATE_DIR with ~
    let home = fx.tmp.path();
    let mut c = base(home);
    c.env("OPENCLAW_STATE_DIR", "~/state").args(["status", "--json"]);
    let v = run(c).json();
    assert_eq!(v["state_dir_source"], "$OPENCLAW_STATE_DIR");
    assert_eq!(v["state_dir"], fx.state.display().to_string());
    // ~/.openclaw, then legacy ~/.clawdbot
    let h2 = tempfile::tempdir().unwrap();
    Scenario::standard(fixture::REF_NOW_MS).write(&h2.path().join(".clawdbot"), Layout::A).unwrap();
    let mut c = base(h2.path());
    c.args(["status", "--json"]);
    assert_eq!(run(c).json()["state_dir_source"], "legacy ~/.clawdbot");
    Scenario::standard(fixture::REF_NOW_MS).write(&h2.path().join(".openclaw"), Layout::B).unwrap();
    let mut c = base(h2.path());
    c.args(["status", "--json"]);
    let v = run(c).json();
    assert_eq!(v["state_dir_source"], "~/.openclaw");
    assert_eq!(v["agents"][0]["layout"], "B");
    // --profile NAME -> ~/.openclaw-NAME
    Scenario::standard(fixture::REF_NOW_MS).write(&h2.path().join(".openclaw-work"), Layout::A).unwrap();
    let mut c = base(h2.path());
    c.args(["--profile", "work", "status", "--json"]);
    let v = run(c).json();
    assert_eq!(v["agents"][0]["layout"], "A");
    assert!(v["state_dir"].as_str().unwrap().ends_with(".openclaw-work"));
    // nothing at all: a clear error
    let h3 = tempfile::tempdir().unwrap();
    let mut c = base(h3.path());
    c.args(["status"]);
    let o = run(c);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains(".openclaw") && o.stderr.contains("does not exist"), "{}", o.stderr);
}

#[test]
fn agents_config_paths_and_inheritance() {
    let mut sc = Scenario::standard(fixture::REF_NOW_MS);
    let extra = fixture::Account::new(
        "openai-codex:carol@example.com",
        "carol@example.com",
        "acct-carol-0004",
        "user-carol-0004",
        "plus",
    );
    let mut own = serde_json::Map::new();
    own.insert(extra.id.clone(), fixture::credential("openai-codex", &extra, fixture::FAR_MS, fixture::REF_NOW_MS, 1));
    sc.extra_agents.push(("work".into(), own));
    // JSON5 config, with a custom agentDir for `work` that we move the files to
    sc.write(&Fx::empty().state, Layout::B).ok();
    let fx = Fx::scenario(&sc, Layout::B);
    std::fs::rename(fx.state.join("agents/work/agent"), fx.state.join("work-agent")).unwrap();
    std::fs::write(
        fx.state.join("openclaw.json"),
        "// JSON5: comments, unquoted keys, trailing commas\n{ agents: { list: [ { id: 'main' }, { id: 'work', agentDir: 'work-agent', }, ], }, }\n",
    )
    .unwrap();
    let v = fx.ok(&["--agent", "work", "status", "--json"]).json();
    let a = &v["agents"][0];
    assert_eq!(a["id"], "work");
    assert_eq!(a["agent_dir"], "work-agent");
    assert_eq!(a["agent_dir_source"], "config agents.list[].agentDir");
    let ids: Vec<&str> = a["profiles"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"openai-codex:carol@example.com") && ids.contains(&"openai-codex:bob@example.com"),
        "{ids:?}"
    );
    let bob = a["profiles"].as_array().unwrap().iter().find(|p| p["id"] == "openai-codex:bob@example.com").unwrap();
    assert_eq!(bob["inherited"], true);
    // order inherited from main, per key
    assert_eq!(a["order"]["stored"][0], "openai-codex:alice-team");
    // --all-agents shows both; OPENCLAW_AGENT_DIR overrides the default agent's dir
    let v = fx.ok(&["--all-agents", "status", "--json"]).json();
    assert_eq!(v["agents"].as_array().unwrap().len(), 2);
    let mut fx2 = Fx::standard(Layout::A);
    std::fs::rename(fx2.agent(), fx2.state.join("elsewhere")).unwrap();
    fx2.env.push(("OPENCLAW_AGENT_DIR".into(), fx2.state.join("elsewhere").display().to_string()));
    let v = fx2.ok(&["status", "--json"]).json();
    assert_eq!(v["agents"][0]["agent_dir_source"], "$OPENCLAW_AGENT_DIR");
    assert_eq!(v["agents"][0]["profiles"].as_array().unwrap().len(), 3);
    // a missing agent is a clear error
    let o = fx.run(&["--agent", "ghost", "status"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no agent 'ghost'") && o.stderr.contains("main"), "{}", o.stderr);
    // OPENCLAW_CONFIG_PATH
    let mut fx3 = Fx::standard(Layout::B);
    let cfgp = fx3.tmp.path().join("elsewhere.json");
    std::fs::write(&cfgp, r#"{"auth": {"order": {"openai-codex": ["openai-codex:bob@example.com"]}}}"#).unwrap();
    fx3.env.push(("OPENCLAW_CONFIG_PATH".into(), cfgp.display().to_string()));
    let v = fx3.ok(&["status", "--json"]).json();
    assert_eq!(v["config"]["source"], "$OPENCLAW_CONFIG_PATH");
    assert_eq!(v["agents"][0]["order"]["configured"], json!(["openai-codex:bob@example.com"]));
}

// ----------------------------------------------------------------------------------------------
// bad input: a clear message naming the file, exit 1 only when nothing useful can be shown,
// never a panic, never a write

#[test]
fn bad_inputs_are_named_and_nothing_is_written() {
    let expect: &[(&str, &str, &str)] = &[
        // case, file named, phrase
        ("truncated-auth", "auth-profiles.json", "not valid JSON"),
        ("auth-not-object", "auth-profiles.json", "instead of a JSON object"),
        ("profiles-wrong-type", "auth-profiles.json", "`profiles` is a string"),
        ("non-jwt-access", "openai-codex:bob@example.com", "not a JWT"),
        ("truncated-sessions", "sessions.json", "not valid JSON"),
        ("sessions-wrong-type", "sessions.json", "not a JSON object"),
        ("non-utf8-auth", "auth-profiles.json", "not valid UTF-8"),
        ("bom-auth", "auth-profiles.json", "byte-order mark"),
        ("empty-auth", "auth-profiles.json", "is empty"),
        ("auth-is-directory", "auth-profiles.json", "is a directory"),
        ("symlink-loop", "auth-profiles.json", "symbolic link loop"),
        ("sqlite-not-a-database", "openclaw-agent.sqlite", "not an SQLite database"),
        ("order-wrong-type", "auth-state.json", "`order` is an array"),
    ];
    for (case, file, phrase) in expect {
        let fx = Fx::broken(case);
        let before = fx.hash();
        let o = fx.run(&["status", "--all"]);
        assert!(o.code == 0 || o.code == 1, "{case}: exit {}", o.code);
        assert!(!o.stderr.contains("panicked"), "{case} panicked: {}", o.stderr);
        let all = o.all();
        assert!(all.contains(file) && all.contains(phrase), "{case}: expected '{file}' and '{phrase}' in:\n{all}");
        assert_eq!(before, fx.hash(), "{case}: status changed the state");
        // a mutating command on an unreadable state writes nothing to OpenClaw's files
        if *case != "non-jwt-access" {
            let m = fx.run(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--yes"]);
            assert!(!m.stderr.contains("panicked"), "{case}: {}", m.stderr);
            assert_eq!(before, fx.hash(), "{case}: state changed");
        }
    }
}

#[test]
fn dangling_pin_and_duplicate_refresh_are_visible() {
    let fx = Fx::broken("dangling-pin");
    let v = fx.ok(&["status", "--json", "--session", "agent:main:main"]).json();
    let s = &v["agents"][0]["sessions"][0];
    assert_eq!(s["pin"], "openai-codex:carol@example.com");
    // OpenClaw clears the dangling pin and re-pins the first usable profile as auto
    assert_eq!(s["would_write"]["action"], "set_auto");
    assert_eq!(s["would_write"]["profile"], "openai-codex:alice@example.com");
    assert_eq!(s["effective"], "openai-codex:alice@example.com");
    let fx = Fx::broken("duplicate-refresh");
    let v = fx.ok(&["status", "--json"]).json();
    let fps: Vec<&str> =
        v["agents"][0]["profiles"].as_array().unwrap().iter().map(|p| p["refresh_fp"].as_str().unwrap()).collect();
    let bob = fps[2];
    assert_eq!(fps.iter().filter(|f| **f == bob).count(), 2, "{fps:?}");
}

// ----------------------------------------------------------------------------------------------
// the engine: order and pin, apply -> undo -> byte-identical

fn order_json(fx: &Fx, layout: Layout) -> Value {
    let p =
        if layout == Layout::A { fx.agent().join("auth-profiles.json") } else { fx.agent().join("auth-state.json") };
    read_json(&p)["order"]["openai-codex"].clone()
}

#[test]
fn order_set_apply_undo_is_byte_identical() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        let o = fx.ok(&[
            "order",
            "set",
            "openai-codex",
            "openai-codex:bob@example.com",
            "openai-codex:alice@example.com",
            "openai-codex:bob@example.com",
            "--yes",
        ]);
        assert!(o.stdout.contains("Applied transaction 1"), "{}", o.stdout);
        assert!(
            o.stdout.contains("+      \"openai-codex:bob@example.com\",")
                && o.stdout.contains("-      \"openai-codex:alice-team\","),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout.contains("blast radius: 2 session(s) change account (effective profile and identity):"),
            "{}",
            o.stdout
        );
        assert_eq!(order_json(&fx, layout), json!(["openai-codex:bob@example.com", "openai-codex:alice@example.com"]));
        // only the order bytes changed in that file; the sessions are untouched
        let after = fx.hash();
        let changed: Vec<&String> = after.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        let v = fx.ok(&["status", "--json"]).json();
        assert_eq!(v["agents"][0]["order"]["effective"][0], "openai-codex:bob@example.com");
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, fx.hash(), "layout {layout:?}: undo did not restore the bytes");
    }
}

#[test]
fn order_set_refuses_unknown_ids_and_maps_spellings() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    let o = fx.run(&["order", "set", "openai-codex", "openai-codex:carol@example.com", "--yes"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("no profile 'openai-codex:carol@example.com'")
            && o.stderr.contains("known: openai-codex:alice@example.com"),
        "{}",
        o.stderr
    );
    assert_eq!(before, fx.hash());
    // `openai:x` is accepted for the live `openai-codex:x`
    fx.ok(&["order", "set", "openai-codex", "openai:bob@example.com", "--yes"]);
    assert_eq!(order_json(&fx, Layout::B), json!(["openai-codex:bob@example.com"]));
    // setting it again is an empty plan: nothing recorded
    let o = fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--yes"]);
    assert_eq!(o.stdout.trim(), "Nothing to do.");
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"].as_array().unwrap().len(), 1);
}

#[test]
fn order_clear_clears_inline_and_sidecar_in_layout_b() {
    // routing state both inline (shadowed) and in the sidecar: two documents, one transaction
    let fx = Fx::standard(Layout::B);
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["order"] = json!({"openai-codex": ["openai-codex:bob@example.com"]});
    std::fs::write(&p, clawauth_core::json::to_bytes(&a, clawauth_core::json::Style::AUTH_FILE)).unwrap();
    let before = fx.hash();
    let o = fx.ok(&["order", "clear", "openai-codex", "--yes"]);
    assert!(o.stdout.contains("2 documents"), "{}", o.stdout);
    assert!(read_json(&p).get("order").is_none());
    assert!(read_json(&fx.agent().join("auth-state.json")).get("order").is_none());
    let v = fx.ok(&["status", "--json"]).json();
    assert_eq!(v["agents"][0]["order"]["stored"], Value::Null);
    fx.ok(&["undo", "1", "--yes"]);
    assert_eq!(before, fx.hash());
}

#[test]
fn pin_and_unpin_follow_openclaw_field_rules() {
    for layout in [Layout::A, Layout::B] {
        let fx = Fx::standard(layout);
        let before = fx.hash();
        fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
        let e = read_json(&fx.sessions())["agent:main:main"].clone();
        assert_eq!(e["authProfileOverride"], "openai-codex:bob@example.com");
        assert_eq!(e["authProfileOverrideSource"], "user");
        assert!(e.get("authProfileOverrideCompactionCount").is_none());
        assert_eq!(e["updatedAt"], NOW_MS);
        // an auto pin records the session's compaction count
        fx.ok(&[
            "pin",
            "agent:main:telegram:direct:1001",
            "openai-codex:alice@example.com",
            "--source",
            "auto",
            "--yes",
        ]);
        let e = read_json(&fx.sessions())["agent:main:telegram:direct:1001"].clone();
        assert_eq!(
            (e["authProfileOverrideSource"].as_str(), e["authProfileOverrideCompactionCount"].as_i64()),
            (Some("auto"), Some(1))
        );
        fx.ok(&["unpin", "agent:main:discord:channel:2002", "--yes"]);
        let e = read_json(&fx.sessions())["agent:main:discord:channel:2002"].clone();
        for f in ["authProfileOverride", "authProfileOverrideSource", "authProfileOverrideCompactionCount"] {
            assert!(e.get(f).is_none(), "{f} left behind");
        }
        // sessions.json keeps OpenClaw's format: 2-space, no trailing newline
        let raw = std::fs::read(fx.sessions()).unwrap();
        assert!(!raw.ends_with(b"\n"));
        for t in [3, 2, 1] {
            fx.ok(&["undo", &t.to_string(), "--yes"]);
        }
        assert_eq!(before, fx.hash(), "layout {layout:?}");
    }
}

#[test]
fn pin_refuses_bad_arguments_with_nothing_written() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    let o = fx.run(&["pin", "agent:main:nope", "openai-codex:bob@example.com", "--yes"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no session 'agent:main:nope'") && o.stderr.contains("sessions.json"), "{}", o.stderr);
    let o = fx.run(&["pin", "agent:main:main", "openai-codex:zed", "--yes"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no profile 'openai-codex:zed'"), "{}", o.stderr);
    let o = fx.run(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--source", "robot", "--yes"]);
    assert_eq!(o.code, 2);
    let o = fx.run(&["unpin", "agent:main:main", "--yes"]);
    assert_eq!((o.code, o.stdout.trim()), (0, "Nothing to do."));
    assert_eq!(before, fx.hash());
}

#[test]
fn pin_treats_case_folded_alias_keys_together() {
    let mut sc = Scenario::standard(fixture::REF_NOW_MS);
    let e = sc.sessions["agent:main:telegram:direct:1001"].clone();
    sc.sessions.insert("agent:main:Telegram:direct:1001".into(), e);
    let fx = Fx::scenario(&sc, Layout::B);
    let o = fx.ok(&["pin", "agent:main:Telegram:direct:1001", "openai-codex:alice@example.com", "--yes"]);
    assert!(o.stdout.contains("case-variant keys"), "{}", o.stdout);
    let s = read_json(&fx.sessions());
    assert_eq!(s["agent:main:telegram:direct:1001"]["authProfileOverride"], "openai-codex:alice@example.com");
    assert_eq!(s["agent:main:Telegram:direct:1001"]["authProfileOverride"], "openai-codex:alice@example.com");
}

#[test]
fn concurrent_change_to_another_entry_is_kept() {
    let fx = Fx::standard(Layout::B);
    let o = fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--dry-run"]);
    assert!(o.stdout.contains("Saved as planned transaction 1"), "{}", o.stdout);
    // meanwhile the gateway touches another session (temp + rename, as OpenClaw does)
    let mut s = read_json(&fx.sessions());
    s["agent:main:discord:channel:2002"]["updatedAt"] = json!(NOW_MS + 1);
    s["agent:main:discord:channel:2002"]["compactionCount"] = json!(7);
    std::fs::write(fx.sessions(), clawauth_core::json::to_bytes(&s, clawauth_core::json::Style::SESSIONS_FILE))
        .unwrap();
    fx.ok(&["apply", "1", "--yes"]);
    let s = read_json(&fx.sessions());
    assert_eq!(s["agent:main:main"]["authProfileOverride"], "openai-codex:bob@example.com");
    assert_eq!(s["agent:main:discord:channel:2002"]["compactionCount"], 7, "the concurrent change was lost");
    let log = fx.ok(&["log", "--json"]).json();
    assert_eq!(log["transactions"][0]["status"], "applied");
}

#[test]
fn stale_plan_is_refused_with_exit_3() {
    let fx = Fx::standard(Layout::B);
    fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--dry-run"]);
    let p = fx.agent().join("auth-state.json");
    let mut st = read_json(&p);
    st["order"]["openai-codex"] = json!(["openai-codex:alice@example.com"]);
    std::fs::write(&p, clawauth_core::json::to_bytes(&st, clawauth_core::json::Style::AUTH_FILE)).unwrap();
    let before = fx.hash();
    let o = fx.run(&["apply", "1", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("stale") && o.stderr.contains("/order/openai-codex"), "{}", o.stderr);
    assert_eq!(before, fx.hash());
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][0]["status"], "planned");
}

#[test]
fn lock_held_by_a_live_process_is_respected() {
    let fx = Fx::standard(Layout::B);
    let lock = fx.agent().join("auth-profiles.json.lock");
    // this test process is alive: its lock must not be taken over, however old
    std::fs::write(
        &lock,
        format!("{{\n  \"pid\": {},\n  \"createdAt\": \"2020-01-01T00:00:00.000Z\"\n}}\n", std::process::id()),
    )
    .unwrap();
    let before = fx.hash();
    let o = fx.run(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains(&format!("live process pid {}", std::process::id())), "{}", o.stderr);
    assert_eq!(before, fx.hash());
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][0]["status"], "failed");
    // a dead pid's lock is stale: removed as OpenClaw would, and the change goes through
    std::fs::write(&lock, "{\n  \"pid\": 999999999,\n  \"createdAt\": \"2020-01-01T00:00:00.000Z\"\n}\n").unwrap();
    let o = fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--yes"]);
    assert!(o.stderr.contains("removed stale lock"), "{}", o.stderr);
    assert!(!lock.exists());
}

#[test]
fn no_terminal_and_no_yes_declines_with_exit_1() {
    let fx = Fx::standard(Layout::B);
    let before = fx.hash();
    let o = fx.run(&["order", "set", "openai-codex", "openai-codex:bob@example.com"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no terminal") && o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(before, fx.hash());
    let o = fx.run(&["order", "frobnicate"]);
    assert_eq!(o.code, 2);
}

#[test]
fn undo_conflict_force_step_and_undo_of_undo() {
    let fx = Fx::standard(Layout::B);
    let original = fx.hash();
    fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--yes"]);
    // someone changes the order again: undo would clobber it
    let p = fx.agent().join("auth-state.json");
    let mut st = read_json(&p);
    st["order"]["openai-codex"] = json!(["openai-codex:alice@example.com"]);
    std::fs::write(&p, clawauth_core::json::to_bytes(&st, clawauth_core::json::Style::AUTH_FILE)).unwrap();
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 3);
    assert!(o.stderr.contains("cannot undo transaction 1") && o.stderr.contains("--force"), "{}", o.stderr);
    let o = fx.ok(&["undo", "1", "--force", "--yes"]);
    assert!(o.stdout.contains("Applied transaction 2"), "{}", o.stdout);
    let log = fx.ok(&["log", "--json"]).json();
    assert_eq!(log["transactions"][0]["forced"], true);
    assert_eq!(log["transactions"][0]["reverts_txn"], 1);
    assert_eq!(fx.hash(), original);
    // undo of the undo puts the forced value back; undoing twice is refused
    fx.ok(&["undo", "2", "--yes"]);
    assert_eq!(read_json(&p)["order"]["openai-codex"], json!(["openai-codex:alice@example.com"]));
    // --step undoes one step of a multi-step transaction
    let fx = Fx::standard(Layout::B);
    let pa = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&pa);
    a["order"] = json!({"openai-codex": ["openai-codex:bob@example.com"]});
    std::fs::write(&pa, clawauth_core::json::to_bytes(&a, clawauth_core::json::Style::AUTH_FILE)).unwrap();
    fx.ok(&["order", "clear", "openai-codex", "--yes"]);
    let o = fx.run(&["undo", "1", "--step", "3", "--yes"]);
    assert_eq!(o.code, 2, "{}", o.all());
    fx.ok(&["undo", "1", "--step", "2", "--yes"]);
    assert!(read_json(&fx.agent().join("auth-state.json")).get("order").is_none());
    assert!(read_json(&pa).get("order").is_some());
}

#[test]
fn kill_at_every_failpoint_then_recover() {
    // order clear on inline + sidecar state is a two-document transaction
    let points = ["after-intent", "after-step-1", "after-step-2", "before-commit"];
    for point in points {
        let mut fx = Fx::standard(Layout::B);
        let pa = fx.agent().join("auth-profiles.json");
        let mut a = read_json(&pa);
        a["order"] = json!({"openai-codex": ["openai-codex:bob@example.com"]});
        std::fs::write(&pa, clawauth_core::json::to_bytes(&a, clawauth_core::json::Style::AUTH_FILE)).unwrap();
        let before = fx.hash();
        fx.env.push(("CLAWAUTH_FAILPOINT".into(), point.into()));
        let o = fx.run(&["order", "clear", "openai-codex", "--yes"]);
        assert_eq!(o.code, 128 + 9, "{point}: expected SIGKILL, got {}: {}", o.code, o.all());
        fx.env.clear();
        let log = fx.ok(&["log", "--json"]).json();
        assert_eq!(log["transactions"][0]["status"], "applying", "{point}");
        let r = fx.ok(&["recover"]);
        let log = fx.ok(&["log", "--json"]).json();
        let first = log["transactions"].as_array().unwrap().last().unwrap().clone();
        if point == "before-commit" || point == "after-step-2" {
            // every document was written: recovered as applied (all-after)
            assert_eq!(first["status"], "applied", "{point}: {}", r.stdout);
            assert!(read_json(&pa).get("order").is_none());
            assert!(read_json(&fx.agent().join("auth-state.json")).get("order").is_none());
        } else {
            assert_eq!(first["status"], "rolled back", "{point}: {}", r.stdout);
            assert_eq!(before, fx.hash(), "{point}: not all-before after recover");
        }
        // recover is idempotent and the next command starts clean
        assert_eq!(fx.ok(&["recover"]).stdout.trim(), "No interrupted transactions.");
    }
}

#[test]
fn mutating_commands_recover_first() {
    let mut fx = Fx::standard(Layout::B);
    fx.env.push(("CLAWAUTH_FAILPOINT".into(), "after-intent".into()));
    fx.run(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
    fx.env.clear();
    let o = fx.ok(&["pin", "agent:main:main", "openai-codex:alice@example.com", "--yes"]);
    assert!(o.stderr.contains("recover: transaction 1 was interrupted before its first write"), "{}", o.stderr);
    assert_eq!(fx.ok(&["log", "--json"]).json()["transactions"][1]["status"], "rolled back");
    assert_eq!(read_json(&fx.sessions())["agent:main:main"]["authProfileOverride"], "openai-codex:alice@example.com");
}

#[test]
fn journal_is_private_versioned_and_validated() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fx::standard(Layout::B);
    fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
    let j = fx.state.join(".clawauth/journal.db");
    assert_eq!(std::fs::metadata(&j).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(fx.state.join(".clawauth")).unwrap().permissions().mode() & 0o777, 0o700);
    // --journal elsewhere
    let other = fx.tmp.path().join("j/other.db");
    fx.ok(&["--journal", other.to_str().unwrap(), "unpin", "agent:main:main", "--yes"]);
    assert!(other.exists());
    assert_eq!(
        fx.ok(&["--journal", other.to_str().unwrap(), "log", "--json"]).json()["transactions"][0]["workflow"],
        "unpin"
    );
    // a journal from a newer clawauth is refused, nothing written
    let c = rusqlite::Connection::open(&j).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let before = fx.hash();
    let o = fx.run(&["unpin", "agent:main:main", "--yes"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("journal.db") && o.stderr.contains("newer"), "{}", o.stderr);
    assert_eq!(before, fx.hash());
    // a corrupted journal is named
    std::fs::write(&j, b"garbage, not sqlite at all, definitely").unwrap();
    let o = fx.run(&["log"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("journal.db") && o.stderr.contains("not an SQLite database"), "{}", o.stderr);
}

#[test]
fn log_and_show_tell_the_story_without_secrets() {
    let fx = Fx::committed("demo");
    let secrets = secrets_of(&fx.state);
    fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "openai-codex:default", "--yes"]);
    fx.ok(&["pin", "agent:main:main", "openai-codex:default", "--yes"]);
    fx.ok(&["undo", "2", "--yes"]);
    let log = fx.ok(&["log"]);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[1].starts_with("3 ") && lines[1].contains("[reverts 2]"),
        "{}",
        log.stdout
    );
    let v = fx.ok(&["log", "--json", "--limit", "2"]).json();
    let t = v["transactions"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0]["kind"].as_str(), t[0]["user"].as_str(), t[0]["host"].as_str()),
        (Some("undo"), Some("tester"), Some("testhost"))
    );
    assert_eq!(t[1]["documents"], 1);
    let s = fx.ok(&["show", "2"]);
    assert!(s.stdout.contains("transaction 2  apply  applied") && s.stdout.contains("undone by   3"), "{}", s.stdout);
    assert!(s.stdout.contains("+\"openai-codex:default\""), "{}", s.stdout);
    let sj = fx.ok(&["show", "1", "--json"]).json();
    assert_eq!(sj["transaction"]["steps"][0]["changes"][0]["pointer"], "/order/openai-codex");
    for o in [log.all(), v.to_string(), s.all(), sj.to_string()] {
        assert_no_secrets(&o, &secrets);
    }
    let o = fx.run(&["show", "42"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no transaction 42"));
}

#[test]
fn exit_codes_are_documented_in_help() {
    let fx = Fx::empty();
    let o = fx.run(&["--help"]);
    for line in ["0  ok", "1  error", "2  usage", "3  conflict", "4  doctor"] {
        assert!(o.stdout.contains(line), "{line} missing from --help:\n{}", o.stdout);
    }
}

#[test]
fn a_journal_copied_with_its_state_dir_never_touches_the_original() {
    let fx = Fx::standard(Layout::B);
    fx.ok(&["pin", "agent:main:main", "openai-codex:bob@example.com", "--yes"]);
    let original = fx.hash();
    // `cp -a` of the whole OpenClaw dir, journal included
    let copy = Fx::empty();
    copy_dir(&fx.state, &copy.state);
    let o = copy.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("was recorded for state dir") && o.stderr.contains("--state-dir"), "{}", o.stderr);
    assert_eq!(original, fx.hash(), "the original was touched through the copied journal");
}
