//! `clawauth restore-token --list`: the candidates with their freshness; never creates a
//! journal. (Without `--list` it is a repair like the others, in `repair.rs`.)

use super::{load_state, open_engine};
use crate::args::Global;
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::workflow::restore;
use std::path::PathBuf;

pub fn list(g: &Global, ctx: &Context, profile: &str, from: &[PathBuf], force: bool) -> Result<i32> {
    let state = load_state(g, ctx)?;
    let journal = match open_engine(g, ctx)? {
        Some(e) => restore::journal_sources(&e.journal)?,
        None => vec![],
    };
    let listing = restore::candidates(&state, &restore::Args { profile, from, force, journal })?;
    if g.json {
        print_json(&serde_json::json!({"schema_version": 1, "restore_candidates": listing}));
    } else {
        crate::output::print_text(&crate::output::restore::render_listing(&listing, state.now_ms));
    }
    Ok(0)
}
