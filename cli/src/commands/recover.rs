//! `clawauth recover`: finish transactions a killed process left half-applied.

use super::writer_engine;
use crate::args::Global;
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context) -> Result<i32> {
    let mut engine = writer_engine(g, ctx)?;
    if !engine.journal.exists() {
        println!("No journal: nothing to recover.");
        return Ok(0);
    }
    for line in engine.recover(false)? {
        println!("{}", crate::output::text(&line));
    }
    let settled = super::after_recover(g, ctx, &mut engine, false);
    Ok(if settled.iter().all(|s| s["settle"]["settled"] == true) { 0 } else { 1 })
}
