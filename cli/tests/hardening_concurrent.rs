//! Hardening, the live world: a concurrent OpenClaw-style writer rewriting the same files
//! while clawauth applies and undoes; no update may be lost on either side.

mod common;
use common::hardening::*;
use common::*;

#[allow(unused_imports)]
use clawauth_core::json::{to_bytes, Style};
use clawauth_core::model::Layout;
#[allow(unused_imports)]
use clawauth_fixture::{self as fixture, Account, Scenario, REF_NOW_MS};
#[allow(unused_imports)]
use serde_json::{json, Value};
#[allow(unused_imports)]
use std::collections::BTreeMap;
#[allow(unused_imports)]
use std::path::{Path, PathBuf};

// ----------------------------------------------------------------------------------------------
// 2. a concurrent writer doing what OpenClaw does

/// Take `<dir>/<name>` the way OpenClaw does: O_EXCL, `{"pid", "createdAt"}`, retry while held.
fn openclaw_lock(dir: &Path, name: &str) -> PathBuf {
    use std::io::Write;
    let p = dir.join(name);
    let t0 = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(mut f) => {
                let body = json!({"pid": std::process::id(), "createdAt": "2026-05-01T12:05:00.000Z"});
                f.write_all(&to_bytes(&body, Style::AUTH_FILE)).unwrap();
                return p;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                assert!(t0.elapsed().as_secs() < 20, "{} held for 20 s", p.display());
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
}

/// `JSON.stringify` + temp file + rename, as OpenClaw writes its stores.
fn openclaw_write(p: &Path, v: &Value, style: Style) {
    let tmp = p.with_file_name(format!("{}.{}.tmp", p.file_name().unwrap().to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, to_bytes(v, style)).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}

#[derive(Default, Debug)]
struct WriterCounts {
    session_writes: u64,
    auth_writes: u64,
    lost: Vec<String>,
}

/// Rewrite another session's entry and bob's usage counters until `stop`, each under its lock,
/// checking every time that the previous write is still there (else an update was lost).
fn writer(fx_state: PathBuf, layout: Layout, stop: &std::sync::atomic::AtomicBool) -> WriterCounts {
    let agent = fx_state.join("agents/main/agent");
    let sessions = fx_state.join("agents/main/sessions/sessions.json");
    let auth_state = if layout == Layout::A { agent.join("auth-profiles.json") } else { agent.join("auth-state.json") };
    let other = "agent:main:telegram:direct:100000";
    let mut c = WriterCounts::default();
    let mut seq = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        seq += 1;
        // sessions.json: lock as 2026.3.31 does (clawauth takes the same lock)
        let l = openclaw_lock(sessions.parent().unwrap(), "sessions.json.lock");
        let mut s = read_json(&sessions);
        if seq > 1 && s[other]["inputTokens"] != json!(seq - 1) {
            c.lost.push(format!(
                "sessions.json {other} inputTokens: wrote {}, found {}",
                seq - 1,
                s[other]["inputTokens"]
            ));
        }
        s[other]["inputTokens"] = json!(seq);
        s[other]["updatedAt"] = json!(REF_NOW_MS + seq as i64);
        openclaw_write(&sessions, &s, Style::SESSIONS_FILE);
        std::fs::remove_file(&l).unwrap();
        c.session_writes += 1;
        // the auth state under auth-profiles.json.lock, as OpenClaw's usage bookkeeping does
        let l = openclaw_lock(&agent, "auth-profiles.json.lock");
        let mut a = read_json(&auth_state);
        let want = json!(REF_NOW_MS + seq as i64 - 1);
        if seq > 1 && a["usageStats"][BOB]["lastUsed"] != want {
            c.lost.push(format!(
                "{} usageStats lastUsed: wrote {want}, found {}",
                auth_state.display(),
                a["usageStats"][BOB]["lastUsed"]
            ));
        }
        a["usageStats"][BOB]["lastUsed"] = json!(REF_NOW_MS + seq as i64);
        openclaw_write(&auth_state, &a, Style::AUTH_FILE);
        std::fs::remove_file(&l).unwrap();
        c.auth_writes += 1;
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    c
}

#[derive(Default, Debug)]
struct ClawCounts {
    applied: u64,
    refused: u64,
    why: Vec<String>,
}

/// Run a mutating command; it must end applied (exit 0) or refused with exit 3 having written
/// nothing at `check` (value before). Returns the txn id when applied.
fn apply_or_refused(
    fx: &Fx,
    args: &[&str],
    c: &mut ClawCounts,
    check: impl Fn() -> Value,
    before: &Value,
) -> Option<i64> {
    let o = fx.run(args);
    match o.code {
        0 => {
            c.applied += 1;
            let v: Value = o.json();
            assert_eq!(v["outcome"], "applied", "{args:?}: {}", o.stdout);
            Some(v["txn"].as_i64().unwrap())
        }
        3 => {
            c.refused += 1;
            assert!(o.stderr.contains("is held by live process"), "{args:?} refused for another reason:\n{}", o.stderr);
            c.why.push(format!("{args:?}: {}", o.stderr));
            assert_eq!(&check(), before, "{args:?} refused but wrote: {}", o.stderr);
            None
        }
        _ => panic!("{args:?}: exit {}:\n{}", o.code, o.all()),
    }
}

fn concurrent_writer_on(layout: Layout, iterations: usize) -> (ClawCounts, WriterCounts) {
    let fx = Fx::scenario(&Scenario::standard(REF_NOW_MS).with_bulk_sessions(40), layout);
    let sessions = fx.sessions();
    let state = state_file(&fx, layout);
    let orig_sessions = read_json(&sessions);
    let orig_state = read_json(&state);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut c = ClawCounts::default();
    let pin_now = || read_json(&sessions)["agent:main:main"].get("authProfileOverride").cloned().unwrap_or(Value::Null);
    let order_now = || read_json(&state)["order"]["openai-codex"].clone();
    let w = std::thread::scope(|s| {
        let h = s.spawn(|| writer(fx.state.clone(), layout, &stop));
        // stop the writer even when an assertion below fails, so the scope can end
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        for _ in 0..iterations {
            // pin, then undo it (an undo refused because the writer held the lock is retried)
            if let Some(t) = apply_or_refused(
                &fx,
                &["--json", "pin", "agent:main:main", BOB, "--yes"],
                &mut c,
                pin_now,
                &Value::Null,
            ) {
                assert_eq!(pin_now(), json!(BOB), "pin lost right after txn {t}");
                let undo = t.to_string();
                let args = ["--json", "undo", undo.as_str(), "--yes"];
                while apply_or_refused(&fx, &args, &mut c, pin_now, &json!(BOB)).is_none() {}
                assert_eq!(pin_now(), Value::Null);
            }
            // order set, then undo it
            let orig_order = orig_state["order"]["openai-codex"].clone();
            let set = ["--json", "order", "set", "openai-codex", BOB, ALICE, TEAM, "--yes"];
            if let Some(t) = apply_or_refused(&fx, &set, &mut c, order_now, &orig_order) {
                assert_eq!(order_now(), json!([BOB, ALICE, TEAM]), "order lost right after txn {t}");
                let undo = t.to_string();
                let args = ["--json", "undo", undo.as_str(), "--yes"];
                while apply_or_refused(&fx, &args, &mut c, order_now, &json!([BOB, ALICE, TEAM])).is_none() {}
                assert_eq!(order_now(), orig_order);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        h.join().unwrap()
    });
    assert!(w.lost.is_empty(), "{layout:?}: writer updates lost: {:#?}", w.lost);
    // every clawauth transaction ended applied, or failed on the held lock before writing
    let txns = transactions(&fx);
    for t in &txns {
        let refused =
            t["status"] == "failed" && t["error"].as_str().is_some_and(|e| e.contains("is held by live process"));
        assert!(t["status"] == "applied" || refused, "{layout:?}: {t}");
    }
    assert_eq!(txns.iter().filter(|t| t["status"] == "applied").count() as u64, c.applied, "{layout:?}");
    // the end state is the original with exactly the writer's last values
    let n = w.session_writes;
    let mut expect = orig_sessions;
    expect["agent:main:telegram:direct:100000"]["inputTokens"] = json!(n);
    expect["agent:main:telegram:direct:100000"]["updatedAt"] = json!(REF_NOW_MS + n as i64);
    assert_eq!(read_json(&sessions), expect, "{layout:?}: sessions.json");
    let mut expect = orig_state;
    expect["usageStats"][BOB]["lastUsed"] = json!(REF_NOW_MS + w.auth_writes as i64);
    assert_eq!(read_json(&state), expect, "{layout:?}: auth state");
    assert!(!fx.sessions().with_file_name("sessions.json.lock").exists());
    assert!(!fx.agent().join("auth-profiles.json.lock").exists());
    (c, w)
}

#[test]
fn concurrent_openclaw_writer_loses_no_update() {
    let mut lines = vec![];
    // 30 rounds on B, 15 on A (same code path, one file fewer): keeps the suite fast
    for (layout, rounds) in [(Layout::A, 15), (Layout::B, 30)] {
        let (c, w) = concurrent_writer_on(layout, rounds);
        assert!(w.session_writes > 0 && w.auth_writes > 0, "{layout:?}: the writer never ran");
        lines.push(format!(
            "  layout {layout:?}, {rounds} rounds: clawauth {} txns applied, {} refused (exit 3, nothing written); writer {} sessions.json + {} auth-state rewrites; 0 updates lost",
            c.applied, c.refused, w.session_writes, w.auth_writes
        ));
    }
    println!("concurrent writer (rounds of pin/undo + order set/undo):\n{}", lines.join("\n"));
}
