//! `clawauth apply TXN`: run a transaction saved with `--dry-run`.

use super::mutating_engine;
use crate::args::{ConfirmArgs, Global};
use crate::prompt::Tty;
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context, txn: i64, c: &ConfirmArgs) -> Result<i32> {
    let mut engine = mutating_engine(g, ctx)?;
    let outcome = engine.apply_planned(txn, &mut Tty { yes: c.yes, json: g.json })?;
    crate::output::outcome(&mut engine, &outcome, g.json);
    Ok(0)
}
