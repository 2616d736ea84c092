//! Hostile state files: special files in a state file's place (a FIFO, `/dev/zero`, a
//! directory), files larger than clawauth reads, and broken symlinks where a file decides the
//! layout. Every command must end quickly in bounded memory with an error naming the file and
//! what it is, and nothing may be written (the journal included). Each run must stay under
//! 256 MiB peak memory and is killed after 10 s, so a regression shows as a failed bound or a
//! hang verdict instead of a machine that swaps.

mod common;
use common::*;

use clawauth_core::model::Layout;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

const BOB: &str = "openai-codex:bob@example.com";
/// The memory a hostile input may cost at most (the bound), measured as peak RSS.
const PEAK_RSS: u64 = 256 << 20;
/// A guard against runaway allocation, not the bound itself (address space exceeds RSS).
const LIMIT_AS: u64 = 2 << 30;

/// Run clawauth with a wall-clock limit and a generous address-space guard (a runaway
/// allocation ends the run instead of swapping the machine); returns the output, the time and
/// the peak resident memory the kernel measured (`ru_maxrss`, bytes).
fn bounded(fx: &Fx, args: &[&str]) -> (Out, Duration) {
    let (o, t, rss) = bounded_rss(fx, args);
    assert!(rss < PEAK_RSS, "clawauth {args:?}: peak memory {} MiB on a hostile input", rss >> 20);
    (o, t)
}

// reaped by `wait4` below, which std's `Child` cannot see
#[allow(clippy::zombie_processes)]
fn bounded_rss(fx: &Fx, args: &[&str]) -> (Out, Duration, u64) {
    use std::io::Read;
    let mut c = fx.cmd(args);
    c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: LIMIT_AS, rlim_max: LIMIT_AS };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn clawauth");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = vec![];
            let _ = r.read_to_end(&mut b);
            String::from_utf8_lossy(&b).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let (mut status, mut ru): (libc::c_int, libc::rusage) = (0, unsafe { std::mem::zeroed() });
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("clawauth {args:?} hung on a hostile input (killed after 10 s)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    let o = Out { code, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    (o, start.elapsed(), ru.ru_maxrss as u64 * 1024)
}

fn fifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", p.display());
}

fn link(p: &Path, to: &str) {
    let _ = std::fs::remove_file(p);
    std::os::unix::fs::symlink(to, p).unwrap();
}

fn sparse(p: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(p).unwrap().set_len(len).unwrap();
}

struct Case {
    name: &'static str,
    file: fn(&Fx) -> std::path::PathBuf,
    plant: fn(&Path),
    /// What the error must say about the file.
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let auth = |fx: &Fx| fx.agent().join("auth-profiles.json");
    let state = |fx: &Fx| fx.agent().join("auth-state.json");
    let sessions = |fx: &Fx| fx.sessions();
    let config = |fx: &Fx| fx.state.join("openclaw.json");
    vec![
        Case { name: "auth store -> /dev/zero", file: auth, plant: |p| link(p, "/dev/zero"), says: "character device" },
        Case { name: "auth store is a FIFO", file: auth, plant: fifo, says: "named pipe (FIFO)" },
        Case {
            name: "sessions -> /dev/zero",
            file: sessions,
            plant: |p| link(p, "/dev/zero"),
            says: "character device",
        },
        Case { name: "sessions is a FIFO", file: sessions, plant: fifo, says: "named pipe (FIFO)" },
        Case {
            name: "sessions is a 3 GiB sparse file",
            file: sessions,
            plant: |p| sparse(p, 3 << 30),
            says: "more than the 2147483648 bytes",
        },
        Case {
            name: "routing state is a 100 MiB sparse file",
            file: state,
            plant: |p| sparse(p, 100 << 20),
            says: "more than the 67108864 bytes",
        },
        Case { name: "routing state is a FIFO", file: state, plant: fifo, says: "named pipe (FIFO)" },
        Case {
            name: "routing state is a dangling symlink",
            file: state,
            plant: |p| link(p, "/nonexistent/auth-state.json"),
            says: "dangling symbolic link",
        },
        Case {
            name: "routing state is a symlink loop",
            file: state,
            plant: |p| link(p, "auth-state.json"),
            says: "symbolic link loop",
        },
        Case { name: "config -> /dev/zero", file: config, plant: |p| link(p, "/dev/zero"), says: "character device" },
        Case { name: "config is a FIFO", file: config, plant: fifo, says: "named pipe (FIFO)" },
    ]
}

