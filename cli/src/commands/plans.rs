//! `clawauth plans` (planned transactions, each said to be current or stale) and
//! `clawauth discard TXN...|--all` (throw planned ones away, recorded in the journal).

use super::{log, open_engine, writer_engine};
use crate::args::Global;
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::txn::status::TxnStatus;
use serde_json::json;

pub fn list(g: &Global, ctx: &Context) -> Result<i32> {
    let Some(engine) = open_engine(g, ctx)? else {
        if g.json {
            print_json(&json!({"schema_version": 1, "plans": []}));
        } else {
            println!("No planned transactions (no journal yet).");
        }
        return Ok(0);
    };
    let rows = engine.journal.with_status(TxnStatus::Planned)?;
    let mut items = vec![];
    for r in &rows {
        // a plan is stale when a value it expects has changed since it was made
        let stale = match engine.journal.plan(r).and_then(|p| engine.preflight(&p)) {
            Ok(()) => None,
            Err(e) => Some(e.to_string()),
        };
        items.push((r, stale));
    }
    if g.json {
        let v: Vec<_> = items
            .iter()
            .map(|(r, stale)| {
                let mut o = log::row_json(r, 0);
                o["stale"] = json!(stale.is_some());
                o["stale_reason"] = json!(stale);
                o
            })
            .collect();
        print_json(&json!({"schema_version": 1, "plans": v}));
        return Ok(0);
    }
    if items.is_empty() {
        println!("No planned transactions.");
        return Ok(0);
    }
    let mut table = vec![vec!["ID".to_string(), "CREATED".into(), "WORKFLOW".into(), "STATE".into(), "SUMMARY".into()]];
    for (r, stale) in &items {
        let state = if stale.is_some() { "stale" } else { "current" };
        table.push(vec![r.id.to_string(), r.created_at.clone(), r.workflow.clone(), state.into(), r.summary.clone()]);
    }
    log::print_table(&table, 80);
    let n_stale = items.iter().filter(|(_, s)| s.is_some()).count();
    println!(
        "{} planned, {n_stale} stale. Apply one with `clawauth apply ID`, or throw it away with `clawauth discard ID`.",
        items.len()
    );
    Ok(0)
}

pub fn discard(g: &Global, ctx: &Context, ids: &[i64], all: bool) -> Result<i32> {
    // a journal write: under the writer lock, like every other change of a transaction's status
    let engine = writer_engine(g, ctx)?;
    if !engine.journal.exists() {
        return Err(Error::NotFound("no journal: there are no planned transactions".into()));
    }
    let ids: Vec<i64> =
        if all { engine.journal.with_status(TxnStatus::Planned)?.iter().map(|r| r.id).collect() } else { ids.to_vec() };
    let mut done = vec![];
    for &id in &ids {
        let row = engine.txn(id)?;
        if !engine.journal.discard_planned(ctx, id)? {
            return Err(Error::State(format!(
                "transaction {id} is {}, not planned: only planned transactions can be discarded",
                if log::discarded(&row) { "already discarded".to_string() } else { row.status.to_string() }
            )));
        }
        done.push(id);
    }
    if g.json {
        print_json(&json!({"schema_version": 1, "discarded": done}));
    } else if done.is_empty() {
        println!("No planned transactions.");
    } else {
        let list: Vec<String> = done.iter().map(|i| i.to_string()).collect();
        println!("Discarded planned transaction(s) {}: they can no longer be applied.", list.join(", "));
    }
    Ok(0)
}
