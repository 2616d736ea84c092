//! The operator's hands (issue 22): completions, man page, colour, width, audit ergonomics
//! (`log --since/--limit/--workflow`, `undo --last`, `plans`/`discard`) and the demo.

mod common;

use clawauth_core::model::Layout;
use common::{run, Fx, Out};

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clawauth"));
    c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("COLUMNS");
    c
}

fn at(fx: &Fx, now: &str, args: &[&str]) -> Out {
    let mut c = fx.cmd(args);
    c.env("CLAWAUTH_NOW", now);
    let o = run(c);
    assert_eq!(o.code, 0, "clawauth {args:?} at {now}:\n{}", o.all());
    o
}

fn ids(o: &Out, key: &str) -> Vec<i64> {
    o.json()[key].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

/// The subcommand names `clawauth --help` lists.
fn subcommands() -> Vec<String> {
    let o = run({
        let mut c = bin();
        c.arg("--help");
        c
    });
    let mut names = vec![];
    let mut inside = false;
    for l in o.stdout.lines() {
        if l == "Commands:" {
            inside = true;
        } else if inside && l.starts_with("  ") {
            let n = l.split_whitespace().next().unwrap();
            if n != "help" {
                names.push(n.to_string());
            }
        } else if inside {
            break;
        }
    }
    assert!(names.len() > 20, "{}", o.stdout);
    names
}

#[test]
fn completions_bash_parses_and_every_shell_generates() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = run({
            let mut c = bin();
            c.args(["completions", shell]);
            c
        });
        assert_eq!(o.code, 0, "{}", o.all());
        assert!(o.stdout.contains("clawauth") && o.stdout.contains("restore-token"), "{shell}:\n{}", o.stdout);
        if shell == "bash" {
            let p = dir.path().join("clawauth.bash");
            std::fs::write(&p, &o.stdout).unwrap();
            let st = std::process::Command::new("bash").arg("-n").arg(&p).status().unwrap();
            assert!(st.success(), "bash -n rejects the completion script");
            assert!(o.stdout.contains("--state-dir") && o.stdout.contains("--color"));
        }
    }
}

#[test]
fn man_page_is_roff_naming_every_command() {
    let o = run({
        let mut c = bin();
        c.arg("man");
        c
    });
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains(".TH clawauth 1"));
    for name in subcommands() {
        assert!(o.stdout.contains(&format!(".TH clawauth-{name} 1")), "no page for {name}");
    }
    assert!(o.stdout.contains("\\-\\-state\\-dir") && o.stdout.contains("Exit codes"), "options or exit codes missing");
    // --out: one page per command
    let dir = tempfile::tempdir().unwrap();
    let o = run({
        let mut c = bin();
        c.arg("man").arg("--out").arg(dir.path());
        c
    });
    assert_eq!(o.code, 0, "{}", o.all());
    for page in ["clawauth.1", "clawauth-order-set.1", "clawauth-undo.1", "clawauth-restore-token.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|_| panic!("{page} missing"));
        assert!(text.contains(".TH"), "{page}");
    }
}

