//! `clawauth log`: the transactions in the journal, newest first.

use super::journal_path;
use crate::args::Global;
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::text::shorten;
use clawauth_core::txn::journal::{Journal, TxnRow};
use serde_json::{json, Value};

pub(super) fn open(g: &Global, ctx: &Context) -> Result<Option<Journal>> {
    let (_, p) = journal_path(g, ctx)?;
    Journal::open_read_only(&p)
}

pub(super) fn row_json(r: &TxnRow, docs: i64) -> Value {
    json!({
        "id": r.id, "kind": r.kind, "workflow": r.workflow, "summary": r.summary, "status": r.status,
        "created_at": r.created_at, "started_at": r.started_at, "ended_at": r.ended_at,
        "user": r.user, "host": r.host, "tool_version": r.tool_version, "argv": r.argv,
        "agent": r.agent, "reverts_txn": r.reverts_txn, "forced": r.forced, "error": r.error,
        "documents": docs, "notes": r.notes,
    })
}

pub fn run(g: &Global, ctx: &Context, limit: usize) -> Result<i32> {
    let Some(j) = open(g, ctx)? else {
        if g.json {
            print_json(&json!({"schema_version": 1, "transactions": []}));
        } else {
            println!("No transactions (no journal yet).");
        }
        return Ok(0);
    };
    let rows = j.list(limit)?;
    let counts = j.document_counts(&rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
    if g.json {
        let items: Vec<Value> = rows.iter().map(|r| row_json(r, counts.get(&r.id).copied().unwrap_or(0))).collect();
        print_json(&json!({"schema_version": 1, "transactions": items}));
        return Ok(0);
    }
    if rows.is_empty() {
        println!("No transactions.");
        return Ok(0);
    }
    let mut table = vec![vec![
        "ID".to_string(),
        "TIME".into(),
        "KIND".into(),
        "WORKFLOW".into(),
        "STATUS".into(),
        "DOCS".into(),
        "SUMMARY".into(),
    ]];
    for r in &rows {
        let mut status = r.status.clone();
        if r.forced {
            status.push_str(" (forced)");
        }
        let mut summary = r.summary.clone();
        if let Some(t) = r.reverts_txn {
            summary = format!("[reverts {t}] {summary}");
        }
        table.push(vec![
            r.id.to_string(),
            r.created_at.clone(),
            r.kind.clone(),
            r.workflow.clone(),
            status,
            counts.get(&r.id).copied().unwrap_or(0).to_string(),
            shorten(&summary, 80),
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for r in table {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 6 { c.clone() } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        println!("{}", crate::output::text(line.join("  ").trim_end()));
    }
    Ok(0)
}
