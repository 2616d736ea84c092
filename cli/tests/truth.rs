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

    // the demo's own explain step shows no false alarm
    let demo = run({
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clawauth"));
        c.env("CLAWAUTH_OPENCLAW_VERSION", "").env("NO_COLOR", "1").arg("demo");
        c
    });
    assert_eq!(demo.code, 0, "{}", demo.all());
    assert!(
        demo.stdout.contains("verdict: all layers agree: the next reply uses openai-codex:bob@example.com"),
        "{}",
        demo.stdout
    );
    assert!(!demo.stdout.contains("verdict: usage source disagrees"), "{}", demo.stdout);
    let _ = (ALICE, codes(&d));
}
