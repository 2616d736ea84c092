//! Hardening, bad input: a corpus of malformed inputs refused by name with nothing written (or
//! read as OpenClaw reads them), plus special files: read-only dirs, a full disk, locked databases.

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
// 3. bad-input corpus

fn cut(p: &Path) {
    let b = std::fs::read(p).unwrap();
    std::fs::write(p, &b[..b.len() / 2]).unwrap();
}

fn edit(p: &Path, f: impl FnOnce(&mut Value)) {
    let b = std::fs::read(p).unwrap();
    let mut v: Value = serde_json::from_slice(&b).unwrap();
    f(&mut v);
    std::fs::write(p, to_bytes(&v, Style::detect(&b))).unwrap();
}

/// Replace the first occurrence of `from` in a file's bytes.
fn splice(p: &Path, from: &[u8], to: &[u8]) {
    let b = std::fs::read(p).unwrap();
    let at = b.windows(from.len()).position(|w| w == from).unwrap_or_else(|| panic!("{}: no {from:?}", p.display()));
    let mut out = b[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&b[at + from.len()..]);
    std::fs::write(p, out).unwrap();
}

fn deep(n: usize) -> Vec<u8> {
    let mut v = vec![b'['; n];
    v.extend(std::iter::repeat(b']').take(n));
    v
}

fn replace_with_dir(p: &Path) {
    std::fs::remove_file(p).unwrap();
    std::fs::create_dir(p).unwrap();
}

fn dangling(p: &Path) {
    std::fs::remove_file(p).unwrap();
    std::os::unix::fs::symlink(p.with_file_name("does-not-exist.json"), p).unwrap();
}

