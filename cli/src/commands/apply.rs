//! `clawauth apply TXN`: run a transaction saved with `--dry-run`.

use super::{mutating_engine, tty};
use crate::args::{ConfirmArgs, Global, MutateArgs};
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context, txn: i64, c: &ConfirmArgs) -> Result<i32> {
    // a planned transaction is applied, never planned again: no --dry-run here
    let m = MutateArgs { yes: c.yes, dry_run: false, no_reload: c.no_reload };
    let mut engine = mutating_engine(g, ctx)?;
    if clawauth_core::txn::migration::get(&engine.journal, txn)?.is_some() {
        return Err(clawauth_core::error::Error::conflict_hint(
            format!("transaction {txn} is a migration, not a saved plan"),
            "finish it with `clawauth migrate --after`, or restore its snapshot with `clawauth undo`",
        ));
    }
    let outcome = engine.apply_planned(txn, &mut tty(g, &m))?;
    Ok(super::finish(g, ctx, &mut engine, &outcome, &m))
}
