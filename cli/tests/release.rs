//! Release detection from what a JSON-era state dir holds beside its auth files (issue 19):
//! a `state/openclaw.sqlite` (2026.6.1+ creates it on any command), an
//! `*.openai-provider-unification.*.bak` (a 6.1 – 7.x doctor ran) and the config's
//! `meta.lastTouchedVersion` — lower bounds, shown in `status` and `status --json`.

mod common;
use common::*;

use clawauth_core::model::Layout;
use serde_json::{json, Value};

/// A `state/openclaw.sqlite` as 2026.6.1 – 7.x leave it beside a JSON store: user_version 1,
/// rollback journal closed, so no -wal/-shm is left.
fn add_state_db(fx: &Fx, user_version: i64) {
    let dir = fx.state.join("state");
    std::fs::create_dir_all(&dir).unwrap();
    let c = rusqlite::Connection::open(dir.join("openclaw.sqlite")).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT); PRAGMA user_version = {user_version};"
    ))
    .unwrap();
    drop(c);
}

fn add_config(fx: &Fx, v: Value) {
    std::fs::write(fx.state.join("openclaw.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// `rules:` line of `status` and (`rules`, `rules_source`) of `status --json`.
fn rules_of(fx: &Fx) -> (String, String, String) {
    let t = fx.ok(&["status"]).stdout;
    let line = t.lines().find(|l| l.trim_start().starts_with("rules: ")).expect("a rules line").trim().to_string();
    let v = fx.ok(&["status", "--json"]).json();
    let a = &v["agents"][0];
    (line, a["rules"].as_str().unwrap().to_string(), a["rules_source"].as_str().unwrap().to_string())
}

#[test]
fn a_state_database_beside_a_layout_b_store_proves_2026_6_1() {
    let fx = Fx::standard(Layout::B);
    add_state_db(&fx, 1);
    let before = fx.hash();
    let (line, rules, source) = rules_of(&fx);
    assert!(
        line.starts_with("rules: OpenClaw 2026.6.1 (from state dir: state/openclaw.sqlite user_version 1 beside the JSON store (created from 2026.6.1); no openclaw installed)"),
        "{line}"
    );
    assert_eq!(rules, "6.1");
    assert!(source.starts_with("state dir: state/openclaw.sqlite user_version 1"), "{source}");
    // the layout is still B (the database holds no auth), and it was read without a trace
    assert_eq!(fx.ok(&["status", "--json"]).json()["agents"][0]["layout"], "B");
    assert_eq!(fx.hash(), before, "status changed the state dir");
    assert!(
        !fx.state.join("state/openclaw.sqlite-wal").exists() && !fx.state.join("state/openclaw.sqlite-shm").exists()
    );

    // an installed 5.28 resolves the next turn, but the state says a newer one ran: a downgrade
    let mut fx = fx;
    fx.env.push(("CLAWAUTH_OPENCLAW_VERSION".into(), "2026.5.28".into()));
    let (line, rules, _) = rules_of(&fx);
    assert_eq!(rules, "5.28");
    assert!(line.contains("installed openclaw 2026.5.28") && line.contains("a downgrade"), "{line}");
}

#[test]
fn a_provider_unification_backup_proves_a_6_1_doctor() {
    let fx = Fx::standard(Layout::B);
    std::fs::copy(
        fx.agent().join("auth-profiles.json"),
        fx.agent().join("auth-profiles.json.openai-provider-unification.1780000000000.bak"),
    )
    .unwrap();
    let (line, rules, source) = rules_of(&fx);
    assert_eq!(rules, "6.1");
    assert!(
        line.contains("(from state dir: an openai-provider-unification backup (a 2026.6.1 – 7.x doctor ran)"),
        "{line}"
    );
    assert!(source.starts_with("state dir: an openai-provider-unification backup"), "{source}");
}

#[test]
fn the_configs_last_touched_version_is_a_lower_bound() {
    // older than the newest layout-B release: still a guess, saying what the state proves
    let fx = Fx::standard(Layout::B);
    add_config(&fx, json!({"meta": {"lastTouchedVersion": "2026.5.20", "lastTouchedAt": "2026-05-20T10:00:00.000Z"}}));
    let (line, rules, source) = rules_of(&fx);
    assert_eq!(rules, "6.1");
    assert!(source.starts_with("guess"), "{source}");
    assert!(
        line.contains("newest release writing layout B, the state dir proves 2026.5.20 or newer (openclaw.json meta.lastTouchedVersion 2026.5.20 (the release that last wrote the config))"),
        "{line}"
    );

    // newer than the layout: that release ran on this state and is the one used
    add_config(&fx, json!({"meta": {"lastTouchedVersion": "2026.7.35"}}));
    let (line, rules, _) = rules_of(&fx);
    assert_eq!(rules, "7.35");
    assert!(
        line.starts_with("rules: OpenClaw 2026.7.35 (from state dir: openclaw.json meta.lastTouchedVersion 2026.7.35"),
        "{line}"
    );

    // layout A whose config 2026.5.3 wrote: 5.3's rules (R2), not the 4.5 guess
    let fx = Fx::standard(Layout::A);
    add_config(&fx, json!({"meta": {"lastTouchedVersion": "2026.5.3"}}));
    let (_, rules, source) = rules_of(&fx);
    assert_eq!(rules, "5.3");
    assert!(source.contains("meta.lastTouchedVersion 2026.5.3"), "{source}");
}

#[test]
fn committed_layout_c_is_exactly_7_35_by_its_config() {
    let fx = Fx::committed("layout-c");
    let (line, rules, _) = rules_of(&fx);
    assert_eq!(rules, "7.35");
    assert!(line.contains("(from state dir: openclaw.json meta.lastTouchedVersion 2026.7.35"), "{line}");
}
