//! `usage --record`: the windows kept as `usage_snapshot` rows in the journal (their SQL is
//! the journal's, `txn/journal.rs`), and the snapshots `show TXN` lists around a transaction.

#[allow(unused_imports)]
use super::*;

use crate::txn::journal::NewUsageSnapshot;
pub use crate::txn::journal::UsageSnapshot;

/// Store one row per fetched (or failed) profile, in one SQLite transaction.
pub fn record(j: &mut Journal, taken_at: &str, r: &UsageReport) -> Result<usize> {
    let snaps: Vec<NewUsageSnapshot> = r
        .agents
        .iter()
        .flat_map(|a| &a.profiles)
        .map(|p| {
            let u = p.usage.as_ref();
            NewUsageSnapshot {
                profile_id: p.id.clone(),
                account_id: u.and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone()),
                user_id: u.and_then(|u| u.user_id.clone()).or_else(|| p.stored.user_id.clone()),
                windows: u.map(|u| {
                    json!({
                        "email": u.email,
                        "plan_type": u.plan_type,
                        "limit_reached": u.rate_limit.as_ref().and_then(|l| l.limit_reached),
                        "windows": u.rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default(),
                        "code_review": u.code_review_rate_limit.as_ref().map(|l| l.windows.clone()).unwrap_or_default(),
                    })
                }),
                error: p.error.as_ref().map(|e| e.message.clone()),
            }
        })
        .collect();
    j.record_usage(taken_at, &snaps)
}

/// The transaction's span: from when it started writing (else when it was recorded) to when
/// it ended, as epoch ms. A plan saved with `--dry-run` and applied later spans only the
/// apply: usage read between the two is from before the change, not during it.
pub(super) fn txn_span(row: &TxnRow) -> Option<(i64, i64)> {
    let p = |s: &str| crate::text::parse_time_ms(s);
    let start = row.started_at.as_deref().and_then(p).or_else(|| p(&row.created_at))?;
    let end = row.ended_at.as_deref().and_then(p).unwrap_or(start).max(start);
    Some((start, end))
}

/// Usage snapshots recorded within ±10 minutes of a transaction, each tagged `before`,
/// `during` or `after` it: evidence of what a repair changed.
pub fn txn_snapshots(j: &Journal, row: &TxnRow) -> Result<Vec<(String, UsageSnapshot)>> {
    let Some((start, end)) = txn_span(row) else {
        return Ok(vec![]);
    };
    let snaps = j.usage_snapshots_between(&rfc3339_ms(start - SHOW_WINDOW_MS), &rfc3339_ms(end + SHOW_WINDOW_MS))?;
    Ok(snaps
        .into_iter()
        .map(|s| {
            let t = crate::text::parse_time_ms(&s.taken_at).unwrap_or(start);
            let when = if t < start {
                "before"
            } else if t > end {
                "after"
            } else {
                "during"
            };
            (when.to_string(), s)
        })
        .collect())
}

pub fn snapshots_json(s: &[(String, UsageSnapshot)]) -> Value {
    json!(s.iter().map(|(when, s)| json!({"when": when, "snapshot": s})).collect::<Vec<_>>())
}
