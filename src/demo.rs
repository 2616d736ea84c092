//! `clawauth demo`: an embedded sample state (the `fixtures/demo` dir, compiled in) copied to a
//! temp dir so a newcomer sees the tool work without an OpenClaw install.

use crate::cli::Global;
use crate::context::Context;
use crate::error::{Error, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// (relative path, contents) of the sample state.
pub const FILES: &[(&str, &[u8])] = &[
    ("agents/main/agent/auth-profiles.json", include_bytes!("../fixtures/demo/agents/main/agent/auth-profiles.json")),
    ("agents/main/agent/auth-state.json", include_bytes!("../fixtures/demo/agents/main/agent/auth-state.json")),
    ("agents/main/sessions/sessions.json", include_bytes!("../fixtures/demo/agents/main/sessions/sessions.json")),
    ("codex-oauth-profiles.json", include_bytes!("../fixtures/demo/codex-oauth-profiles.json")),
    ("codex_profile_id", include_bytes!("../fixtures/demo/codex_profile_id")),
];

/// The sample's clock: five minutes after the fixtures' reference time.
pub const DEMO_NOW_MS: i64 = crate::fixture::REF_NOW_MS + 5 * 60_000;

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
    if !g.json {
        println!("clawauth demo: a sample OpenClaw state (layout B, three Codex logins, an external router)");
        println!("copied to {}; clock pinned to the sample's time, {}.", state_dir.display(), ctx.now_rfc3339());
        println!();
        println!("$ clawauth --state-dir {} status", state_dir.display());
    }
    crate::cli::cmd_status(&g, &crate::cli::StatusArgs { session: None, all: false, limit: 10, rules: None }, &ctx)
}
