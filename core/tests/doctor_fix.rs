//! `doctor --fix` runs typed repairs: each fixable finding carries the `Repair` it suggests
//! (with its agent), the printed fix is that repair's command line, and nothing is parsed
//! back from text.

use clawauth_core::context::Context;
use clawauth_core::layout::discover::{self, Selector};
use clawauth_core::layout::load::{self, LoadOptions};
use clawauth_core::report::doctor::{self, Options};
use clawauth_core::workflow::{Fix, Repair};
use std::collections::BTreeMap;
use std::path::Path;

fn demo_report(router: bool) -> doctor::DoctorReport {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
    copy(&src, &state);
    if !router {
        std::fs::remove_file(state.join("codex-oauth-profiles.json")).unwrap();
    }
    let env: BTreeMap<String, String> =
        [("CLAWAUTH_NOW", "2026-05-01T12:05:00Z"), ("HOME", tmp.path().to_str().unwrap())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let ctx = Context::from_map(env);
    let sel = Selector { state_dir: Some(state), all_agents: true, ..Default::default() };
    let st = load::load(discover::discover(&sel, &ctx).unwrap(), &ctx, &LoadOptions::default()).unwrap();
    doctor::run(&st, &Options { rules: None, proc_dir: tmp.path().join("no-proc") })
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn each_fixable_finding_carries_its_typed_repair() {
    // without its router the demo's `:default` is a stale copy of bob (with the router it is
    // the active slot, a copy by design: no CA010/CA011, issue 20)
    let routed = demo_report(true);
    assert!(!routed.findings.iter().any(|f| f.code == "CA010" || f.code == "CA011"), "{:?}", routed.findings);
    let r = demo_report(false);
    let by_code = |code: &str| r.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("no {code}"));
    assert_eq!(
        by_code("CA010").repair,
        Some(Fix::new(None, Repair::ProfileRemove { id: "openai-codex:default".into() }))
    );
    assert_eq!(by_code("CA003").repair, Some(Fix::new(None, Repair::Resync { session: None, auto_only: true })));
    assert_eq!(
        by_code("CA011").repair,
        Some(Fix::new(
            None,
            Repair::ProfileMerge { keep: "openai-codex:bob@example.com".into(), drop: "openai-codex:default".into() }
        ))
    );
    // report-only findings have none
    assert_eq!(by_code("CA015").repair, None);
    assert_eq!(by_code("CA012").repair, None);
    // what the report prints is exactly the repair's command line
    for f in &r.findings {
        match &f.repair {
            Some(fix) => assert_eq!(f.fix, fix.command_line(), "{}", f.code),
            None => assert!(!f.fix.starts_with("clawauth "), "{}: {}", f.code, f.fix),
        }
    }
}

#[test]
fn command_lines_quote_what_a_shell_would_split() {
    let fix = Fix::new(
        Some("work".into()),
        Repair::Pin { session: "agent:work:x y".into(), profile: "openai:it's".into(), source: "auto".into() },
    );
    assert_eq!(fix.command_line(), r"clawauth --agent work pin 'agent:work:x y' 'openai:it'\''s' --source auto");
    assert_eq!(Fix::new(None, Repair::RekeyState).command_line(), "clawauth rekey-state");
}
