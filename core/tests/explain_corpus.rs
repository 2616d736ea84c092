//! `explain` end to end against OpenClaw's own answers: every case of the recorded resolver
//! corpus (`tests/corpus/`, answered by real OpenClaw 2026.4.5, 5.28 and 9.6) is written to a
//! state dir in OpenClaw's JSON format, read back by the real loader, and explained; the
//! profile `explain` names for the next reply (or after `/new`) must be the one OpenClaw chose.
//! Unlike `resolver_corpus.rs`, this exercises the files, the loader and `explain` itself.

use clawauth_core::context::Context;
use clawauth_core::json::{to_bytes, Style};
use clawauth_core::layout::discover::{self, Selector};
use clawauth_core::layout::load::{self, LoadOptions};
use clawauth_core::model::resolve::Rules;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn write(p: &Path, v: &Value, style: Style) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, to_bytes(v, style)).unwrap();
}

fn run(file: &str, rules: Rules) -> (usize, Vec<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(file);
    let Ok(text) = std::fs::read_to_string(&path) else { return (0, vec![]) };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let table = doc["profileTable"].as_object().cloned().unwrap_or_default();
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = vec![];
    let mut n = 0;
    for (i, c) in doc["cases"].as_array().unwrap().iter().enumerate() {
        let exp = &c["expected"];
        if exp.get("error").is_some() {
            continue;
        }
        let name = c["name"].as_str().unwrap_or("?");
        let state = tmp.path().join(format!("s{i}"));
        let agent = state.join("agents/main/agent");
        let profiles: Map<String, Value> = c["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .map(|id| (id.to_string(), table[id].clone()))
            .collect();
        write(&agent.join("auth-profiles.json"), &json!({"version": 1, "profiles": profiles}), Style::AUTH_FILE);
        let mut st = json!({"version": 1, "usageStats": c["usageStats"]});
        if !c["order"].is_null() {
            st["order"] = c["order"].clone();
        }
        write(&agent.join("auth-state.json"), &st, Style::AUTH_FILE);
        let key = c["session"]["key"].as_str().unwrap();
        write(
            &state.join("agents/main/sessions/sessions.json"),
            &json!({ key: c["session"]["entry"] }),
            Style::SESSIONS_FILE,
        );
        if !c["config"].is_null() {
            write(&state.join("openclaw.json"), &c["config"], Style::AUTH_FILE);
        }
        let mut env = BTreeMap::new();
        env.insert("CLAWAUTH_NOW".to_string(), c["now"].as_i64().unwrap().to_string());
        env.insert("HOME".to_string(), tmp.path().display().to_string());
        let ctx = Context::from_map(env);
        let sel = Selector { state_dir: Some(state.clone()), ..Default::default() };
        let st = load::load(discover::discover(&sel, &ctx).unwrap(), &ctx, &LoadOptions::default()).unwrap();
        let new_session = c["newSession"].as_bool().unwrap_or(false);
        let r = clawauth_core::report::explain::build(&st, key, new_session, Some(rules))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = if new_session {
            r.after_new_session.as_ref().unwrap().profile.clone()
        } else {
            r.next_reply.profile.clone()
        };
        n += 1;
        if json!(got) != exp["profileId"] {
            bad.push(format!(
                "{name}: explain says {} but OpenClaw {} chose {}",
                json!(got),
                doc["openclaw"],
                exp["profileId"]
            ));
        }
        std::fs::remove_dir_all(&state).unwrap();
    }
    (n, bad)
}

#[test]
fn explain_names_the_profile_openclaw_chooses_on_the_whole_corpus() {
    let mut total = 0;
    let mut bad = vec![];
    for (file, rules) in
        [("resolver-4.5.json", Rules::V4_5), ("resolver-5.28.json", Rules::V5_28), ("resolver-9.6.json", Rules::V9_6)]
    {
        let (n, b) = run(file, rules);
        println!("{file}: {n} cases explained, {} disagree", b.len());
        total += n;
        bad.extend(b);
    }
    assert!(total >= 2000, "the corpus is missing: only {total} cases");
    assert!(bad.is_empty(), "{} of {total} disagree:\n{}", bad.len(), bad.join("\n"));
}
