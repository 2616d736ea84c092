//! `clawauth demo`: an embedded sample state (the `fixtures/demo` dir, compiled in) copied to a
//! temp dir so a newcomer sees the tool work without an OpenClaw install.

use crate::args::{Cli, Global, StatusArgs};
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// (relative path, contents) of the sample state.
pub const FILES: &[(&str, &[u8])] = &[
    (
        "agents/main/agent/auth-profiles.json",
        include_bytes!("../../../fixtures/demo/agents/main/agent/auth-profiles.json"),
    ),
    ("agents/main/agent/auth-state.json", include_bytes!("../../../fixtures/demo/agents/main/agent/auth-state.json")),
    ("agents/main/sessions/sessions.json", include_bytes!("../../../fixtures/demo/agents/main/sessions/sessions.json")),
    ("codex-oauth-profiles.json", include_bytes!("../../../fixtures/demo/codex-oauth-profiles.json")),
    ("codex_profile_id", include_bytes!("../../../fixtures/demo/codex_profile_id")),
];

/// The sample's clock: five minutes after the fixtures' reference time (`REF_NOW_MS` of
/// `clawauth-fixture`, 2026-05-01T12:00:00Z; a test checks they agree).
pub const DEMO_NOW_MS: i64 = 1_777_636_800_000 + 5 * 60_000;

pub fn materialize(dir: &Path) -> Result<()> {
    for (rel, bytes) in FILES {
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

pub fn run(g: &Global, ctx: &Context) -> Result<i32> {
    let tmp =
        tempfile::Builder::new().prefix("clawauth-demo-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let state_dir = tmp.path().join("openclaw");
    materialize(&state_dir)?;
    let mut ctx = ctx.clone();
    ctx.now_ms = DEMO_NOW_MS;
    let g = Global { state_dir: Some(state_dir.clone()), ..g.clone() };
    if g.json {
        return super::cmd_status(&g, &StatusArgs { session: None, all: false, limit: 10 }, &ctx);
    }
    println!("clawauth demo: a sample OpenClaw state (layout B, three Codex logins, an external router)");
    println!("copied to {}; clock pinned to the sample's time, {}.", state_dir.display(), ctx.now_rfc3339());
    let before = fingerprint_tree(&state_dir)?;
    // every layer, then a repair as a transaction: plan, apply, audit, undo
    let walk: &[(&str, &[&str])] = &[
        ("every layer side by side", &["status"]),
        (
            "why does the telegram chat use bob, and whose usage does /status show?",
            &["explain", "agent:main:telegram:direct:1001"],
        ),
        (
            "plan an order change without touching anything (saved as a planned transaction)",
            &[
                "order",
                "set",
                "openai-codex",
                "openai-codex:bob@example.com",
                "openai-codex:alice@example.com",
                "--dry-run",
            ],
        ),
        ("apply the planned transaction (it re-checks every expected value first)", &["apply", "1", "--yes"]),
        ("the audit log", &["log"]),
        ("undo it: a new transaction of inverse changes", &["undo", "1", "--yes"]),
        ("the log now shows both", &["log"]),
    ];
    for (why, args) in walk {
        println!();
        println!("# {why}");
        println!("$ clawauth {}", args.join(" "));
        let mut argv = vec!["clawauth".to_string(), "--state-dir".into(), state_dir.display().to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let cli = <Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| Error::Usage(e.to_string()))?;
        let code = super::run(cli, ctx.clone())?;
        if code != 0 && args[0] != "explain" {
            return Ok(code);
        }
    }
    let after = fingerprint_tree(&state_dir)?;
    println!();
    if before == after {
        println!("# after apply and undo, every OpenClaw file of the sample is byte-identical to the start");
        Ok(0)
    } else {
        println!("# the sample state differs from the start after undo — this is a bug");
        Ok(1)
    }
}

/// sha256 of every file below `dir` except clawauth's own journal.
fn fingerprint_tree(dir: &Path) -> Result<Vec<(String, String)>> {
    use sha2::Digest;
    let mut out = vec![];
    for (rel, _) in FILES {
        let p = dir.join(rel);
        let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        out.push((rel.to_string(), hex::encode(sha2::Sha256::digest(&b))));
    }
    Ok(out)
}
