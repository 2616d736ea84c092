//! `clawauth log`: the transactions in the journal, newest first, optionally only those since a
//! time or of one workflow.

use super::journal_path;
use crate::args::{Global, LogArgs};
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::text::{parse_time_ms, shorten};
use clawauth_core::txn::journal::{Journal, TxnRow};
use clawauth_core::txn::status::TxnStatus;
use serde_json::{json, Value};

pub(super) fn open(g: &Global, ctx: &Context) -> Result<Option<Journal>> {
    let (_, p) = journal_path(g, ctx)?;
    Journal::open_read_only(&p)
}

/// A planned transaction thrown away by `discard` (kept as `rolled back`: nothing of it was
/// ever written; the journal's status set is the schema's).
pub(super) fn discarded(r: &TxnRow) -> bool {
    r.status == TxnStatus::RolledBack
        && r.started_at.is_none()
        && r.error.as_deref().is_some_and(|e| e.starts_with("discarded"))
}

pub(super) fn row_json(r: &TxnRow, docs: i64) -> Value {
    json!({
        "id": r.id, "kind": r.kind, "workflow": r.workflow, "summary": r.summary, "status": r.status,
        "created_at": r.created_at, "started_at": r.started_at, "ended_at": r.ended_at,
        "user": r.user, "host": r.host, "tool_version": r.tool_version, "argv": r.argv,
        "agent": r.agent, "reverts_txn": r.reverts_txn, "forced": r.forced, "error": r.error,
        "documents": docs, "notes": r.notes, "discarded": discarded(r),
    })
}

/// `--since`: RFC 3339, or an age before now (`90s`, `30m`, `2h`, `3d`, `1w`).
pub fn since_ms(s: &str, now_ms: i64) -> Result<i64> {
    let t = s.trim();
    let unit = t.chars().last().unwrap_or(' ');
    let mult: Option<i64> = match unit {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        'w' => Some(7 * 86_400_000),
        _ => None,
    };
    if let Some(m) = mult {
        if let Ok(n) = t[..t.len() - 1].parse::<i64>() {
            if n >= 0 {
                return Ok(now_ms - n.saturating_mul(m));
            }
        }
    }
    if t.contains('T') {
        if let Some(ms) = parse_time_ms(t) {
            return Ok(ms);
        }
    }
    Err(Error::Usage(format!(
        "--since takes an RFC 3339 time (2026-05-01T12:00:00Z) or an age (90m, 2h, 3d, 1w), not '{s}'"
    )))
}

pub fn run(g: &Global, ctx: &Context, a: &LogArgs) -> Result<i32> {
    let since = a.since.as_deref().map(|s| since_ms(s, ctx.now_ms)).transpose()?;
    let Some(j) = open(g, ctx)? else {
        if g.json {
            print_json(&json!({"schema_version": 1, "transactions": []}));
        } else {
            println!("No transactions (no journal yet).");
        }
        return Ok(0);
    };
    let filtered = since.is_some() || a.workflow.is_some();
    let mut rows = j.list(if filtered { usize::MAX >> 1 } else { a.limit })?;
    if filtered {
        rows.retain(|r| {
            since.map_or(true, |t| parse_time_ms(&r.created_at).is_some_and(|c| c >= t))
                && a.workflow.as_deref().map_or(true, |w| r.workflow.eq_ignore_ascii_case(w.trim()))
        });
        rows.truncate(a.limit);
    }
    let counts = j.document_counts(&rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
    if g.json {
        let items: Vec<Value> = rows.iter().map(|r| row_json(r, counts.get(&r.id).copied().unwrap_or(0))).collect();
        print_json(&json!({"schema_version": 1, "transactions": items}));
        return Ok(0);
    }
    if rows.is_empty() {
        println!("No transactions{}.", if filtered { " match" } else { "" });
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
        let mut status = if discarded(r) { "discarded".to_string() } else { r.status.to_string() };
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
            r.kind.to_string(),
            r.workflow.clone(),
            status,
            counts.get(&r.id).copied().unwrap_or(0).to_string(),
            summary,
        ]);
    }
    print_table(&table, 80);
    Ok(0)
}

/// A table whose last column is shortened to the terminal width (to `default_last` characters
/// when there is no width); `--json` has the full values.
pub(super) fn print_table(table: &[Vec<String>], default_last: usize) {
    // one line per row, whatever a summary or a workflow name holds
    let table: Vec<Vec<String>> =
        table.iter().map(|r| r.iter().map(|c| clawauth_core::sanitize::line(c).into_owned()).collect()).collect();
    let n = table[0].len();
    let widths: Vec<usize> = (0..n).map(|i| table.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let fixed: usize = widths[..n - 1].iter().map(|w| w + 2).sum();
    let last = match crate::style::width() {
        Some(w) => w.saturating_sub(fixed + 1).max(12),
        None => default_last,
    };
    let mut out = String::new();
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if i == n - 1 { shorten(c, last) } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    crate::output::print_text(&out);
}
