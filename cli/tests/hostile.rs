//! Hostile state files: special files in a state file's place (a FIFO, `/dev/zero`, a
//! directory), files larger than clawauth reads, and broken symlinks where a file decides the
//! layout. Every command must end quickly in bounded memory with an error naming the file and
//! what it is, and nothing may be written (the journal included). Then hostile values (escape
//! sequences, newlines, a 10 MiB label) in every field, through text output and errors. Every
//! run here must stay under 256 MiB peak memory and 5 s of CPU time (the issue's bounds, as the
//! kernel measures them for the child: a loaded CI machine stretches wall time, not work); it is
//! killed after 30 s of wall time, so a regression shows as a failed bound or a hang verdict
//! instead of a machine that swaps.

mod common;
use common::*;

use clawauth_core::model::Layout;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

const BOB: &str = "openai-codex:bob@example.com";
/// The memory a hostile input may cost at most (the issue's bound), measured as peak RSS.
const PEAK_RSS: u64 = 256 << 20;
/// The CPU time (user + system) a hostile input may cost at most (the issue's bound).
const CPU: Duration = Duration::from_secs(5);
/// A run still going after this much wall time is a hang (a FIFO read, a lock wait).
const WATCHDOG: Duration = Duration::from_secs(30);
/// A guard against runaway allocation, not the bound itself (address space exceeds RSS).
const LIMIT_AS: u64 = 2 << 30;
/// The most CPU time (ms), the slowest wall time (ms) and the highest peak memory (bytes) of
/// every bounded run so far, and how many runs there were, for the figures printed with
/// `--nocapture`.
static CPU_MS: AtomicU64 = AtomicU64::new(0);
static SLOWEST_MS: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
static RUNS: AtomicU64 = AtomicU64::new(0);

fn figures(what: &str) {
    println!(
        "{what}: of {} bounded runs so far, most CPU time {} ms, slowest {} ms, highest peak {} MiB \
         (bounds: {} s CPU, {} MiB)",
        RUNS.load(Relaxed),
        CPU_MS.load(Relaxed),
        SLOWEST_MS.load(Relaxed),
        PEAK.load(Relaxed) >> 20,
        CPU.as_secs(),
        PEAK_RSS >> 20
    );
}

/// Run clawauth under `bounded_rss` and hold it to the issue's bounds: peak memory and CPU time.
fn bounded(fx: &Fx, args: &[&str]) -> (Out, Duration) {
    let (o, t, rss, cpu) = bounded_rss(fx, args);
    assert!(rss < PEAK_RSS, "clawauth {args:?}: peak memory {} MiB on a hostile input", rss >> 20);
    assert!(cpu < CPU, "clawauth {args:?}: {cpu:?} of CPU time ({t:?} wall) on a hostile input");
    CPU_MS.fetch_max(cpu.as_millis() as u64, Relaxed);
    SLOWEST_MS.fetch_max(t.as_millis() as u64, Relaxed);
    PEAK.fetch_max(rss, Relaxed);
    RUNS.fetch_add(1, Relaxed);
    (o, t)
}