fn symlink_loop(p: &Path) {
    std::fs::remove_file(p).unwrap();
    let a = p.with_file_name("loop-a");
    let b = p.with_file_name("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    std::os::unix::fs::symlink(&a, p).unwrap();
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Base {
    B,
    Router,
    C,
    D,
}

type Setup = Box<dyn Fn(&Fx)>;

struct Case {
    name: &'static str,
    base: Base,
    setup: Setup,
    /// The mutating command; it must fail with `code`, its error naming `needle`.
    cmd: Vec<&'static str>,
    code: i32,
    needle: &'static str,
    /// clawauth's own journal may record the refused attempt (the failure is audited).
    journal_may_change: bool,
    /// A readable document with a wrong-typed value: read as OpenClaw reads it, with a warning
    /// naming the file; a mutation may proceed, and its undo restores every byte.
    tolerated: bool,
}

fn case(name: &'static str, base: Base, needle: &'static str, setup: impl Fn(&Fx) + 'static) -> Case {
    let cmd = match base {
        Base::C | Base::D => vec!["order", "set", "openai", "openai:bob@example.com", "--yes"],
        _ if needle == "sessions.json" => vec!["pin", "agent:main:main", BOB, "--yes"],
        _ => vec!["order", "set", "openai-codex", BOB, "--yes"],
    };
    Case { name, base, setup: Box::new(setup), cmd, code: 1, needle, journal_may_change: false, tolerated: false }
}

fn with_cmd(mut c: Case, cmd: &[&'static str]) -> Case {
    c.cmd = cmd.to_vec();
    c
}

fn tolerated(mut c: Case) -> Case {
    c.tolerated = true;
    c
}

fn corpus() -> Vec<Case> {
    let s = |fx: &Fx| fx.sessions();
    let a = |fx: &Fx| fx.agent().join("auth-profiles.json");
    let t = |fx: &Fx| fx.agent().join("auth-state.json");
    const S: &str = "sessions.json";
    const P: &str = "auth-profiles.json";
    const T: &str = "auth-state.json";
    let mut v = vec![
        // sessions.json
        case("sessions: truncated", Base::B, S, move |fx| cut(&s(fx))),
        case("sessions: empty file", Base::B, S, move |fx| std::fs::write(s(fx), b"").unwrap()),
        case("sessions: whitespace only", Base::B, S, move |fx| std::fs::write(s(fx), b" \n\t\n").unwrap()),
        case("sessions: UTF-8 BOM", Base::B, S, move |fx| splice(&s(fx), b"{", b"\xEF\xBB\xBF{")),
        case("sessions: non-UTF-8 in an entry", Base::B, S, move |fx| {
            splice(&s(fx), b"00000000-0000-4000-8000-000000000001", b"00000000-0000-4000-8000-0000000000\xff\xfe")
        }),
        case("sessions: root is an array", Base::B, S, move |fx| std::fs::write(s(fx), b"[1, 2]").unwrap()),
        case("sessions: root is a string", Base::B, S, move |fx| std::fs::write(s(fx), b"\"sessions\"").unwrap()),
        case("sessions: root is null", Base::B, S, move |fx| std::fs::write(s(fx), b"null").unwrap()),
        case("sessions: trailing garbage", Base::B, S, move |fx| {
            let mut b = std::fs::read(s(fx)).unwrap();
            b.extend_from_slice(b"\n}garbage");
            std::fs::write(s(fx), b).unwrap()
        }),
        case("sessions: 100k nested arrays as the root", Base::B, S, move |fx| {
            std::fs::write(s(fx), deep(100_000)).unwrap()
        }),
        case("sessions: 100k nested arrays in a read field", Base::B, S, move |fx| {
            let mut to = b"\"compactionCount\": ".to_vec();
            to.extend(deep(100_000));
            splice(&s(fx), b"\"compactionCount\": 0", &to)
        }),
        case("sessions: 100k nested arrays in a skipped field", Base::B, S, move |fx| {
            let mut to = b"\"chatType\": \"direct\", \"origin\": ".to_vec();
            to.extend(deep(100_000));
            splice(&s(fx), b"\"chatType\": \"direct\"", &to)
        }),
        case("sessions: unterminated 8 MB string", Base::B, S, move |fx| {
            let mut b = std::fs::read(s(fx)).unwrap();
            b.truncate(b.len() - 2);
            b.extend_from_slice(b", \"blob\": \"");
            b.extend(std::iter::repeat(b'x').take(8 << 20));
            std::fs::write(s(fx), b).unwrap()
        }),
        tolerated(case("sessions: duplicate session key", Base::B, S, move |fx| {
            splice(
                &s(fx),
                b"{\n  \"agent:main:main\"",
                b"{\n  \"agent:main:main\": {\"sessionId\": \"dup\"},\n  \"agent:main:main\"",
            )
        })),
        case("sessions: a directory", Base::B, S, move |fx| replace_with_dir(&s(fx))),
        case("sessions: dangling symlink", Base::B, S, move |fx| dangling(&s(fx))),
        case("sessions: symlink loop", Base::B, S, move |fx| symlink_loop(&s(fx))),
        case("sessions: entry is a string", Base::B, S, move |fx| {
            edit(&s(fx), |v| v["agent:main:main"] = json!("oops"))
        }),
        case("sessions: entry is an array", Base::B, S, move |fx| edit(&s(fx), |v| v["agent:main:main"] = json!([1]))),
        // auth-profiles.json
        case("auth: truncated", Base::B, P, move |fx| cut(&a(fx))),
        case("auth: empty file", Base::B, P, move |fx| std::fs::write(a(fx), b"").unwrap()),
        case("auth: UTF-8 BOM", Base::B, P, move |fx| splice(&a(fx), b"{", b"\xEF\xBB\xBF{")),
        case("auth: non-UTF-8", Base::B, P, move |fx| splice(&a(fx), b"\"oauth\"", b"\"oa\xffth\"")),
        case("auth: NUL bytes", Base::B, P, move |fx| splice(&a(fx), b"\"version\"", b"\0\0\"version\"")),
        case("auth: root is an array", Base::B, P, move |fx| std::fs::write(a(fx), b"[]\n").unwrap()),
        case("auth: root is null", Base::B, P, move |fx| std::fs::write(a(fx), b"null\n").unwrap()),
        tolerated(case("auth: profiles is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"] = json!("oops"))
        })),
        tolerated(case("auth: profiles is an array", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"] = json!([1, 2]))
        })),
        tolerated(case("auth: a profile is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB] = json!("oops"))
        })),
        tolerated(case("auth: a profile's type is a number", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["type"] = json!(7))
        })),
        tolerated(case("auth: a profile's expires is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["expires"] = json!("tomorrow"))
        })),
        tolerated(case("auth: a profile's access is a number", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["profiles"][BOB]["access"] = json!(12))
        })),
        tolerated(case("auth: version is a string", Base::B, P, move |fx| {
            edit(&a(fx), |v| v["version"] = json!("one"))
        })),
        case("auth: 100k nested arrays", Base::B, P, move |fx| {
            let mut b = b"{\"version\": 1, \"profiles\": ".to_vec();
            b.extend(deep(100_000));
            b.extend_from_slice(b"}\n");
            std::fs::write(a(fx), b).unwrap()
        }),
        case("auth: unterminated 8 MB string", Base::B, P, move |fx| {
            let mut b = b"{\"version\": 1, \"profiles\": {\"x\": \"".to_vec();
            b.extend(std::iter::repeat(b'y').take(8 << 20));
            std::fs::write(a(fx), b).unwrap()
        }),
        tolerated(case("auth: duplicate profile id", Base::B, P, move |fx| {
            splice(
                &a(fx),
                b"\"profiles\": {",
                format!("\"profiles\": {{\n    \"{BOB}\": {{\"type\": \"oauth\"}},").as_bytes(),
            )
        })),
        case("auth: trailing garbage", Base::B, P, move |fx| {
            let mut b = std::fs::read(a(fx)).unwrap();
            b.extend_from_slice(b"{}");
            std::fs::write(a(fx), b).unwrap()
        }),
        case("auth: a directory", Base::B, P, move |fx| replace_with_dir(&a(fx))),
        case("auth: dangling symlink", Base::B, P, move |fx| dangling(&a(fx))),
        case("auth: symlink loop", Base::B, P, move |fx| symlink_loop(&a(fx))),
        // auth-state.json
        case("state: truncated", Base::B, T, move |fx| cut(&t(fx))),
        case("state: empty file", Base::B, T, move |fx| std::fs::write(t(fx), b"").unwrap()),
        tolerated(case("state: order is an array", Base::B, T, move |fx| edit(&t(fx), |v| v["order"] = json!([BOB])))),
        tolerated(case("state: order[provider] is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["order"]["openai-codex"] = json!(BOB))
        })),
        tolerated(case("state: order[provider] holds numbers", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["order"]["openai-codex"] = json!([1, 2]))
        })),
        tolerated(case("state: lastGood is an array", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["lastGood"] = json!([BOB]))
        })),
        tolerated(case("state: usageStats is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["usageStats"] = json!("x"))
        })),
        tolerated(case("state: cooldownUntil is a string", Base::B, T, move |fx| {
            edit(&t(fx), |v| v["usageStats"][TEAM]["cooldownUntil"] = json!("soon"))
        })),
        case("state: 100k nested arrays", Base::B, T, move |fx| {
            let mut b = b"{\"version\": 1, \"order\": {\"openai-codex\": ".to_vec();
            b.extend(deep(100_000));
            b.extend_from_slice(b"}}\n");
            std::fs::write(t(fx), b).unwrap()
        }),
        // the external repo and the preference
        with_cmd(
            case("repo: truncated", Base::Router, "codex-oauth-profiles.json", move |fx| {
                cut(&fx.state.join("codex-oauth-profiles.json"))
            }),
            &["activate", ALICE, "--yes"],
        ),
        with_cmd(
            case("preference: a directory", Base::Router, "codex_profile_id", move |fx| {
                replace_with_dir(&fx.state.join("codex_profile_id"))
            }),
            &["preference", "set", ALICE, "--yes"],
        ),
        // the journal
        case("journal: not a database", Base::B, "journal.db", move |fx| {
            std::fs::write(fx.state.join(".clawauth/journal.db"), b"garbage, not sqlite at all, definitely").unwrap()
        }),
        case("journal: truncated database", Base::B, "journal.db", move |fx| {
            cut(&fx.state.join(".clawauth/journal.db"))
        }),
        case("journal: newer schema version", Base::B, "journal.db", move |fx| {
            let c = rusqlite::Connection::open(fx.state.join(".clawauth/journal.db")).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }),
        case("journal: a directory", Base::B, "journal.db", move |fx| {
            let j = fx.state.join(".clawauth/journal.db");
            std::fs::remove_file(&j).unwrap();
            std::fs::create_dir(&j).unwrap();
        }),
        // SQLite stores
        case("sqlite: agent database is not a database", Base::B, "openclaw-agent.sqlite", move |fx| {
            std::fs::write(fx.agent().join("openclaw-agent.sqlite"), b"this is not a database, just text").unwrap()
        }),
        case("sqlite: C agent database is not a database", Base::C, "openclaw-agent.sqlite", move |fx| {
            std::fs::write(fx.agent().join("openclaw-agent.sqlite"), vec![b'z'; 8192]).unwrap();
            let _ = std::fs::remove_file(fx.agent().join("openclaw-agent.sqlite-wal"));
        }),
        case("sqlite: D state database is not a database", Base::D, "openclaw.sqlite", move |fx| {
            std::fs::write(fx.state.join("state/openclaw.sqlite"), vec![b'z'; 8192]).unwrap();
            let _ = std::fs::remove_file(fx.state.join("state/openclaw.sqlite-wal"));
        }),
    ];
    // wrong types where a session's fields are read
    for (field, val) in [
        ("updatedAt", json!("yesterday")),
        ("authProfileOverride", json!(42)),
        ("authProfileOverrideSource", json!(["user"])),
    ] {
        let name: &'static str = Box::leak(format!("sessions: {field} is {}", val).into_boxed_str());
        let mut c =
            tolerated(case(name, Base::B, S, move |fx| edit(&s(fx), |v| v["agent:main:main"][field] = val.clone())));
        c.cmd = vec!["unpin", "agent:main:main", "--yes"];
        v.push(c);
    }
    v
}

