//! `clawauth recover`: finish transactions a killed process left half-applied.

use super::writer_engine;
use crate::args::Global;
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context) -> Result<i32> {
    let mut engine = writer_engine(g, ctx)?;
    if !engine.journal.exists() {
        if g.json {
            crate::output::print_json(&serde_json::json!({"schema_version": 1, "journal": false, "recovered": []}));
        } else {
            println!("No journal: nothing to recover.");
        }
        return Ok(0);
    }
    let lines = engine.recover(false)?;
    if g.json {
        let settled = super::after_recover(g, ctx, &mut engine, true);
        let ok = settled.iter().all(|s| s["settle"]["settled"] == true);
        crate::output::print_json(
            &serde_json::json!({"schema_version": 1, "journal": true, "recovered": lines, "gateway": settled}),
        );
        return Ok(if ok { 0 } else { 1 });
    }
    for line in lines {
        crate::output::print_line(&line);
    }
    let settled = super::after_recover(g, ctx, &mut engine, false);
    Ok(if settled.iter().all(|s| s["settle"]["settled"] == true) { 0 } else { 1 })
}
