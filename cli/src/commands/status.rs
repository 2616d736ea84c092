//! `clawauth status`: every layer side by side.

use super::load_state;
use crate::args::{Global, StatusArgs};
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::report::status;

pub fn cmd_status(g: &Global, a: &StatusArgs, ctx: &Context) -> Result<i32> {
    let rules = g.rules;
    let state = load_state(g, ctx)?;
    let filter = status::SessionFilter { session: a.session.clone(), all: a.all, limit: a.limit };
    let mut report = status::build(&state, rules, &filter)?;
    report.transactions = super::pending(g, ctx);
    for (a, r) in state.agents.iter().zip(report.agents.iter_mut()) {
        r.restore_sources = clawauth_core::workflow::restore::backups(&state, a);
    }
    if g.json {
        print_json(&report);
    } else {
        crate::output::print_text(&crate::output::status::render(&report, state.now_ms));
    }
    // the process ends right after: freeing 100k session summaries one by one only costs time
    drop(report);
    std::mem::forget(state);
    Ok(0)
}
