//! `clawauth demo [--layout a|b|c|d|router]`: an embedded sample state (a `fixtures/` dir,
//! compiled in) copied to a temp dir, and a story told on it in under 100 columns: a chat on
//! another account than the order says, why, the fix as a transaction, and its undo.

use crate::args::{Cli, DemoLayout, Global, StatusArgs};
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

type Files = &'static [(&'static str, &'static [u8])];

macro_rules! embed {
    ($dir:literal: $($rel:literal),+ $(,)?) => {
        &[$(($rel, include_bytes!(concat!("../../../fixtures/", $dir, "/", $rel)) as &[u8])),+]
    };
}

const SESSIONS: &str = "agents/main/sessions/sessions.json";

/// (relative path, contents) of each sample state. Only what the story reads: the SQLite
/// samples leave out OpenClaw's migration archives.
pub fn files(layout: DemoLayout) -> Files {
    match layout {
        DemoLayout::A => {
            embed!("layout-a": "agents/main/agent/auth-profiles.json", "agents/main/sessions/sessions.json")
        }
        DemoLayout::B => embed!("layout-b":
            "agents/main/agent/auth-profiles.json",
            "agents/main/agent/auth-state.json",
            "agents/main/sessions/sessions.json",
        ),
        DemoLayout::C => embed!("layout-c":
            "agents/main/agent/openclaw-agent.sqlite",
            "agents/main/sessions/sessions.json",
            "openclaw.json",
            "state/openclaw.sqlite",
        ),
        DemoLayout::D => embed!("layout-d":
            "agents/main/agent/openclaw-agent.sqlite",
            "openclaw.json",
            "state/openclaw.sqlite",
        ),
        DemoLayout::Router => embed!("demo":
            "agents/main/agent/auth-profiles.json",
            "agents/main/agent/auth-state.json",
            "agents/main/sessions/sessions.json",
            "codex-oauth-profiles.json",
            "codex_profile_id",
        ),
    }
}

fn describe(layout: DemoLayout) -> &'static str {
    match layout {
        DemoLayout::A => "layout A (OpenClaw up to 2026.4.5: one auth-profiles.json)",
        DemoLayout::B => "layout B (2026.4.7 – 2026.6.1: auth-profiles.json + auth-state.json)",
        DemoLayout::C => "layout C (2026.6.5 – 2026.7.x: per-agent SQLite)",
        DemoLayout::D => "layout D (2026.8.1 – 2026.9.6: state/openclaw.sqlite, today's layout)",
        DemoLayout::Router => "layout B with an external router (repo identities, an active slot)",
    }
}

/// The sample's clock: five minutes after the fixtures' reference time (`REF_NOW_MS` of
/// `clawauth-fixture`, 2026-05-01T12:00:00Z; a test checks they agree).
pub const DEMO_NOW_MS: i64 = 1_777_636_800_000 + 5 * 60_000;

/// The width the story is told in when the terminal gives none (a pipe, a file).
pub const DEMO_WIDTH: usize = 99;

pub fn materialize(dir: &Path, layout: DemoLayout) -> Result<()> {
    for (rel, bytes) in files(layout) {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

const CHAT: &str = "agent:main:telegram:direct:1001";

pub fn run(g: &Global, ctx: &Context, layout: DemoLayout) -> Result<i32> {
    let tmp =
        tempfile::Builder::new().prefix("clawauth-demo-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let state_dir = tmp.path().join("openclaw");
    materialize(&state_dir, layout)?;
    let mut ctx = ctx.clone();
    ctx.now_ms = DEMO_NOW_MS;
    let g = Global { state_dir: Some(state_dir.clone()), ..g.clone() };
    if g.json {
        return super::cmd_status(&g, &StatusArgs { session: None, all: false, limit: 10 }, &ctx);
    }
    let say = |s: &str| crate::output::print_line(s);
    say(&format!("clawauth demo: a sample OpenClaw state, {}", describe(layout)));
    say(&format!(
        "with three Codex logins, copied to a temp dir; the clock is pinned to the sample's time, {}.",
        ctx.now_rfc3339()
    ));
    say("Other layouts: clawauth demo --layout a|b|c|d|router.");
    let before = fingerprint(&g, &ctx, layout, &state_dir)?;
    // the story: the order puts alice first (alice-team is cooling down), yet the telegram
    // chat answers as bob. explain names the layer; the fix is a transaction; undo restores it
    let walk: &[(&str, &[&str])] = &[
        ("every layer side by side, for the telegram chat", &["status", "--session", CHAT]),
        ("the order says alice, yet this chat answers as bob: which layer decides?", &["explain", CHAT]),
        (
            "the fix: drop the chat's user pin so it follows the order again (planned only, nothing written)",
            &["unpin", CHAT, "--dry-run"],
        ),
        ("apply the planned transaction (it re-checks every expected value first)", &["apply", "1", "--yes"]),
        ("the chat now follows the order", &["explain", CHAT]),
        ("the audit log", &["log"]),
        (
            "changed your mind? undo the last transaction: a new transaction of inverse changes",
            &["undo", "--last", "--yes"],
        ),
        ("the log now shows both", &["log"]),
    ];
    for (why, args) in walk {
        say("");
        say(&format!("# {why}"));
        say(&format!("$ clawauth {}", args.join(" ")));
        let mut argv = vec!["clawauth".to_string(), "--state-dir".into(), state_dir.display().to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let cli = <Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| Error::Usage(e.to_string()))?;
        let code = super::run(cli, ctx.clone())?;
        if code != 0 && args[0] != "explain" {
            return Ok(code);
        }
    }
    let after = fingerprint(&g, &ctx, layout, &state_dir)?;
    say("");
    let what = if matches!(layout, DemoLayout::C | DemoLayout::D) {
        "every profile, the order and every pin are as they were at the start"
    } else {
        "every OpenClaw file of the sample is byte-identical to the start"
    };
    if before == after {
        say(&format!("# after apply and undo, {what}"));
        Ok(0)
    } else {
        say("# the sample state differs from the start after undo — this is a bug");
        Ok(1)
    }
}

/// What must come back after the undo: the bytes of every JSON file; for SQLite samples (whose
/// pages and row timestamps move on every write) what `status --json` reads from them.
fn fingerprint(g: &Global, ctx: &Context, layout: DemoLayout, dir: &Path) -> Result<Vec<(String, String)>> {
    use sha2::Digest;
    let mut out = vec![];
    if matches!(layout, DemoLayout::C | DemoLayout::D) {
        let state = super::load_state(g, ctx)?;
        let filter = clawauth_core::report::status::SessionFilter { session: None, all: true, limit: usize::MAX };
        let report = clawauth_core::report::status::build(&state, g.rules, &filter)?;
        let v = serde_json::to_value(&report).map_err(|e| Error::Other(e.to_string()))?;
        for a in v["agents"].as_array().into_iter().flatten() {
            out.push(("order".into(), a["order"].to_string()));
            out.push(("profiles".into(), a["profiles"].to_string()));
            for s in a["sessions"].as_array().into_iter().flatten() {
                let pin = format!("{} {} {}", s["pin"], s["pin_source"], s["effective"]);
                out.push((s["key"].to_string(), pin));
            }
        }
        return Ok(out);
    }
    for (rel, _) in files(layout) {
        if *rel == SESSIONS || rel.ends_with(".json") || !rel.contains('.') {
            let p = dir.join(rel);
            let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            out.push((rel.to_string(), hex::encode(sha2::Sha256::digest(&b))));
        }
    }
    Ok(out)
}
