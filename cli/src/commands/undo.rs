//! `clawauth undo TXN|--last [--step N] [--force]`: a new transaction of inverse changes.

use super::{mutating_engine, opts, tty};
use crate::args::{Global, MutateArgs};
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::txn::journal::Journal;
use clawauth_core::txn::status::{TxnKind, TxnStatus};

pub fn run(
    g: &Global,
    ctx: &Context,
    txn: Option<i64>,
    last: bool,
    step: Option<usize>,
    force: bool,
    m: &MutateArgs,
) -> Result<i32> {
    let mut engine = mutating_engine(g, ctx)?;
    let txn = match (txn, last) {
        (Some(t), _) => t,
        (None, _) => last_undoable(&engine.journal)?,
    };
    if last && !g.json {
        eprintln!("undo --last: transaction {txn}");
    }
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
        eprintln!("warning: forced: {}", crate::output::line(w));
    }
    let outcome = engine.run(&undo.plan, &opts(m, undo.forced), &mut tty(g, m), TxnKind::Undo, Some(txn))?;
    Ok(super::finish(g, ctx, &mut engine, &outcome, m))
}

/// `--last`: the newest applied repair (not an undo, not a recovery) that no applied undo has
/// reverted yet. Repeating `undo --last` walks back through the history.
pub fn last_undoable(j: &Journal) -> Result<i64> {
    for r in j.list(usize::MAX >> 1)? {
        if r.kind == TxnKind::Apply && r.status == TxnStatus::Applied && j.reverted_by(r.id)?.is_empty() {
            return Ok(r.id);
        }
    }
    Err(Error::NotFound(format!("no applied transaction left to undo in {}", j.path.display())))
}
