//! Hardening, secrets and file modes: no command's output ever contains a token, and the
//! journal and rewritten files keep their modes.

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
// 5. secrets and file modes

/// Every secret in a state dir: JSON files anywhere below it (stores, archives, backups, repo)
/// and every text cell of every SQLite database (C/D stores).
fn all_secrets(state: &Path) -> Vec<String> {
    fn rec(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if let (true, Some(s)) = (clawauth_core::model::token::is_secret_key(k), x.as_str()) {
                        if s.len() >= 8 {
                            out.push(s.to_string());
                        }
                    }
                    rec(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| rec(x, out)),
            _ => {}
        }
    }
    let mut out = secrets_of(state);
    let mut stack = vec![state.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".sqlite") {
                let c = rusqlite::Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
                let tables: Vec<String> = c
                    .prepare("SELECT name FROM sqlite_master WHERE type='table'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                for t in tables {
                    let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
                    let n = st.column_count();
                    let mut rows = st.query([]).unwrap();
                    while let Some(r) = rows.next().unwrap() {
                        for i in 0..n {
                            if let Ok(Some(s)) = r.get::<_, Option<String>>(i) {
                                if let Ok(v) = serde_json::from_str::<Value>(&s) {
                                    rec(&v, &mut out);
                                }
                            }
                        }
                    }
                }
            } else if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap_or_default()) {
                rec(&v, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_command_output_ever_contains_a_secret() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut outputs = 0usize;
    let mut total_secrets = 0usize;
    for name in &names {
        let fx = Fx::committed(name);
        let secrets = all_secrets(&fx.state);
        assert!(!secrets.is_empty(), "{name}: no secrets found to look for");
        total_secrets += secrets.len();
        let status = fx.ok(&["status", "--json", "--all"]).json();
        let agent = &status["agents"][0];
        let p = agent["profiles"][0]["id"].as_str().unwrap_or(BOB).to_string();
        let p2 = agent["profiles"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|x| x["id"].as_str())
            .unwrap_or(ALICE)
            .to_string();
        let provider = p.split(':').next().unwrap().to_string();
        let keys: Vec<String> =
            agent["sessions"].as_array().unwrap().iter().filter_map(|s| s["key"].as_str().map(str::to_owned)).collect();
        let mut cmds: Vec<Vec<String>> = vec![];
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        for json in [false, true] {
            let j = |mut a: Vec<String>| {
                if json {
                    a.insert(0, "--json".into());
                }
                a
            };
            cmds.push(j(v(&["status", "--all"])));
            cmds.push(j(v(&["doctor"])));
            cmds.push(j(v(&["usage", "--endpoint", "http://127.0.0.1:9", "--timeout", "1"])));
            cmds.push(j(v(&["restore-token", &p, "--list"])));
            for k in keys.iter().take(3) {
                cmds.push(j(v(&["explain", k])));
            }
            cmds.push(j(v(&["pin", &keys[0], &p2, "--dry-run"])));
            cmds.push(j(v(&["order", "set", &provider, &p2, &p, "--yes"])));
            cmds.push(j(v(&["pin", &keys[0], &p2, "--yes"])));
            cmds.push(j(v(&["cooldown", "clear", "--all", "--yes"])));
            cmds.push(j(v(&["restore-token", &p, "--yes"])));
            cmds.push(j(v(&["resync", "--yes"])));
            cmds.push(j(v(&["activate", &p, "--yes"])));
            cmds.push(j(v(&["profile", "rename", &p2, &format!("{provider}:renamed"), "--yes"])));
            cmds.push(j(v(&["undo", "2", "--yes"])));
            cmds.push(j(v(&["undo", "2", "--yes"]))); // refused: already undone / conflict
            cmds.push(j(v(&["doctor", "--fix", "--yes"])));
            cmds.push(j(v(&["log", "--limit", "100"])));
            for t in 1..=8 {
                cmds.push(j(v(&["show", &t.to_string()])));
            }
            // errors
            cmds.push(j(v(&["pin", "agent:main:nope", &p, "--yes"])));
            cmds.push(j(v(&["restore-token", "nope:nope", "--yes"])));
            cmds.push(j(v(&["undo", "999", "--yes"])));
        }
        for c in &cmds {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            let o = fx.run(&args);
            no_panic(&o, &format!("{name}: {args:?}"));
            assert_no_secrets(&o.all(), &secrets);
            outputs += 1;
        }
        // the journal's own rendering of every recorded value, too
        let log = fx.ok(&["log", "--json", "--limit", "1000"]).json();
        for t in log["transactions"].as_array().unwrap() {
            let id = t["id"].to_string();
            assert_no_secrets(&fx.ok(&["show", &id, "--json"]).all(), &secrets);
            outputs += 1;
        }
    }
    println!(
        "secrets: {outputs} command outputs (human and --json, errors, log, show) over {} fixtures ({}) checked against {total_secrets} secrets: none leaked",
        names.len(),
        names.join(", ")
    );
}

#[test]
fn journal_is_private_and_rewritten_files_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for layout in [Layout::A, Layout::B] {
        let fx = with_preference(layout);
        let files = [
            fx.agent().join("auth-profiles.json"),
            state_file(&fx, layout),
            fx.sessions(),
            fx.state.join("codex_profile_id"),
        ];
        for (p, m) in files.iter().zip([0o640, 0o640, 0o644, 0o604]) {
            set(p, m);
        }
        let before: Vec<u32> = files.iter().map(|p| mode(p)).collect();
        // rename rewrites all four documents
        fx.ok(&["profile", "rename", ALICE, "openai-codex:alice-personal", "--yes"]);
        let after: Vec<u32> = files.iter().map(|p| mode(p)).collect();
        assert_eq!(before, after, "{layout:?}: modes changed");
        fx.ok(&["undo", "1", "--yes"]);
        assert_eq!(before, files.iter().map(|p| mode(p)).collect::<Vec<_>>(), "{layout:?}: undo changed modes");
        assert_eq!(mode(&fx.state.join(".clawauth")), 0o700);
        for f in ["journal.db", "journal.db-wal", "journal.db-shm"] {
            let p = fx.state.join(".clawauth").join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
    }
}
