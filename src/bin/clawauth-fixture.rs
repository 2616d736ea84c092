//! Writes fixture state dirs with fake credentials (see `clawauth::fixture`). Used to
//! (re)generate `fixtures/` and by the conformance suite; never touches a real install.

use clawauth::fixture::{self, Scenario};
use clawauth::model::Layout;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out: Option<PathBuf> = None;
    let mut layout = Layout::B;
    let mut router = false;
    let mut broken: Option<String> = None;
    let mut now = fixture::REF_NOW_MS;
    let mut bulk = 0usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--layout" => {
                layout = match it.next().map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("a") => Layout::A,
                    Some("b") => Layout::B,
                    other => {
                        usage(&format!("--layout takes a or b (SQLite layouts come from real OpenClaw), got {other:?}"))
                    }
                }
            }
            "--router" => router = true,
            "--sessions" => {
                bulk = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage("--sessions takes a number"))
            }
            "--broken" => broken = it.next().cloned(),
            "--now" => {
                now = match it.next().map(String::as_str) {
                    Some("real") => chrono::Utc::now().timestamp_millis(),
                    Some(s) => clawauth::context::parse_time_ms(s)
                        .unwrap_or_else(|| usage("--now takes epoch ms, RFC 3339 or 'real'")),
                    None => usage("--now needs a value"),
                }
            }
            "-h" | "--help" => usage(""),
            s if !s.starts_with('-') && out.is_none() => out = Some(PathBuf::from(s)),
            s => usage(&format!("unknown argument {s}")),
        }
    }
    let out = out.unwrap_or_else(|| usage("missing OUT_DIR"));
    let res = match &broken {
        Some(case) if fixture::BROKEN_CASES.contains(&case.as_str()) => fixture::write_broken(&out, case, now),
        Some(case) => usage(&format!("unknown broken case {case}; known: {}", fixture::BROKEN_CASES.join(", "))),
        None => {
            let sc = Scenario::standard(now);
            let sc = if router { sc.with_router() } else { sc };
            let sc = if bulk > 0 { sc.with_bulk_sessions(bulk) } else { sc };
            sc.write(&out, layout)
        }
    };
    if let Err(e) = res {
        eprintln!("error: {}: {e}", out.display());
        std::process::exit(1);
    }
}

fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("error: {msg}");
    }
    eprintln!("usage: clawauth-fixture OUT_DIR [--layout a|b] [--router] [--sessions N] [--broken CASE] [--now MS|RFC3339|real]");
    std::process::exit(2)
}