/// Whole state dir, clawauth's journal included unless the case may audit a refused attempt.
fn full_hash(fx: &Fx, with_journal: bool) -> BTreeMap<String, String> {
    if with_journal {
        tree_hash(&fx.state, &[".clawauth/journal.db-shm"])
    } else {
        fx.hash()
    }
}

fn base_fx(base: Base) -> Fx {
    let fx = match base {
        Base::B => Fx::standard(Layout::B),
        Base::Router => router(Layout::B),
        Base::C => Fx::committed("layout-c"),
        Base::D => Fx::committed("layout-d"),
    };
    // a journal with history, so that its bytes are checked too
    let id = match base {
        Base::C | Base::D => "openai:bob@example.com",
        Base::Router => ALICE,
        Base::B => BOB,
    };
    fx.ok(&["preference", "set", id, "--yes"]);
    fx.ok(&["undo", "1", "--yes"]);
    fx
}

/// Check one refused input: status, explain and doctor never panic or write; the mutating
/// command fails with the documented code, naming the path; nothing changes anywhere.
fn check_refused(c: &Case, fx: &Fx) -> String {
    let what = c.name;
    if c.tolerated {
        return check_tolerated(c, fx);
    }
    let before = full_hash(fx, !c.journal_may_change);
    for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:main"], &["log"]] {
        let o = fx.run(args);
        no_panic(&o, &format!("{what}: {args:?}"));
        assert_eq!(before, full_hash(fx, !c.journal_may_change), "{what}: {args:?} changed the state");
    }
    let st = fx.run(&["status", "--all"]);
    if c.needle != "journal.db" {
        // status never opens the journal
        assert!(st.all().contains(c.needle), "{what}: status does not name {}:\n{}", c.needle, st.all());
    }
    let o = fx.run(&c.cmd);
    no_panic(&o, what);
    assert_eq!(o.code, c.code, "{what}: {:?} exit {}:\n{}", c.cmd, o.code, o.all());
    assert!(o.stderr.contains(c.needle), "{what}: the error does not name {}:\n{}", c.needle, o.stderr);
    assert!(o.stderr.starts_with("error: ") || o.stderr.contains("\nerror: "), "{what}: {}", o.stderr);
    assert_eq!(before, full_hash(fx, !c.journal_may_change), "{what}: {:?} changed the state", c.cmd);
    o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string()
}

