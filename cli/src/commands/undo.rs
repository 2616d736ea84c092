//! `clawauth undo TXN [--step N] [--force]`: a new transaction of inverse changes.

use super::{mutating_engine, opts, tty};
use crate::args::{Global, MutateArgs};
use clawauth_core::context::Context;
use clawauth_core::error::Result;

pub fn run(g: &Global, ctx: &Context, txn: i64, step: Option<usize>, force: bool, m: &MutateArgs) -> Result<i32> {
    let mut engine = mutating_engine(g, ctx)?;
    // a migration is undone by restoring its recorded tree (`migrate.rs`)
    if clawauth_core::txn::migration::get(&engine.journal, txn)?.is_some() {
        if step.is_some() {
            return Err(clawauth_core::error::Error::Usage(format!(
                "transaction {txn} is a migration: it is undone as a whole (its repairs are their own transaction)"
            )));
        }
        return super::migrate::undo(g, engine, txn, force, m);
    }
    let undo = engine.plan_undo(txn, step, force)?;
    for w in &undo.warnings {
        // said now, before the preview: the person is about to confirm exactly this
        eprintln!("warning: forced: {}", crate::output::text(w));
    }
    let outcome = engine.run(&undo.plan, &opts(m, undo.forced), &mut tty(g, m), "undo", Some(txn))?;
    Ok(super::finish(g, ctx, &mut engine, &outcome, m))
}