#[test]
fn help_of_every_command_has_descriptions_and_global_heading() {
    for name in subcommands() {
        let o = run({
            let mut c = bin();
            c.args([name.as_str(), "--help"]);
            c
        });
        assert_eq!(o.code, 0, "{name} --help: {}", o.all());
        assert!(o.stdout.contains("Global options:"), "{name} --help has no Global options heading");
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_and_never_in_json() {
    let fx = Fx::committed("layout-d");
    let esc = |o: &Out| o.stdout.contains('\x1b');
    let with = |args: &[&str], env: &[(&str, &str)], keep_no_color: bool| {
        let mut c = fx.cmd(args);
        if !keep_no_color {
            c.env_remove("NO_COLOR");
        }
        for (k, v) in env {
            c.env(k, v);
        }
        run(c)
    };
    let always = with(&["--color", "always", "doctor"], &[], false);
    assert!(esc(&always), "--color always must colour:\n{}", always.stdout);
    assert!(always.stdout.contains("\x1b[1m\x1b[36mINFO") || always.stdout.contains("INFO\x1b"), "{}", always.stdout);
    // colour is emphasis only: without it, the same text
    let plain = with(&["--color", "never", "doctor"], &[], false);
    assert!(!esc(&plain));
    let strip = |s: &str| {
        let mut out = String::new();
        let mut it = s.chars().peekable();
        while let Some(ch) = it.next() {
            if ch == '\x1b' {
                for c in it.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(ch);
            }
        }
        out
    };
    assert_eq!(strip(&always.stdout), plain.stdout);
    // auto: a pipe gets none, NO_COLOR wins, CLICOLOR_FORCE forces
    assert!(!esc(&with(&["status"], &[], false)), "a pipe is not a terminal");
    assert!(!esc(&with(&["status"], &[], true)), "NO_COLOR");
    assert!(esc(&with(&["status"], &[("CLICOLOR_FORCE", "1")], false)), "CLICOLOR_FORCE");
    assert!(!esc(&with(&["status"], &[("CLICOLOR_FORCE", "1")], true)), "NO_COLOR beats CLICOLOR_FORCE");
    // a preview's diff: removed lines red, added green; no colour without --color
    let o = with(&["--color", "always", "unpin", "agent:main:telegram:direct:1001", "--dry-run"], &[], false);
    assert!(o.stdout.contains("\x1b[31m-  \"authProfileOverride\""), "{}", o.stdout);
    let o = with(&["unpin", "agent:main:telegram:direct:1001", "--dry-run"], &[], false);
    assert!(!esc(&o) && o.stdout.contains("\n-  \"authProfileOverride\""), "{}", o.stdout);
    // --json never, even forced
    for cmd in ["status", "doctor", "log"] {
        let o = with(&["--color", "always", "--json", cmd], &[("CLICOLOR_FORCE", "1")], false);
        assert!(!esc(&o), "{cmd} --json has escapes");
        o.json();
    }
}

#[test]
fn colour_never_comes_from_data() {
    // a session key carrying an escape sequence: sanitized first, coloured after
    let fx = Fx::standard(Layout::B);
    let p = fx.sessions();
    let s = std::fs::read_to_string(&p).unwrap().replace("agent:main:main", "agent:main:\u{1b}[31mred");
    std::fs::write(&p, s).unwrap();
    let mut c = fx.cmd(&["--color", "always", "status", "--all"]);
    c.env_remove("NO_COLOR");
    let o = run(c);
    assert!(o.stdout.contains("agent:main:\\e[31mred"), "{}", o.stdout);
    assert!(!o.stdout.contains("\x1b[31mred"));
}

/// No line wider than `w`, except one that is a single unbreakable token (a long path or id).
fn assert_fits(text: &str, w: usize, what: &str) {
    for l in text.lines() {
        let n = l.chars().count();
        if n > w {
            assert!(!l.trim().contains(' '), "{what}: a {n}-column line at COLUMNS={w}:\n{l}");
        }
    }
}

#[test]
fn width_status_doctor_log_fit_80_and_200_columns() {
    for name in ["layout-a", "layout-b", "layout-d", "layout-d-router", "demo"] {
        let fx = Fx::committed(name);
        // a transaction or two for log, with a long summary
        fx.ok(&["pin", "agent:main:telegram:direct:1001", "openai:alice@example.com", "--yes"]);
        fx.ok(&["undo", "--last", "--yes"]);
        for w in [80usize, 200] {
            for args in [&["status", "--all"][..], &["doctor"], &["log"], &["explain", "agent:main:main"]] {
                let mut c = fx.cmd(args);
                c.env("COLUMNS", w.to_string());
                let o = run(c);
                assert!(o.code == 0 || o.code == 4, "{name} {args:?}: {}", o.all());
                assert_fits(&o.stdout, w, &format!("{name} {args:?}"));
            }
        }
        // a table narrows its columns (one line per row, cut cells end in …) before it wraps
        let mut c = fx.cmd(&["status", "--all"]);
        c.env("COLUMNS", "120");
        let o = run(c);
        let lines: Vec<&str> = o.stdout.lines().collect();
        let at = lines.iter().position(|l| l.trim_start().starts_with("profiles (")).unwrap();
        let n: usize = lines[at].trim().trim_start_matches("profiles (").trim_end_matches("):").parse().unwrap();
        let table = &lines[at + 1..at + 2 + n];
        assert!(
            table[0].trim_start().starts_with("ID ") && table.iter().all(|l| l.chars().count() <= 120),
            "{name}:\n{}",
            o.stdout
        );
        assert!(
            lines[at + 2 + n].trim_start().starts_with("sessions:") || lines[at + 2 + n].trim().is_empty(),
            "{name}: rows wrapped:\n{}",
            o.stdout
        );
        // a pipe without COLUMNS keeps whole lines (scripts that grep keep working)
        let o = fx.ok(&["status", "--all"]);
        assert!(o.stdout.lines().any(|l| l.chars().count() > 100), "{name}: unwrapped output expected");
    }
}

#[test]
fn log_since_limit_and_workflow_select_transactions() {
    let fx = Fx::standard(Layout::B);
    let chat = "agent:main:telegram:direct:1001";
    at(&fx, "2026-05-01T09:00:00Z", &["pin", chat, "openai-codex:alice@example.com", "--yes"]); // 1
    at(&fx, "2026-05-01T10:00:00Z", &["unpin", chat, "--yes"]); // 2
    at(&fx, "2026-05-01T11:00:00Z", &["pin", chat, "openai-codex:bob@example.com", "--yes"]); // 3
    at(&fx, "2026-05-01T12:00:00Z", &["order", "clear", "openai-codex", "--yes"]); // 4
    let log = |extra: &[&str]| {
        let mut args = vec!["--json", "log"];
        args.extend_from_slice(extra);
        ids(&at(&fx, "2026-05-01T12:05:00Z", &args), "transactions")
    };
    assert_eq!(log(&[]), [4, 3, 2, 1]);
    assert_eq!(log(&["--since", "90m"]), [4, 3]);
    assert_eq!(log(&["--since", "3h"]), [4, 3, 2]);
    assert_eq!(log(&["--since", "1d"]), [4, 3, 2, 1]);
    assert_eq!(log(&["--since", "2026-05-01T10:00:00Z"]), [4, 3, 2]);
    assert_eq!(log(&["--since", "2026-05-01T11:30:00+00:00"]), [4]);
    assert_eq!(log(&["--limit", "2"]), [4, 3]);
    assert_eq!(log(&["--workflow", "pin"]), [3, 1]);
    assert_eq!(log(&["--workflow", "pin", "--limit", "1"]), [3]);
    assert_eq!(log(&["--workflow", "order clear", "--since", "5m"]), [4]);
    assert_eq!(log(&["--since", "1m"]), Vec::<i64>::new());
    let o = fx.run(&["log", "--since", "yesterday"]);
    assert_eq!(o.code, 2, "{}", o.all());
    assert!(o.stderr.contains("--since takes"), "{}", o.stderr);
    let text = at(&fx, "2026-05-01T12:05:00Z", &["log", "--workflow", "unpin"]).stdout;
    assert!(text.contains("unpin") && !text.contains("order clear"), "{text}");
}

#[test]
fn undo_last_walks_back_through_applied_repairs() {
    let fx = Fx::standard(Layout::B);
    let start = fx.hash();
    let chat = "agent:main:telegram:direct:1001";
    fx.ok(&["pin", chat, "openai-codex:alice@example.com", "--yes"]); // 1
    let after_1 = fx.hash();
    fx.ok(&["order", "clear", "openai-codex", "--yes"]); // 2
    let o = fx.ok(&["--json", "undo", "--last", "--yes"]); // 3 reverts 2
    assert_eq!(o.json()["txn"], 3);
    assert_eq!(fx.hash(), after_1, "undo --last must undo the order clear");
    let o = fx.ok(&["--json", "undo", "--last", "--yes"]); // 4 reverts 1, not the undo 3
    assert_eq!(o.json()["txn"], 4);
    assert_eq!(fx.hash(), start);
    let log = fx.ok(&["--json", "log"]).json();
    let reverts: Vec<_> = log["transactions"].as_array().unwrap().iter().map(|t| t["reverts_txn"].clone()).collect();
    assert_eq!(reverts, [serde_json::json!(1), serde_json::json!(2), serde_json::Value::Null, serde_json::Value::Null]);
    let o = fx.run(&["undo", "--last", "--yes"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("no applied transaction left to undo"), "{}", o.stderr);
    // a dry run of undo --last is a planned undo
    fx.ok(&["pin", chat, "openai-codex:alice-team", "--yes"]); // 5
    let o = fx.ok(&["--json", "undo", "--last", "--dry-run"]); // 6 planned
    assert_eq!(o.json()["outcome"], "planned");
}

#[test]
fn plans_lists_planned_transactions_and_discard_retires_them() {
    let fx = Fx::standard(Layout::B);
    let chat = "agent:main:telegram:direct:1001";
    fx.ok(&["pin", chat, "openai-codex:alice@example.com", "--dry-run"]); // 1
    fx.ok(&["order", "clear", "openai-codex", "--dry-run"]); // 2
    let o = fx.ok(&["--json", "plans"]).json();
    assert_eq!(o["plans"].as_array().unwrap().iter().map(|p| p["stale"].clone()).collect::<Vec<_>>(), [false, false]);
    // the chat moves on: plan 1 now expects a pin that is gone
    fx.ok(&["pin", chat, "openai-codex:alice-team", "--yes"]); // 3
    let o = fx.ok(&["--json", "plans"]).json();
    let plans = o["plans"].as_array().unwrap();
    assert_eq!(plans.iter().map(|p| p["id"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(plans[0]["stale"], true, "{o}");
    assert_eq!(plans[1]["stale"], false, "{o}");
    let text = fx.ok(&["plans"]).stdout;
    assert!(text.contains("stale") && text.contains("current") && text.contains("2 planned, 1 stale"), "{text}");
    let o = fx.ok(&["discard", "1"]);
    assert!(o.stdout.contains("Discarded planned transaction(s) 1"), "{}", o.stdout);
    assert_eq!(ids(&fx.ok(&["--json", "plans"]), "plans"), [2]);
    // recorded: log shows it, with who and when
    let log = fx.ok(&["--json", "log"]).json();
    let t1 = log["transactions"].as_array().unwrap().iter().find(|t| t["id"] == 1).unwrap().clone();
    assert_eq!(t1["discarded"], true);
    assert!(t1["error"].as_str().unwrap().starts_with("discarded by tester@testhost at "), "{t1}");
    assert!(fx.ok(&["log"]).stdout.lines().any(|l| l.starts_with("1 ") && l.contains("discarded")));
    // a discarded plan can never be applied; only planned transactions can be discarded
    let before = fx.hash();
    let o = fx.run(&["apply", "1", "--yes"]);
    assert_eq!(o.code, 3, "a lost claim: {}", o.all());
    assert!(o.stderr.contains("transaction 1 is rolled back, not planned"), "{}", o.stderr);
    assert_eq!(fx.hash(), before);
    let o = fx.run(&["discard", "3"]);
    assert_eq!(o.code, 1, "{}", o.all());
    assert!(o.stderr.contains("is applied, not planned"), "{}", o.stderr);
    let o = fx.run(&["discard", "1"]);
    assert!(o.stderr.contains("already discarded"), "{}", o.stderr);
    fx.ok(&["discard", "--all"]);
    assert_eq!(ids(&fx.ok(&["--json", "plans"]), "plans"), Vec::<i64>::new());
}

#[test]
fn demo_tells_the_story_on_layout_d_in_under_100_columns() {
    let mut c = bin();
    c.arg("demo");
    let o = run(c);
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(o.stdout.contains("layout D (2026.8.1 – 2026.9.6"), "{}", o.stdout);
    for step in ["$ clawauth explain", "--dry-run", "$ clawauth apply 1 --yes", "$ clawauth undo --last --yes"] {
        assert!(o.stdout.contains(step), "{step} missing:\n{}", o.stdout);
    }
    assert!(o.stdout.contains("source user") && o.stdout.contains("4 session pin          none"), "{}", o.stdout);
    assert!(o.stdout.contains("are as they were at the start"), "{}", o.stdout);
    for l in o.stdout.lines() {
        // a diff header names one whole location: it may not be cut
        if l.chars().count() >= 100 {
            assert!(l.starts_with("--- ") || l.starts_with("+++ ") || !l.trim().contains(' '), "too wide:\n{l}");
        }
    }
    for layout in ["a", "b", "c", "d", "router"] {
        let mut c = bin();
        c.args(["demo", "--layout", layout]);
        let o = run(c);
        assert_eq!(o.code, 0, "{layout}: {}", o.all());
        assert!(o.stdout.contains("# after apply and undo,"), "{layout}: {}", o.stdout);
    }
}

#[test]
fn install_builds_one_binary_without_debug_info() {
    // what `cargo install --path cli --locked` installs: the package's bin targets
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pkg = meta["packages"].as_array().unwrap().iter().find(|p| p["name"] == "clawauth").unwrap();
    let bins: Vec<&str> = pkg["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(bins, ["clawauth"], "cargo install --path cli installs exactly one binary");
    assert_eq!(pkg["manifest_path"].as_str().map(|p| p.ends_with("cli/Cargo.toml")), Some(true));
    for d in pkg["dependencies"].as_array().unwrap() {
        if d["name"] == "clawauth-fixture" {
            assert_eq!(d["kind"], "dev", "the fixture builder must stay a dev-dependency");
        }
    }
    // the release profile has no debug info; the profiling profile keeps it
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let section = |name: &str| {
        let start = manifest.find(&format!("[profile.{name}]")).unwrap_or_else(|| panic!("no [profile.{name}]"));
        let rest = &manifest[start + 1..];
        rest[..rest.find("\n[").unwrap_or(rest.len())].to_string()
    };
    let release = section("release");
    assert!(release.contains("debug = false") && release.contains("strip = \"debuginfo\""), "{release}");
    let profiling = section("profiling");
    assert!(profiling.contains("inherits = \"release\"") && profiling.contains("debug = 1"), "{profiling}");
}
