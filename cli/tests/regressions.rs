//! The defects issue 15 fixed, each pinned by a test that fails if it comes back: `--rules`
//! ignored by repairs, state errors reported as usage errors, `doctor --fix` re-parsing text.

mod common;
use common::*;

use serde_json::Value;

fn fix_plan(rules: &[&str]) -> Value {
    let fx = Fx::committed("demo");
    // without the router, bob's `:default` copy is a stale duplicate that `--fix` removes (with
    // the router it is the active slot, a copy by design: issue 20)
    std::fs::remove_file(fx.state.join("codex-oauth-profiles.json")).unwrap();
    fx.ok(&["pin", "agent:main:main", "openai-codex:default", "--yes"]);
    let mut args: Vec<&str> = rules.to_vec();
    args.extend(["doctor", "--fix", "--dry-run", "--json"]);
    let o = fx.run(&args);
    assert_eq!(o.code, 0, "{}", o.all());
    o.json()["plan"].clone()
}

fn step_titles(plan: &Value) -> Vec<String> {
    plan["steps"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap().to_string()).collect()
}

/// The demo is layout B (2026.5.28 rules by default). Removing a profile re-pins its chats
/// to what OpenClaw would pick: under 2026.9.6 rules the pin is dropped instead, so the plan
/// `doctor --rules 9.6 --fix` makes must differ from the default one.
#[test]
fn doctor_fix_plans_under_the_rules_given() {
    let default = fix_plan(&[]);
    let v96 = fix_plan(&["--rules", "9.6"]);
    let t_default = step_titles(&default);
    let t_96 = step_titles(&v96);
    assert!(t_default.iter().any(|t| t.contains("re-pin to openai-codex:alice@example.com (auto)")), "{t_default:?}");
    // 9.6 drops the user pin on a missing profile; the chat then takes the order's first
    // usable profile, and the step says which (issue 20)
    assert!(
        t_96.iter().any(|t| t.contains("unpin (OpenClaw then picks openai-codex:alice@example.com from the order)")),
        "{t_96:?}"
    );
    // and 5.28 given explicitly is the default
    assert_eq!(step_titles(&fix_plan(&["--rules", "5.28"])), t_default);
}

#[test]
fn rules_is_parsed_once_and_rejects_unknown_releases() {
    let fx = Fx::committed("demo");
    // accepted before or after the command, by every command
    for args in [
        &["--rules", "4.5", "status", "--json"][..],
        &["status", "--json", "--rules", "2026.9.6"],
        &["doctor", "--rules", "9.6"],
    ] {
        let o = fx.run(args);
        assert!(o.code == 0 || o.code == 4, "{args:?}: {}", o.all());
    }
    let o = fx.run(&["status", "--rules", "8"]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(o.stderr.contains("--rules takes an OpenClaw release"), "{}", o.stderr);
}

/// A transaction in the wrong status is never a usage error (exit 2): undoing a planned one is
/// an error (exit 1); applying one that is already applied is a lost claim, the same answer a
/// racing second `apply N` gets (exit 3, conflict).
#[test]
fn a_transaction_in_the_wrong_status_is_a_state_error() {
    let fx = Fx::committed("demo");
    fx.ok(&["order", "set", "openai-codex", "openai-codex:bob@example.com", "--dry-run"]);
    // planned, not applied: cannot be undone
    let o = fx.run(&["undo", "1", "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("only applied transactions can be undone"), "{}", o.stderr);
    fx.ok(&["apply", "1", "--yes"]);
    // applied, not planned: cannot be applied again
    let o = fx.run(&["apply", "1", "--yes"]);
    assert_eq!(o.code, 3, "{}", o.all());
    assert!(o.stderr.contains("is applied, not planned"), "{}", o.stderr);
}