fn check_tolerated(c: &Case, fx: &Fx) -> String {
    let what = c.name;
    let before = fx.hash();
    for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:main"], &["status", "--json", "--all"]]
    {
        let o = fx.run(args);
        no_panic(&o, &format!("{what}: {args:?}"));
        assert_eq!(before, fx.hash(), "{what}: {args:?} changed the state");
    }
    let st = fx.run(&["status", "--all"]);
    assert_eq!(st.code, 0, "{what}: {}", st.all());
    let warning = st
        .all()
        .lines()
        .find(|l| {
            l.contains(c.needle)
                && (l.contains("instead of")
                    || l.contains("duplicate")
                    || l.contains("skipped")
                    || l.contains("ignored")
                    || l.contains("not a"))
        })
        .map(str::to_owned);
    let warning = match warning {
        Some(w) => format!("warning: {}", w.trim()),
        None => "read as OpenClaw reads it (no file-level warning)".into(),
    };
    let o = fx.run(&c.cmd);
    no_panic(&o, what);
    match o.code {
        0 if !o.stdout.contains("Applied transaction") => {
            assert_eq!(before, fx.hash(), "{what}: nothing to do, but wrote")
        }
        0 => {
            let t = transactions(fx)[0]["id"].as_i64().unwrap().to_string();
            fx.ok(&["undo", &t, "--yes"]);
            assert_eq!(before, fx.hash(), "{what}: apply + undo is not byte-identical");
        }
        1 | 3 => assert_eq!(before, fx.hash(), "{what}: refused but wrote"),
        n => panic!("{what}: exit {n}"),
    }
    warning
}

