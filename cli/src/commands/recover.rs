//! `clawauth recover`: finish transactions a killed process left half-applied.

use super::open_engine;
use crate::args::Global;
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context) -> Result<i32> {
    let Some(mut engine) = open_engine(g, ctx)? else {
        println!("No journal: nothing to recover.");
        return Ok(0);
    };
    for line in engine.recover(false)? {
        crate::output::print_line(&line);
    }
    Ok(0)
}