/// Run clawauth with a wall-clock watchdog and a generous address-space guard (a runaway
/// allocation ends the run instead of swapping the machine); returns the output, the wall time,
/// the peak resident memory (`ru_maxrss`, bytes) and the CPU time the kernel measured.
// reaped by `wait4` below, which std's `Child` cannot see
#[allow(clippy::zombie_processes)]
fn bounded_rss(fx: &Fx, args: &[&str]) -> (Out, Duration, u64, Duration) {
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
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("clawauth {args:?} hung on a hostile input (killed after {WATCHDOG:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    let o = Out { code, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    (o, start.elapsed(), ru.ru_maxrss as u64 * 1024, tv(ru.ru_utime) + tv(ru.ru_stime))
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
    figures("special_and_oversized_files_are_refused_quickly_naming_the_file");
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
    let st = bounded(&fx, &["status"]).0;
    assert_eq!(st.code, 0, "{}", st.all());
    assert!(st.all().contains("appears twice"), "{}", st.all());
    for args in [
        &["pin", "agent:main:main", BOB, "--yes"][..],
        &["order", "set", "openai-codex", BOB, "--yes"],
        &["profile", "rename", BOB, "openai-codex:robert@example.com", "--yes"],
        &["cooldown", "clear", "--all", "--yes"],
    ] {
        let o = bounded(&fx, args).0;
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
    let o = bounded(&fx, &["pin", "agent:main:main", BOB, "--yes"]).0;
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(
        o.stderr.contains("sessions.json") && o.stderr.contains("\"agent:main:main\" appears twice"),
        "{}",
        o.stderr
    );
    assert_eq!(before, tree_hash(&fx.state, &[".clawauth/journal.db-shm"]));
    figures("a_key_given_twice_is_read_as_openclaw_does_and_refused_for_writing");
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
    let pin = bounded(&fx, &["pin", evil, BOB, "--yes"]).0;
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
        let o = bounded(&fx, args).0;
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
    figures("escape_sequences_in_state_never_reach_the_terminal");
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
    figures("a_huge_label_does_not_become_huge_output");
}

/// Every row of a table is padded to its widest cell: one 1 MiB session key among 300 sessions
/// made `status --all` build 650 MB of padding in 11 s. A cell is shortened instead.
#[test]
fn a_huge_session_key_does_not_pad_every_row() {
    let fx = base();
    let mut v = read_json(&fx.sessions());
    let entry = v["agent:main:main"].clone();
    for i in 0..300 {
        let mut e = entry.clone();
        e["sessionId"] = serde_json::json!(format!("00000000-0000-4000-8000-{:012}", 1000 + i));
        v[format!("agent:main:telegram:direct:{}", 5000 + i)] = e;
    }
    let mut e = entry.clone();
    e["sessionId"] = serde_json::json!("00000000-0000-4000-8000-0000000009ff");
    let huge = format!("agent:main:telegram:direct:{}", "K".repeat(1 << 20));
    v[huge.as_str()] = e;
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    // (a key of 1 MiB is too long for a command line: explain reads it through another session)
    for args in [&["status", "--all"][..], &["doctor"], &["explain", "agent:main:telegram:direct:5000"]] {
        let (o, _) = bounded(&fx, args);
        assert!(o.code < 100, "{args:?} crashed: {}", &o.stderr[..o.stderr.len().min(500)]);
        assert!(o.stdout.len() < 1_000_000, "{args:?}: {} bytes of output", o.stdout.len());
        assert!(o.stdout.lines().all(|l| l.len() < 4200), "{args:?}: a line is not bounded");
    }
    let st = bounded(&fx, &["status", "--all"]).0;
    assert!(st.stdout.contains(&format!("…({} bytes)", huge.len())), "the shortened key says its length");
    figures("a_huge_session_key_does_not_pad_every_row");
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
        let o = bounded(&fx, args).0;
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
    figures("a_newline_inside_a_value_never_breaks_its_line");
}

/// Errors interpolate values from state, the journal and the command line: a profile id, a
/// session key, an agent's directory, a duplicated key, the values an undo finds changed. A
/// newline, a carriage return or an escape sequence inside one must not forge a line of the
/// error (a fake `hint:`) or drive the terminal: every line of stderr is one clawauth wrote
/// (`error:`, an indented detail, `caused by:`, `hint:`, `note:`, `warning:`), the value is
/// shown escaped, and `--json` carries it exactly.
#[test]
fn hostile_values_in_errors_never_forge_a_line() {
    use clawauth_core::json::{to_bytes, Style};
    let fx = base();
    // in state: a profile id, a session key, an agent's directory, a key given twice
    let eve = "openai-codex:eve\nhint: FAKE-ID\r\u{1b}[2J\u{202e}";
    let key = "agent:main:telegram:direct:\nerror: FAKE-KEY\u{1b}]0;title\u{7}";
    let agent = "ev\nfake-agent\u{1b}[2j";
    let p = fx.agent().join("auth-profiles.json");
    let mut a = read_json(&p);
    a["profiles"][eve] = a["profiles"]["openai-codex:alice@example.com"].clone();
    std::fs::write(&p, to_bytes(&a, Style::AUTH_FILE)).unwrap();
    let mut v = read_json(&fx.sessions());
    let mut entry = v["agent:main:main"].clone();
    entry["sessionId"] = serde_json::json!("00000000-0000-4000-8000-0000000000ed");
    v[key] = entry;
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let dir = fx.state.join("agents").join(agent).join("agent");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("auth-profiles.json"), "{not json").unwrap();
    // in the journal: a pin of the hostile key to the hostile profile (txn 3), and a plan (4)
    fx.ok(&["pin", key, eve, "--yes"]);
    fx.ok(&["pin", key, BOB, "--dry-run"]);
    // then someone else changes that session: the undo and the plan find a journal value gone
    let mut v = read_json(&fx.sessions());
    v[key]["authProfileOverride"] = serde_json::json!("openai-codex:alice@example.com");
    std::fs::write(fx.sessions(), serde_json::to_string_pretty(&v).unwrap()).unwrap();

    let own = ["error: ", "  ", "caused by: ", "hint: ", "note: ", "warning: "];
    // every value's text follows its own escaped newline on the same line
    let forged = |t: &str| {
        t.lines()
            .find(|l| {
                !own.iter().any(|o| l.starts_with(o)) || l.find("FAKE").is_some_and(|at| !l[..at].contains("\\n"))
            })
            .map(str::to_string)
    };
    let control = |t: &str| t.chars().find(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c));
    let nobody = "openai-codex:nobody\nhint: FAKE-ARG\r";
    let no_key = "agent:main:nope\nhint: FAKE-SESSION\u{1b}[2J";
    let cases: Vec<(&str, Vec<&str>, &[&str])> = vec![
        (
            "unknown profile id",
            vec!["pin", "agent:main:main", nobody, "--yes"],
            &["nobody\\nhint: FAKE-ARG\\r", "eve\\nhint: FAKE-ID\\r\\e[2J\\u{202e}"],
        ),
        ("unknown profile id (remove)", vec!["profile", "remove", nobody, "--yes"], &["nobody\\nhint: FAKE-ARG\\r"]),
        ("unknown session key", vec!["pin", no_key, BOB, "--yes"], &["nope\\nhint: FAKE-SESSION\\e[2J"]),
        ("unknown session key (explain)", vec!["explain", no_key], &["nope\\nhint: FAKE-SESSION\\e[2J"]),
        ("a profile id taken", vec!["profile", "rename", BOB, eve, "--yes"], &["eve\\nhint: FAKE-ID"]),
        (
            "a file in a hostile directory",
            vec!["order", "set", "openai-codex", BOB, "--agent", agent, "--yes"],
            &["agents/ev\\nfake-agent\\e[2j/agent/auth-profiles.json: is not valid JSON"],
        ),
        (
            "undo: journal values changed since",
            vec!["undo", "3", "--yes"],
            &["direct:\\nerror: FAKE-KEY\\e]0;title\\u{7}/authProfileOverride"],
        ),
        ("apply: a stale plan", vec!["apply", "4", "--yes"], &["direct:\\nerror: FAKE-KEY\\e]0;title\\u{7}"]),
    ];
    for (what, args, shown) in &cases {
        let o = bounded(&fx, args).0;
        assert!((1..100).contains(&o.code), "{what}: {args:?} exit {}:\n{}", o.code, o.all());
        assert!(o.stderr.starts_with("error: "), "{what}: {:?}", o.stderr);
        assert_eq!(control(&o.stderr), None, "{what}: a control character on stderr: {:?}", o.stderr);
        assert_eq!(forged(&o.stderr), None, "{what}: a line clawauth did not write: {:?}", o.stderr);
        for s in *shown {
            assert!(o.stderr.contains(s), "{what}: {s:?} not shown escaped in {:?}", o.stderr);
        }
        // --json: the exact value in the message, the same single-line text on stderr
        let mut ja = args.clone();
        ja.push("--json");
        let j = fx.run(&ja);
        assert_eq!(j.code, o.code, "{what}: --json exit");
        assert_eq!(j.stderr, o.stderr, "{what}: --json changed the text error");
        let msg = j.json()["error"]["message"].as_str().unwrap().to_string();
        let raw = [nobody, no_key, eve, key, agent];
        assert!(raw.iter().any(|r| msg.contains(r)), "{what}: no exact value in the JSON message {msg:?}");
    }
    // an undo's conflicts are details: each on a line of its own below the headline
    let o = fx.run(&["undo", "3", "--yes"]);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines[0], "error: cannot undo transaction 3; changed since:", "{}", o.stderr);
    assert!(
        lines[1].starts_with("  agents/main/sessions/sessions.json /agent:main:telegram:direct:\\n"),
        "{}",
        o.stderr
    );
    assert!(lines[2].starts_with("hint: pass --force"), "{}", o.stderr);
    let j = fx.run(&["undo", "3", "--yes", "--json"]).json();
    let msg = j["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("cannot undo transaction 3; changed since:\n  agents/main/sessions/sessions.json /"),
        "{msg}"
    );
    assert!(msg.contains(key), "{msg}");
    // a key given twice, named with a newline: still one line
    let fx = base();
    let p = fx.agent().join("auth-profiles.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let dup = "openai-codex:dup\nhint: FAKE-DUP\u{1b}[2J";
    let d = serde_json::to_string(dup).unwrap();
    let doubled = text.replacen(
        "\"profiles\": {",
        &format!("\"profiles\": {{\n    {d}: {{\"type\": \"oauth\"}},\n    {d}: {{\"type\": \"oauth\"}},"),
        1,
    );
    std::fs::write(&p, doubled).unwrap();
    let o = bounded(&fx, &["pin", "agent:main:main", BOB, "--yes"]).0;
    assert_eq!(o.code, 1, "{}", o.all());
    assert_eq!(control(&o.stderr), None, "duplicate key: {:?}", o.stderr);
    assert_eq!(forged(&o.stderr), None, "duplicate key: {:?}", o.stderr);
    assert!(o.stderr.contains("dup\\nhint: FAKE-DUP") && o.stderr.contains("appears twice"), "{:?}", o.stderr);
    figures("hostile_values_in_errors_never_forge_a_line");
}