#[test]
fn bad_input_corpus_is_refused_by_name_and_writes_nothing() {
    let cases = corpus();
    let mut shown = vec![];
    let mut failed = vec![];
    for c in &cases {
        let fx = base_fx(c.base);
        (c.setup)(&fx);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_refused(c, &fx))) {
            Ok(line) => {
                let how = if c.tolerated { "tolerated".to_string() } else { format!("exit {}", c.code) };
                shown.push(format!("  {:<52} {how:<9} {}", c.name, clawauth_core::text::shorten(&line, 150)))
            }
            Err(_) => failed.push(c.name),
        }
    }
    assert!(failed.is_empty(), "{} case(s) failed: {failed:?}", failed.len());
    let extra = special_inputs(&mut shown);
    let tol = cases.iter().filter(|c| c.tolerated).count();
    println!(
        "bad-input corpus: {} malformed inputs: {} unreadable ones refused by name with the documented exit code and nothing written; {tol} wrong-typed values read as OpenClaw reads them (no panic; every mutation on them undone byte-identically)",
        cases.len() + extra,
        cases.len() + extra - tol
    );
    for l in &shown {
        println!("{l}");
    }
}

/// Inputs that need more than a file edit: a locked database, read-only directories and a
/// full disk. Returns how many ran.
fn special_inputs(shown: &mut Vec<String>) -> usize {
    let mut n = 0;
    // a database another process holds a write lock on (BEGIN EXCLUSIVE): a live lock, exit 3
    {
        let fx = base_fx(Base::C);
        let db = fx.agent().join("openclaw-agent.sqlite");
        // held by another process: POSIX locks of this one would drop when hashing reads the file
        let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "helper_hold_sqlite_write_lock", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("CLAWAUTH_TEST_HOLD_DB", &db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let mut out = std::io::BufReader::new(holder.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("LOCKED") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the lock holder did not start");
        }
        let mut c = case("sqlite: database locked by another writer", Base::C, "openclaw-agent.sqlite", |_| {});
        c.code = 3;
        c.journal_may_change = true;
        shown.push(format!("  {:<52} exit 3  {}", c.name, check_refused(&c, &fx)));
        drop(holder.stdin.take());
        std::io::Read::read_to_string(&mut out, &mut line).unwrap();
        holder.wait().unwrap();
        n += 1;
    }
    // read-only directories (a read-only bind mount: root ignores permission bits) and a full
    // disk (a tiny tmpfs). Both need mount(2); without it they are skipped with the reason.
    let probe = tempfile::tempdir().unwrap();
    let m =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(probe.path()).output();
    match m {
        Ok(o) if o.status.success() => {
            umount(probe.path());
        }
        other => {
            let why =
                other.map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string()).unwrap_or_else(|e| e.to_string());
            println!("  SKIPPED read-only directory and full-disk inputs: cannot mount ({why})");
            return n;
        }
    }
    for (name, dir, needle, cmd) in [
        (
            "fs: read-only agent directory",
            "agents/main/agent",
            "auth-profiles.json.lock",
            vec!["order", "set", "openai-codex", BOB, "--yes"],
        ),
        (
            "fs: read-only sessions directory",
            "agents/main/sessions",
            "sessions.json",
            vec!["pin", "agent:main:main", BOB, "--yes"],
        ),
        ("fs: read-only journal directory", ".clawauth", "journal.db", vec!["pin", "agent:main:main", BOB, "--yes"]),
    ] {
        let fx = base_fx(Base::B);
        let d = fx.state.join(dir);
        let before = fx.hash();
        let ok =
            |args: &[&str]| std::process::Command::new("mount").args(args).arg(&d).arg(&d).status().unwrap().success();
        assert!(ok(&["--bind"]), "bind mount");
        let remount =
            std::process::Command::new("mount").args(["-o", "remount,ro,bind"]).arg(&d).status().unwrap().success();
        let o = fx.run(&cmd);
        umount(&d);
        assert!(remount, "remount read-only");
        no_panic(&o, name);
        assert_eq!(o.code, 1, "{name}: {}", o.all());
        assert!(o.stderr.contains(needle), "{name}: the error does not name {needle}:\n{}", o.stderr);
        assert_eq!(before, fx.hash(), "{name}: changed the state");
        let line = o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string();
        shown.push(format!("  {name:<52} exit 1  {}", clawauth_core::text::shorten(&line, 150)));
        n += 1;
    }
    // a full disk: the state on a 1 MiB tmpfs filled to the last byte
    for (name, journal_elsewhere, needle) in [
        ("fs: full disk (journal on it too)", false, "journal.db"),
        ("fs: full disk (journal elsewhere)", true, "sessions.json"),
    ] {
        let fx = base_fx(Base::B);
        let mnt = fx.tmp.path().join("full");
        std::fs::create_dir(&mnt).unwrap();
        assert!(std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .unwrap()
            .success());
        let state = mnt.join("state");
        copy_dir(&fx.state, &state);
        let jpath = fx.tmp.path().join("journal.db");
        std::fs::copy(fx.state.join(".clawauth/journal.db"), &jpath).unwrap();
        // fill the disk
        {
            use std::io::Write;
            let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
            let block = vec![0u8; 4096];
            while f.write_all(&block).is_ok() {}
            while f.write_all(&block[..1]).is_ok() {}
        }
        let before = tree_hash(&state, &[".clawauth/journal.db-shm"]);
        let mut cmd = fx.cmd(&["pin", "agent:main:main", BOB, "--yes"]);
        // point --state-dir at the full copy (the later flag wins)
        cmd.arg("--state-dir").arg(&state);
        if journal_elsewhere {
            cmd.arg("--journal").arg(&jpath);
        }
        let o = run(cmd);
        let mut after = tree_hash(&state, &[".clawauth/journal.db-shm"]);
        // SQLite may leave an empty -wal behind: no bytes of the journal changed
        after.retain(|k, v| {
            !(k.ends_with("-wal") && v.starts_with("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        });
        umount(&mnt);
        no_panic(&o, name);
        assert_eq!(o.code, 1, "{name}: {}", o.all());
        assert!(o.stderr.contains(needle), "{name}: the error does not name {needle}:\n{}", o.stderr);
        let user_files = |h: &BTreeMap<String, String>| {
            h.iter()
                .filter(|(k, _)| !k.starts_with(".clawauth"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(user_files(&before), user_files(&after), "{name}: changed OpenClaw's files");
        if !journal_elsewhere {
            assert_eq!(before, after, "{name}: changed the journal");
        }
        let line = o.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default().to_string();
        shown.push(format!("  {name:<52} exit 1  {}", clawauth_core::text::shorten(&line, 150)));
        n += 1;
    }
    n
}

/// Not a test: run by `special_inputs` in a child process to hold `BEGIN EXCLUSIVE` on a
/// database until its stdin closes.
#[test]
#[ignore]
fn helper_hold_sqlite_write_lock() {
    let Ok(db) = std::env::var("CLAWAUTH_TEST_HOLD_DB") else { return };
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    println!("LOCKED");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    conn.execute_batch("ROLLBACK").unwrap();
}

fn umount(p: &Path) {
    let ok = std::process::Command::new("umount").arg(p).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "umount {}", p.display());
}
