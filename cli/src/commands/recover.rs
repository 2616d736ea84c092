//! `clawauth recover`: finish transactions a killed process left half-applied.

use super::open_engine;
use crate::args::Global;
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context) -> Result<i32> {
    let Some(mut engine) = open_engine(g, ctx)? else {
        if g.json {
            crate::output::print_json(&serde_json::json!({"schema_version": 1, "journal": false, "recovered": []}));
        } else {
            println!("No journal: nothing to recover.");
        }
        return Ok(0);
    };
    let lines = engine.recover(false)?;
    if g.json {
        crate::output::print_json(&serde_json::json!({"schema_version": 1, "journal": true, "recovered": lines}));
        return Ok(0);
    }
    for line in lines {
        println!("{}", crate::output::text(&line));
    }
    Ok(0)
}