/// A layout-B state with a journal that already has history, so that "nothing written" covers
/// the journal too.
fn base() -> Fx {
    let fx = Fx::standard(Layout::B);
    fx.ok(&["preference", "set", BOB, "--yes"]);
    fx.ok(&["undo", "1", "--yes"]);
    fx
}

#[test]
fn special_and_oversized_files_are_refused_quickly_naming_the_file() {
    let mut slowest = Duration::ZERO;
    for c in cases() {
        let fx = base();
        let path = (c.file)(&fx);
        (c.plant)(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let before = tree_hash(&fx.state, &[".clawauth/journal.db-shm"]);
        let config = name == "openclaw.json";
        for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:main"]] {
            let (o, t) = bounded(&fx, args);
            slowest = slowest.max(t);
            assert!(o.code < 100, "{}: {args:?} crashed (signal {}):\n{}", c.name, o.code - 128, o.all());
            assert!(o.all().contains(&name) && o.all().contains(c.says), "{}: {args:?}:\n{}", c.name, o.all());
            if !config {
                // a state file the layout or the auth store depends on: never a silent default
                assert!(!o.stdout.contains("layout A"), "{}: fell back to layout A:\n{}", c.name, o.all());
            }
        }
        let (o, t) = bounded(&fx, &["pin", "agent:main:main", BOB, "--yes"]);
        slowest = slowest.max(t);
        assert_eq!(o.code, 1, "{}: pin exit {}:\n{}", c.name, o.code, o.all());
        assert!(o.stderr.contains(&name) && o.stderr.contains(c.says), "{}: {}", c.name, o.stderr);
        assert_eq!(before, tree_hash(&fx.state, &[".clawauth/journal.db-shm"]), "{}: something was written", c.name);
    }
    println!(
        "hostile special files: {} cases, slowest run {slowest:?}, each under {} MiB peak",
        cases().len(),
        PEAK_RSS >> 20
    );
}

