//! `clawauth explain KEY`: one session traced through every layer.

use super::load_state;
use crate::args::{ExplainArgs, Global};
use crate::output::explain::render;
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::{exit, Result};
use clawauth_core::model::resolve::Rules;
use clawauth_core::report::explain::build;

pub fn run(g: &Global, a: &ExplainArgs, rules: Option<Rules>, ctx: &Context) -> Result<i32> {
    let mut g = g.clone();
    // a session key names its agent: look in every agent unless told which
    if g.agent.is_none() {
        g.all_agents = true;
    }
    let state = load_state(&g, ctx)?;
    let report = build(&state, &a.session, a.new_session, rules)?;
    if g.json {
        print_json(&report);
    } else {
        crate::output::print_text(&render(&report, state.now_ms));
    }
    Ok(exit::OK)
}
