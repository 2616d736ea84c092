//! Helpers the hardening tests share: the workflow fixtures and small file/env helpers.

use super::*;
#[allow(unused_imports)]
use clawauth_core::json::{to_bytes, Style};
use clawauth_core::model::Layout;
#[allow(unused_imports)]
use clawauth_fixture::{self as fixture, Account, Scenario, REF_NOW_MS};
#[allow(unused_imports)]
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const ALICE: &str = "openai-codex:alice@example.com";
pub const TEAM: &str = "openai-codex:alice-team";
pub const BOB: &str = "openai-codex:bob@example.com";

pub fn write_json(p: &Path, v: &Value, style: Style) {
    std::fs::write(p, to_bytes(v, style)).unwrap();
}

pub fn run_env(fx: &Fx, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = fx.cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c)
}

pub fn bob() -> Account {
    fixture::accounts("openai-codex").remove(2)
}

pub fn no_panic(o: &Out, what: &str) {
    assert!(!o.stderr.contains("panicked") && o.code != 101 && o.code < 128, "{what}: exit {}:\n{}", o.code, o.all());
}

/// The state file that holds the order, per layout.
pub fn state_file(fx: &Fx, layout: Layout) -> PathBuf {
    if layout == Layout::A {
        fx.agent().join("auth-profiles.json")
    } else {
        fx.agent().join("auth-state.json")
    }
}

// ----------------------------------------------------------------------------------------------
// scenarios shared by the matrix (each deterministic: the clock, user and host are pinned)

pub fn standard(layout: Layout) -> Fx {
    Fx::standard(layout)
}

/// Inline order in auth-profiles.json beside the sidecar's (B): `order clear` writes two files.
pub fn two_orders(layout: Layout) -> Fx {
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
pub fn stale_pins(layout: Layout) -> Fx {
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
pub fn with_preference(layout: Layout) -> Fx {
    let mut sc = Scenario::standard(REF_NOW_MS);
    sc.config = Some(json!({"auth": {"profiles": {ALICE: {"provider": "openai-codex", "mode": "oauth"}}}}));
    sc.preference = Some(ALICE.into());
    Fx::scenario(&sc, layout)
}

/// A stale `openai-codex:default` beside bob's named profile (merge).
pub fn duplicate(layout: Layout) -> Fx {
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
pub fn router(layout: Layout) -> Fx {
    Fx::scenario(&Scenario::standard(REF_NOW_MS).with_router(), layout)
}

pub fn transactions(fx: &Fx) -> Vec<Value> {
    fx.ok(&["log", "--json", "--limit", "1000"]).json()["transactions"].as_array().unwrap().clone()
}
