//! One-session repairs on `session_nodes` (layout D) read only their chat's rows
//! (`LoadOptions::one_session`), and plan exactly what they plan from a full read: the same
//! steps, changes, notes (blast radius included) and the same errors.

use clawauth_core::context::Context;
use clawauth_core::layout::discover::{self, Selector};
use clawauth_core::layout::load::{self, LoadOptions};
use clawauth_core::model::State;
use clawauth_core::txn::journal::Journal;
use clawauth_core::workflow::Repair;
use std::collections::BTreeMap;
use std::path::Path;

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

struct Fx {
    tmp: tempfile::TempDir,
    ctx: Context,
}

impl Fx {
    fn new(fixture: &str) -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(fixture), &tmp.path().join("state"));
        let env: BTreeMap<String, String> =
            [("CLAWAUTH_NOW", "2026-12-01T12:05:00Z"), ("HOME", tmp.path().to_str().unwrap())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        Fx { ctx: Context::from_map(env), tmp }
    }
    fn db(&self) -> std::path::PathBuf {
        self.tmp.path().join("state/agents/main/agent/openclaw-agent.sqlite")
    }
    fn load(&self, one: Option<&str>) -> State {
        let sel = Selector { state_dir: Some(self.tmp.path().join("state")), ..Default::default() };
        let opts = LoadOptions { one_session: one.map(str::to_owned), ..Default::default() };
        load::load(discover::discover(&sel, &self.ctx).unwrap(), &self.ctx, &opts).unwrap()
    }
    /// The plan (or error) of `r` from a full read and from a read of its chat only.
    fn both(&self, r: &Repair) -> (String, String) {
        let j = Journal::open_lazy(&self.tmp.path().join("journal.db")).unwrap();
        let show = |st: &State| match r.plan(st, &j) {
            Ok(p) => serde_json::to_string_pretty(&p).unwrap(),
            Err(e) => format!("error: {e}"),
        };
        (show(&self.load(None)), show(&self.load(r.one_session())))
    }
}

/// Rows beside the fixture's: a case variant of a pinned chat (pinned elsewhere), a chat OpenClaw
/// would refuse (`entry_valid = 0`), a row whose entry is not JSON, and a crowd of others.
fn crowd(fx: &Fx) {
    let c = rusqlite::Connection::open(fx.db()).unwrap();
    let row = |k: &str, sid: &str, entry: &str, upd: i64| {
        c.execute(
            "INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![k, sid, entry, upd],
        )
        .unwrap();
    };
    row(
        "agent:main:Telegram:direct:1001",
        "v1",
        r#"{"sessionId":"v1","updatedAt":1795799000000,"chatType":"direct","authProfileOverride":"openai:alice@example.com","authProfileOverrideSource":"auto","authProfileOverrideCompactionCount":2,"compactionCount":2}"#,
        1795799000000,
    );
    row("agent:main:broken", "b1", "{not json", 1);
    for i in 0..500 {
        let e = format!(
            r#"{{"sessionId":"c{i}","updatedAt":{},"chatType":"direct","authProfileOverride":"openai:bob@example.com","authProfileOverrideSource":"{}"}}"#,
            1795790000000i64 + i,
            if i % 2 == 0 { "user" } else { "auto" }
        );
        row(&format!("agent:main:crowd:{i}"), &format!("c{i}"), &e, 1795790000000 + i);
    }
    // the insert trigger leaves every new row at 0: the crowd is valid, the stale one not
    c.execute(
        "UPDATE session_nodes SET entry_valid = 1 WHERE session_key LIKE 'agent:main:crowd:%' OR session_key = 'agent:main:Telegram:direct:1001'",
        [],
    )
    .unwrap();
    c.execute(
        "UPDATE session_nodes SET entry_valid = 0, entry_json = replace(entry_json, '\"updatedAt\":1777633800000', '\"updatedAt\":1777633800000 ') WHERE session_key = 'agent:main:cron:nightly-report'",
        [],
    )
    .unwrap();
}

#[test]
fn one_session_repairs_plan_the_same_from_their_rows_only() {
    let fx = Fx::new("layout-d");
    crowd(&fx);
    let full = fx.load(None);
    assert!(full.agents[0].sessions.len() > 500);
    assert!(full.agents[0].warnings.iter().any(|w| w.contains("agent:main:broken")));
    let repairs = [
        Repair::Pin {
            session: "agent:main:main".into(),
            profile: "openai:bob@example.com".into(),
            source: "user".into(),
        },
        Repair::Pin {
            session: "agent:main:telegram:direct:1001".into(),
            profile: "openai-codex:alice-team".into(),
            source: "auto".into(),
        },
        Repair::Pin {
            session: "AGENT:MAIN:TELEGRAM:DIRECT:1001".into(),
            profile: "openai:bob@example.com".into(),
            source: "user".into(),
        },
        Repair::Unpin { session: "agent:main:telegram:direct:1001".into() },
        Repair::Unpin { session: "agent:main:crowd:7".into() },
        Repair::Resync { session: Some("agent:main:telegram:direct:1001".into()), auto_only: false },
        Repair::Resync { session: Some("agent:main:crowd:3".into()), auto_only: true },
        Repair::Revalidate { session: Some("agent:main:cron:nightly-report".into()) },
        Repair::Revalidate { session: Some("agent:main:main".into()) },
        Repair::Pin {
            session: "agent:main:nope".into(),
            profile: "openai:bob@example.com".into(),
            source: "user".into(),
        },
        Repair::Pin {
            session: "agent:main:broken".into(),
            profile: "openai:bob@example.com".into(),
            source: "user".into(),
        },
        Repair::Pin { session: "agent:main:main".into(), profile: "openai:nobody".into(), source: "user".into() },
    ];
    let mut plans = 0;
    for r in &repairs {
        let (a, b) = fx.both(r);
        assert_eq!(a, b, "{r:?}");
        plans += usize::from(!a.starts_with("error"));
    }
    // most of them plan something, with a blast radius; the rest fail the same way
    assert!(plans >= 6, "{plans}");
    let (pin, _) = fx.both(&repairs[2]);
    assert!(pin.contains("agent:main:Telegram:direct:1001") && pin.contains("case-variant"), "{pin}");
    assert!(pin.contains("blast radius"), "{pin}");
    let (nope, _) = fx.both(&repairs[9]);
    assert!(nope.contains(&format!("({} sessions;", full.agents[0].sessions.len())), "{nope}");

    // what was read: the chat's rows, nothing of the crowd or the broken row
    let one = fx.load(Some("agent:main:TELEGRAM:direct:1001"));
    let a = &one.agents[0];
    let keys: Vec<&str> = a.sessions.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["agent:main:Telegram:direct:1001", "agent:main:telegram:direct:1001"]);
    assert!(a.partial.is_some() && a.invalid_rows.is_empty());
    assert!(!a.warnings.iter().any(|w| w.contains("agent:main:broken")), "{:?}", a.warnings);
    assert_eq!(a.detect_release().release, full.agents[0].detect_release().release);
    let stale = fx.load(Some("agent:main:cron:nightly-report"));
    assert_eq!(stale.agents[0].invalid_rows.len(), 1);
}

#[test]
fn json_session_stores_are_still_read_whole() {
    // layout C keeps its sessions in sessions.json: there is no key to look a chat up by
    let fx = Fx::new("layout-c");
    let st = fx.load(Some("agent:main:main"));
    assert!(st.agents[0].partial.is_none());
    assert!(st.agents[0].sessions.len() > 1);
}
