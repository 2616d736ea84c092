//! The `cargo fuzz` properties (fuzz/checks.rs) as a bounded, seeded randomized test for CI:
//! each target runs on its committed corpus seeds (fuzz/corpus/<target>), on mutations of them
//! and on fresh random bytes, for a fixed number of iterations (or a time cap) with a fixed seed,
//! so a failure reproduces. `CLAWAUTH_FUZZ_ITERS` and `CLAWAUTH_FUZZ_SEED` override.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;
use std::time::{Duration, Instant};

use clawauth_fixture::Rng;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.into_iter().map(|x| x.1).collect()
}

const DICT: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b":",
    b",",
    b"null",
    b"1e999",
    b"-0",
    b"\xEF\xBB\xBF",
    b"\xff",
    b"\\u0000",
    b"\"updatedAt\":",
    b"\"authProfileOverride\":\"p\"",
    b"[[[[[[[[",
    b"]]]]",
];

/// One libFuzzer-style mutation: flip, insert, delete, splice a token, truncate or duplicate.
fn mutate(r: &mut Rng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + r.below(4) {
        let at = r.below(b.len() + 1);
        match r.below(6) {
            0 if !b.is_empty() => {
                let i = r.below(b.len());
                b[i] ^= 1 << r.below(8);
            }
            1 => b.insert(at, r.next() as u8),
            2 if at < b.len() => {
                b.remove(at);
            }
            3 => {
                let t = DICT[r.below(DICT.len())];
                b.splice(at..at, t.iter().copied());
            }
            4 => b.truncate(at),
            _ if !b.is_empty() => {
                let s = r.below(b.len());
                let e = (s + r.below(64)).min(b.len());
                let piece = b[s..e].to_vec();
                b.splice(at..at, piece);
            }
            _ => {}
        }
    }
    b
}

fn run(target: &str, check: fn(&[u8]), default_iters: u64, cap: Duration) -> u64 {
    let iters: u64 = std::env::var("CLAWAUTH_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_iters);
    let seed: u64 = std::env::var("CLAWAUTH_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_c1a5);
    let mut r = Rng(seed ^ target.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let corpus = seeds(target);
    let t0 = Instant::now();
    let mut n = 0;
    for s in &corpus {
        check(s);
        n += 1;
    }
    while n < iters && t0.elapsed() < cap {
        let input = match r.below(3) {
            0 if !corpus.is_empty() => {
                let base = corpus[r.below(corpus.len())].clone();
                mutate(&mut r, base)
            }
            1 => (0..r.below(256)).map(|_| r.next() as u8).collect(),
            _ => (0..r.below(64)).map(|_| r.next() as u8).collect(),
        };
        if let Err(e) = std::panic::catch_unwind(|| check(&input)) {
            let dir = std::env::temp_dir().join(format!("clawauth-fuzz-{target}"));
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join(format!("crash-{n}"));
            std::fs::write(&p, &input).unwrap();
            std::panic::resume_unwind(Box::new(format!("{target}: input saved at {} ({e:?})", p.display())));
        }
        n += 1;
    }
    println!(
        "fuzz_like {target}: {n} inputs (seed {seed:#x}, {} corpus seeds) in {:.1}s",
        corpus.len(),
        t0.elapsed().as_secs_f64()
    );
    n
}

#[test]
fn fuzz_like_json_loaders() {
    run("loaders", checks::check_loaders, 40_000, Duration::from_secs(5));
}

#[test]
fn fuzz_like_sessions_file() {
    run("sessions_file", checks::check_sessions_file, 3_000, Duration::from_secs(4));
}

#[test]
fn fuzz_like_plan_apply() {
    run("plan_apply", checks::check_plan_apply, 20_000, Duration::from_secs(5));
}

#[test]
fn fuzz_like_jwt() {
    run("jwt", checks::check_jwt, 20_000, Duration::from_secs(4));
}

#[test]
fn fuzz_like_sanitize() {
    run("sanitize", checks::check_sanitize, 20_000, Duration::from_secs(4));
}

#[test]
fn fuzz_like_duplicates() {
    run("duplicates", checks::check_duplicates, 20_000, Duration::from_secs(4));
}

/// The hostile inputs of issue 17 that are not byte strings, as fixed regression cases: special
/// files in a state file's place are refused by the one reader, naming what they are, without
/// blocking or reading them; a huge label or key goes through the loaders and the sanitizer in
/// bounded output.
#[test]
fn hostile_files_and_huge_values() {
    use clawauth_core::layout::store;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("auth-profiles.json");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(d.join("openclaw.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("auth-state.json")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.json", d.join("dangling.json")).unwrap();
    std::os::unix::fs::symlink("loop.json", d.join("loop.json")).unwrap();
    let big = d.join("codex-oauth-profiles.json");
    std::fs::File::create(&big).unwrap().set_len(store::SMALL_CAP + 1).unwrap();
    let sessions = d.join("sessions.json");
    std::fs::File::create(&sessions).unwrap().set_len(store::SESSIONS_CAP + 1).unwrap();
    let t0 = Instant::now();
    for (name, says) in [
        ("auth-profiles.json", "named pipe (FIFO)"),
        ("openclaw.json", "is a directory"),
        ("auth-state.json", "character device"),
        ("dangling.json", "dangling symbolic link"),
        ("loop.json", "symbolic link loop"),
        ("codex-oauth-profiles.json", &format!("more than the {} bytes", store::SMALL_CAP)),
        ("sessions.json", &format!("more than the {} bytes", store::SESSIONS_CAP)),
    ] {
        let e = store::read_file(&d.join(name)).expect_err(name).to_string();
        assert!(e.contains(name) && e.contains(says), "{name}: {e}");
    }
    for name in ["dangling.json", "loop.json"] {
        assert!(store::present(&d.join(name)).is_err(), "{name} taken for absent");
    }
    assert!(t0.elapsed() < Duration::from_secs(2), "the special files took {:?}", t0.elapsed());

    // a 10 MiB label and a 1 MiB key full of escapes and newlines
    let label = "\u{1b}]0;x\u{7}\n".repeat(1 << 20);
    let entry = serde_json::json!({"updatedAt": 1, "label": label, "authProfileOverride": "p\nq"});
    let bytes = serde_json::to_vec(&entry).unwrap();
    checks::check_loaders(&bytes);
    let s = clawauth_core::layout::sessions::summarize("k\n".repeat(1 << 19).as_str(), &bytes).unwrap();
    assert_eq!(s.pin.as_deref(), Some("p\nq"));
    let v = clawauth_core::sanitize::value(&label, 200);
    assert!(v.len() < 2_100 && !v.contains('\n'), "{} bytes", v.len());
}