#[test]
fn a_key_given_twice_is_read_as_openclaw_does_and_refused_for_writing() {
    let fx = base();
    // two credentials under one profile id: OpenClaw's JSON.parse keeps the last
    let p = fx.agent().join("auth-profiles.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let dup =
        text.replacen("\"profiles\": {", &format!("\"profiles\": {{\n    \"{BOB}\": {{\"type\": \"oauth\"}},"), 1);
    assert_ne!(dup, text);
    std::fs::write(&p, dup).unwrap();
    let before = tree_hash(&fx.state, &[".clawauth/journal.db-shm"]);
    let st = fx.run(&["status"]);
    assert_eq!(st.code, 0, "{}", st.all());
    assert!(st.all().contains("appears twice"), "{}", st.all());
    for args in [
        &["pin", "agent:main:main", BOB, "--yes"][..],
        &["order", "set", "openai-codex", BOB, "--yes"],
        &["profile", "rename", BOB, "openai-codex:robert@example.com", "--yes"],
        &["cooldown", "clear", "--all", "--yes"],
    ] {
        let o = fx.run(args);
        assert_eq!(o.code, 1, "{args:?}: {}", o.all());
        assert!(
            o.stderr.contains("auth-profiles.json") && o.stderr.contains(&format!("{BOB:?} appears twice")),
            "{args:?}: {}",
            o.stderr
        );
    }
    assert_eq!(before, tree_hash(&fx.state, &[".clawauth/journal.db-shm"]), "something was written");
    // doctor names it instead of judging a state it cannot trust
    let d = fx.run(&["doctor", "--json"]).json();
    let codes: Vec<&str> = d["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"CA025"), "{codes:?}");

    // a session key given twice in sessions.json: the rewrite is refused, naming the key
    let fx = base();
    let s = std::fs::read_to_string(fx.sessions()).unwrap();
    std::fs::write(
        fx.sessions(),
        s.replacen(
            "{\n  \"agent:main:main\"",
            "{\n  \"agent:main:main\": {\"sessionId\": \"dup\"},\n  \"agent:main:main\"",
            1,
        ),
    )
    .unwrap();
    let before = tree_hash(&fx.state, &[".clawauth/journal.db-shm"]);
    let o = fx.run(&["pin", "agent:main:main", BOB, "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stderr.contains("sessions.json") && o.stderr.contains("\"agent:main:main\" appears twice"),
        "{}",
        o.stderr
    );
    assert_eq!(before, tree_hash(&fx.state, &[".clawauth/journal.db-shm"]));
}

/// A chat user controls session keys and labels; an attacker with write access to a state file
/// controls every string in it. None of it may drive the operator's terminal.
#[test]
fn escape_sequences_in_state_never_reach_the_terminal() {
    let fx = base();
    let evil =
        "agent:main:telegram:direct:\u{1b}]0;pwned\u{7}\u{1b}]8;;http://x\u{1b}\\\u{1b}[2J\roverwrite\u{202e}\u{9b}1m";
    let s = std::fs::read_to_string(fx.sessions()).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
    let mut entry = v["agent:main:main"].clone();
    entry["sessionId"] = serde_json::json!("00000000-0000-4000-8000-0000000000ee");
    entry["label"] = serde_json::json!("\u{1b}[31mred label\u{7}");
    v[evil] = entry;
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let pin = fx.run(&["pin", evil, BOB, "--yes"]);
    assert_eq!(pin.code, 0, "{}", pin.all());
    let bad = |t: &str| t.chars().find(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c));
    for args in [
        &["status", "--all"][..],
        &["status", "--session", evil],
        &["doctor"],
        &["explain", evil],
        &["log"],
        &["show", "3"],
        &["unpin", evil, "--dry-run"],
        &["pin", "no-such-session\u{1b}[2J", BOB, "--yes"],
    ] {
        let o = fx.run(args);
        assert!(
            bad(&o.stdout).is_none() && bad(&o.stderr).is_none(),
            "{args:?} printed a control character:\n{:?}",
            o.all()
        );
    }
    // the text shows the key escaped; --json keeps the exact value
    let st = fx.ok(&["status", "--all"]);
    assert!(st.stdout.contains("\\e]0;pwned"), "{}", st.stdout);
    let j = fx.ok(&["status", "--all", "--json"]).json();
    assert!(j["agents"][0]["sessions"].as_array().unwrap().iter().any(|s| s["key"] == evil));
}

#[test]
fn a_huge_label_does_not_become_huge_output() {
    let fx = base();
    // the label a person sees comes from the credential's email and displayName
    let p = fx.agent().join("auth-profiles.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["profiles"][BOB]["email"] = serde_json::json!("E".repeat(10 << 20));
    v["profiles"][BOB]["displayName"] = serde_json::json!("D".repeat(10 << 20));
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    for args in [&["status", "--all"][..], &["explain", "agent:main:telegram:direct:1001"], &["doctor"]] {
        let (o, _) = bounded(&fx, args);
        assert!(o.code < 100, "{args:?} crashed: {}", &o.stderr[..o.stderr.len().min(500)]);
        assert!(o.stdout.len() < 100_000, "{args:?}: {} bytes of output", o.stdout.len());
        assert!(o.stdout.lines().all(|l| l.len() < 4200), "{args:?}: a line is not bounded");
    }
}

/// A newline inside a value must not end the line it is printed on: every kind of value a chat
/// user or a state file controls (profile id, email, display name, account id, session key,
/// session label, a backup's key and file name) holds `\n` followed by a marker, and no line of
/// any text output may start with a marker. Tables keep one line per row; multi-line text
/// (a preview's diff, the report itself) keeps its lines.
#[test]
fn a_newline_inside_a_value_never_breaks_its_line() {
    use clawauth_core::json::{to_bytes, Style};
    let fx = broken_bob_with_archive(Layout::B);
    let eve = "openai-codex:eve\nFAKE-ID";
    let key = "agent:main:telegram:direct:\nFAKE-KEY";
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    let mut cred = a["profiles"]["openai-codex:alice@example.com"].clone();
    cred["email"] = serde_json::json!("eve@example.com\nFAKE-EMAIL");
    cred["displayName"] = serde_json::json!("Eve\nFAKE-NAME");
    cred["accountId"] = serde_json::json!("acct-eve\nFAKE-ACCT");
    a["profiles"][eve] = cred;
    std::fs::write(&p, to_bytes(&a, Style::AUTH_FILE)).unwrap();
    // a backup whose file name and key hold newlines, with a copy of bob
    let arch = fx.agent().join("auth-profiles.json.migrated-20260401-0000-uuid");
    let mut b = read_json(&arch);
    let bob_copy = b["profiles"][BOB].clone();
    b["profiles"]["openai-codex:bob\nFAKE-SRC"] = bob_copy;
    std::fs::write(fx.agent().join("auth-profiles.json.migrated-20260402\nFAKE-PATH"), to_bytes(&b, Style::AUTH_FILE))
        .unwrap();
    let mut v = read_json(&fx.sessions());
    let mut entry = v["agent:main:main"].clone();
    entry["sessionId"] = serde_json::json!("00000000-0000-4000-8000-0000000000ef");
    entry["label"] = serde_json::json!("Label\nFAKE-LABEL");
    entry["displayName"] = serde_json::json!("Chat\nFAKE-DISPLAY");
    entry["updatedAt"] = serde_json::json!(clawauth_fixture::REF_NOW_MS);
    v[key] = entry;
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    // journal history naming the hostile values (log, show)
    fx.ok(&["pin", key, eve, "--yes"]);
    fx.ok(&["order", "set", "openai-codex", eve, BOB, "--yes"]);

    let broken = |t: &str| t.lines().find(|l| l.trim_start().starts_with("FAKE-")).map(str::to_string);
    let dead = "http://127.0.0.1:9";
    let runs: Vec<Vec<&str>> = vec![
        vec!["status", "--all"],
        vec!["status", "--session", key],
        vec!["doctor"],
        vec!["explain", key],
        vec!["log"],
        vec!["show", "1"],
        vec!["show", "2"],
        vec!["plans"],
        vec!["unpin", key, "--dry-run"],
        vec!["profile", "rename", eve, "openai-codex:eve\nFAKE-NEW", "--dry-run"],
        vec!["restore-token", "--list", BOB],
        vec!["restore-token", "--list", eve],
        vec!["usage", "--endpoint", dead],
        vec!["usage", "--table", "--endpoint", dead],
    ];
    for args in &runs {
        let o = fx.run(args);
        assert!(o.code < 100, "{args:?} crashed: {}", o.all());
        for (what, t) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            assert!(broken(t).is_none(), "{args:?}: a value broke a line of {what}: {:?}\n{t}", broken(t));
        }
    }

    // the values are there, escaped; --json keeps them exact
    let st = fx.ok(&["status", "--all"]);
    for shown in ["eve\\nFAKE-ID", "\\nFAKE-KEY", "\\nFAKE-EMAIL"] {
        assert!(st.stdout.contains(shown), "{shown} not shown:\n{}", st.stdout);
    }
    // one table line per session, and one per profile
    let j = fx.ok(&["status", "--all", "--json"]).json();
    let agent = &j["agents"][0];
    assert!(agent["sessions"].as_array().unwrap().iter().any(|s| s["key"] == key));
    assert!(agent["profiles"].as_array().unwrap().iter().any(|p| p["id"] == eve));
    let rows_after = |header: &str| {
        let lines: Vec<&str> = st.stdout.lines().collect();
        let at = lines.iter().position(|l| l.trim_start().starts_with(header)).unwrap();
        let indent = &lines[at][..lines[at].len() - lines[at].trim_start().len()];
        lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with(indent) && !l[indent.len()..].starts_with(' ') && !l.trim().is_empty())
            .filter(|l| !l.trim_start().starts_with("MISSING:") && !l.trim_start().starts_with("* "))
            .count()
    };
    assert_eq!(rows_after("SESSION"), agent["sessions"].as_array().unwrap().len(), "{}", st.stdout);
    assert_eq!(rows_after("ID "), agent["profiles"].as_array().unwrap().len(), "{}", st.stdout);

    // multi-line blocks stay multi-line: the preview's diff keeps its hunk lines
    let pre = fx.run(&["unpin", key, "--dry-run"]);
    assert!(pre.stdout.lines().any(|l| l.starts_with("--- a/")), "{}", pre.stdout);
    assert!(pre.stdout.lines().any(|l| l.starts_with("@@ ")), "{}", pre.stdout);
    assert!(pre.stdout.contains("\\nFAKE-KEY"), "{}", pre.stdout);
    let lst = fx.ok(&["restore-token", "--list", BOB]);
    assert!(lst.stdout.contains("migrated-20260402\\nFAKE-PATH"), "{}", lst.stdout);
}
