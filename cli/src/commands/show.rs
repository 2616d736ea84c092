//! `clawauth show TXN`: one transaction's metadata, steps, changes and diff (secrets shown only
//! as fingerprints), and the usage snapshots recorded around it.

use super::log::{open, row_json};
use crate::args::Global;
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::model::token;
use clawauth_core::report::usage;
use clawauth_core::txn::settle::Settle;
use serde_json::{json, Value};

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

pub fn run(g: &Global, ctx: &Context, id: i64) -> Result<i32> {
    let j = open(g, ctx)?.ok_or_else(|| Error::NotFound("no journal yet: no transactions".into()))?;
    let row = j.txn(id)?.ok_or_else(|| Error::NotFound(format!("no transaction {id} in {}", j.path.display())))?;
    if let Some(mig) = clawauth_core::txn::migration::get(&j, id)? {
        return super::migrate::show(g, &j, &row, &mig);
    }
    let steps = j.steps(id)?;
    let undone_by = j.reverted_by(id)?;
    // live usage recorded around the repair (`usage --record`): its before/after evidence
    let usage = usage::txn_snapshots(&j, &row)?;
    let base = std::path::PathBuf::from(&row.state_dir);
    if g.json {
        let mut v = row_json(&row, steps.len() as i64);
        v["undone_by"] = json!(undone_by);
        v["settle"] = row.settle.clone().unwrap_or(Value::Null);
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
        v["usage_snapshots"] = usage::snapshots_json(&usage);
        print_json(&json!({"schema_version": 1, "transaction": v}));
        return Ok(0);
    }
    let mut o = String::new();
    crate::output::outln!(o, "transaction {}  {}  {}", row.id, row.kind, row.status);
    crate::output::outln!(o, "workflow    {}", row.workflow);
    crate::output::outln!(o, "summary     {}", row.summary);
    crate::output::outln!(
        o,
        "when        created {}, started {}, ended {}",
        row.created_at,
        row.started_at.as_deref().unwrap_or("—"),
        row.ended_at.as_deref().unwrap_or("—")
    );
    crate::output::outln!(o, "who         {}@{} with clawauth {}", row.user, row.host, row.tool_version);
    crate::output::outln!(o, "command     {}", row.argv.join(" "));
    crate::output::outln!(o, "state dir   {}", row.state_dir);
    if let Some(t) = row.reverts_txn {
        crate::output::outln!(o, "reverts     transaction {t}");
    }
    if !undone_by.is_empty() {
        crate::output::outln!(
            o,
            "undone by   {}",
            undone_by.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    if row.forced {
        crate::output::outln!(o, "forced      yes (conflicts were overridden)");
    }
    if let Some(e) = &row.error {
        crate::output::outln!(o, "error       {e}");
    }
    for n in &row.notes {
        crate::output::outln!(o, "note        {n}");
    }
    if let Some(st) = row.settle.as_ref().and_then(|v| serde_json::from_value::<Settle>(v.clone()).ok()) {
        crate::output::outln!(
            o,
            "gateway     pid {} on 127.0.0.1:{}{}",
            st.gateway_pid,
            st.gateway_port,
            st.gateway_version.as_deref().map(|v| format!(" (OpenClaw {v})")).unwrap_or_default()
        );
        for r in &st.reloads {
            let how = match (&r.method, &r.error) {
                (Some(m), _) => format!("reloaded ({m})"),
                (None, Some(e)) => format!("reload failed: {e}"),
                (None, None) => "not reloaded".into(),
            };
            crate::output::outln!(o, "reload      agent {}: {how}", r.agent);
        }
        for c in &st.checks {
            let verdict = if c.ok() { "agreed".to_string() } else { "DIFFERED".to_string() };
            crate::output::outln!(o, "check       {:.1} s after: {verdict}", c.after_ms as f64 / 1000.0);
            for p in c.problems() {
                crate::output::outln!(o, "            {p}");
            }
        }
        crate::output::outln!(
            o,
            "settled     {}",
            match (st.settled, st.reload_unsupported) {
                (true, true) => "yes, on disk (this gateway cannot be asked to reload)",
                (true, false) => "yes",
                _ => "NO",
            }
        );
    }
    for (i, s) in steps.iter().enumerate() {
        crate::output::outln!(o);
        crate::output::outln!(o, "{}. {} — {}", i + 1, s.location.display(&base), s.title);
        for c in &s.changes {
            crate::output::outln!(o, "     {}", crate::preview::describe_change(c));
        }
    }
    crate::output::outln!(o);
    for s in &steps {
        let name = s.location.display(&base);
        crate::output::outln!(o, "--- a/{name}");
        crate::output::outln!(o, "+++ b/{name}");
        for c in &s.changes {
            crate::output::outln!(o, "@@ {} @@", if c.pointer.is_empty() { "(whole document)" } else { &c.pointer });
            for l in value_lines(&c.pointer, &c.before) {
                crate::output::outln!(o, "-{l}");
            }
            for l in value_lines(&c.pointer, &c.after) {
                crate::output::outln!(o, "+{l}");
            }
        }
    }
    o.push_str(&crate::output::usage::render_txn_snapshots(&usage));
    crate::output::print_diffable(&o);
    Ok(0)
}
