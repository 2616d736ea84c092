//! `log` and `show`: the audit trail read from the journal. Secrets in recorded values are
//! shown only as fingerprints.

use crate::cli::{journal_path, print_json, Global};
use crate::context::Context;
use crate::diff::shorten;
use crate::error::{Error, Result};
use crate::journal::{Journal, TxnRow};
use crate::token;
use serde_json::{json, Value};
use std::fmt::Write as _;

fn open(g: &Global, ctx: &Context) -> Result<Option<Journal>> {
    let (_, p) = journal_path(g, ctx)?;
    Journal::open_read_only(&p)
}

fn doc_counts(j: &Journal, ids: &[i64]) -> Result<std::collections::HashMap<i64, i64>> {
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let (lo, hi) = (ids.iter().min().copied().unwrap_or(0), ids.iter().max().copied().unwrap_or(0));
    let mut st = j
        .conn
        .prepare("SELECT txn_id, count(*) FROM step WHERE txn_id BETWEEN ?1 AND ?2 GROUP BY txn_id")
        .map_err(|e| Error::journal(&j.path, e))?;
    let rows = st
        .query_map([lo, hi], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .map_err(|e| Error::journal(&j.path, e))?;
    for r in rows {
        let (id, n) = r.map_err(|e| Error::journal(&j.path, e))?;
        out.insert(id, n);
    }
    Ok(out)
}

fn row_json(r: &TxnRow, docs: i64) -> Value {
    json!({
        "id": r.id, "kind": r.kind, "workflow": r.workflow, "summary": r.summary, "status": r.status,
        "created_at": r.created_at, "started_at": r.started_at, "ended_at": r.ended_at,
        "user": r.user, "host": r.host, "tool_version": r.tool_version, "argv": r.argv,
        "agent": r.agent, "reverts_txn": r.reverts_txn, "forced": r.forced, "error": r.error,
        "documents": docs, "notes": r.notes,
    })
}

pub fn log(g: &Global, ctx: &Context, limit: usize) -> Result<i32> {
    let Some(j) = open(g, ctx)? else {
        if g.json {
            print_json(&json!({"schema_version": 1, "transactions": []}));
        } else {
            println!("No transactions (no journal yet).");
        }
        return Ok(0);
    };
    let rows = j.list(limit)?;
    let counts = doc_counts(&j, &rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
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
        println!("{}", line.join("  ").trim_end());
    }
    Ok(0)
}

fn value_lines(pointer: &str, v: &Option<Value>) -> Vec<String> {
    match v {
        None => vec![],
        Some(v) => {
            let red = token::redact_at(pointer, v);
            let s = serde_json::to_string_pretty(&red).unwrap_or_default();
            s.lines().map(str::to_owned).collect()
        }
    }
}

pub fn show(g: &Global, ctx: &Context, id: i64) -> Result<i32> {
    let j = open(g, ctx)?.ok_or_else(|| Error::NotFound("no journal yet: no transactions".into()))?;
    let row = j.txn(id)?.ok_or_else(|| Error::NotFound(format!("no transaction {id} in {}", j.path.display())))?;
    let steps = j.steps(id)?;
    let undone_by = j.reverted_by(id)?;
    // live usage recorded around the repair (`usage --record`): its before/after evidence
    let usage = crate::usage::txn_snapshots(&j, &row)?;
    let base = std::path::PathBuf::from(&row.state_dir);
    if g.json {
        let mut v = row_json(&row, steps.len() as i64);
        v["undone_by"] = json!(undone_by);
        v["steps"] = json!(steps
            .iter()
            .enumerate()
            .map(|(i, s)| json!({
                "step": i + 1,
                "document": s.location.display(&base),
                "title": s.title,
                "changes": s.changes.iter().map(|c| json!({
                    "pointer": c.pointer,
                    "before": c.before.as_ref().map(|v| token::redact_at(&c.pointer, v)),
                    "after": c.after.as_ref().map(|v| token::redact_at(&c.pointer, v)),
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>());
        v["usage_snapshots"] = crate::usage::snapshots_json(&usage);
        print_json(&json!({"schema_version": 1, "transaction": v}));
        return Ok(0);
    }
    let mut o = String::new();
    let _ = writeln!(o, "transaction {}  {}  {}", row.id, row.kind, row.status);
    let _ = writeln!(o, "workflow    {}", row.workflow);
    let _ = writeln!(o, "summary     {}", row.summary);
    let _ = writeln!(
        o,
        "when        created {}, started {}, ended {}",
        row.created_at,
        row.started_at.as_deref().unwrap_or("—"),
        row.ended_at.as_deref().unwrap_or("—")
    );
    let _ = writeln!(o, "who         {}@{} with clawauth {}", row.user, row.host, row.tool_version);
    let _ = writeln!(o, "command     {}", row.argv.join(" "));
    let _ = writeln!(o, "state dir   {}", row.state_dir);
    if let Some(t) = row.reverts_txn {
        let _ = writeln!(o, "reverts     transaction {t}");
    }
    if !undone_by.is_empty() {
        let _ = writeln!(o, "undone by   {}", undone_by.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    }
    if row.forced {
        let _ = writeln!(o, "forced      yes (conflicts were overridden)");
    }
    if let Some(e) = &row.error {
        let _ = writeln!(o, "error       {e}");
    }
    for n in &row.notes {
        let _ = writeln!(o, "note        {n}");
    }
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(o, "\n{}. {} — {}", i + 1, s.location.display(&base), s.title);
        for c in &s.changes {
            let _ = writeln!(o, "     {}", crate::diff::describe_change(c));
        }
    }
    let _ = writeln!(o);
    for s in &steps {
        let name = s.location.display(&base);
        let _ = writeln!(o, "--- a/{name}\n+++ b/{name}");
        for c in &s.changes {
            let _ = writeln!(o, "@@ {} @@", if c.pointer.is_empty() { "(whole document)" } else { &c.pointer });
            for l in value_lines(&c.pointer, &c.before) {
                let _ = writeln!(o, "-{l}");
            }
            for l in value_lines(&c.pointer, &c.after) {
                let _ = writeln!(o, "+{l}");
            }
        }
    }
    o.push_str(&crate::usage::render_txn_snapshots(&usage));
    print!("{o}");
    Ok(0)
}
