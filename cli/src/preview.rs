//! Rendering a plan for a person: numbered steps, and per document a unified diff (`a/`/`b/`
//! headers, 3 lines of context) built only from the regions that change, so a one-entry edit
//! in a 120 MB `sessions.json` previews instantly. Secrets are redacted before any text is
//! made: tokens appear as fingerprints plus their non-secret claims.

use clawauth_core::json;
use clawauth_core::layout::store::{FileFormat, Location};
use clawauth_core::model::token;
use clawauth_core::text::shorten;
use clawauth_core::txn::docio::{self, Doc};
use clawauth_core::txn::plan::{Change, Plan, Step};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

fn show(pointer: &str, v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => shorten(&token::redact_at(pointer, v).to_string(), 120),
    }
}

pub fn describe_change(c: &Change) -> String {
    let p = if c.pointer.is_empty() { "(whole document)" } else { &c.pointer };
    match (&c.before, &c.after) {
        (None, Some(_)) => format!("add    {p} = {}", show(&c.pointer, &c.after)),
        (Some(_), None) => format!("remove {p} (was {})", show(&c.pointer, &c.before)),
        _ => format!("set    {p} = {} (was {})", show(&c.pointer, &c.after), show(&c.pointer, &c.before)),
    }
}

/// Unified diff of two texts whose first line is line `first_line` of the document.
fn unified(out: &mut String, old: &str, new: &str, first_line: usize) {
    let d = similar::TextDiff::from_lines(old, new);
    for group in d.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let o = first.old_range().start..last.old_range().end;
        let n = first.new_range().start..last.new_range().end;
        let _ = writeln!(out, "@@ -{},{} +{},{} @@", o.start + first_line, o.len(), n.start + first_line, n.len());
        for op in &group {
            for change in d.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                let line = change.value();
                let _ = write!(out, "{sign}{line}");
                if !line.ends_with('\n') {
                    let _ = writeln!(out);
                    let _ = writeln!(out, "\\ No newline at end of file");
                }
            }
        }
    }
}

fn pretty_redacted(v: &Value, indent: usize, depth: usize) -> String {
    let mut buf = Vec::new();
    json::write_value(&mut buf, &token::redact(v), indent.max(2), depth);
    String::from_utf8(buf).unwrap_or_default()
}

/// The diff of one step against the document as it is now.
pub fn step_diff(step: &Step, doc: &Doc, base: &Path) -> String {
    let name = step.location.display(base);
    let mut out = String::new();
    crate::output::outln!(out, "--- a/{name}");
    crate::output::outln!(out, "+++ b/{name}");
    let whole = step.changes.iter().find(|c| c.pointer.is_empty());
    let text_doc = matches!(step.location, Location::File { format: FileFormat::Text, .. });
    if whole.is_some() || text_doc || matches!(step.location, Location::Cell { .. }) || !doc.exists() {
        // small documents: diff the whole (redacted, pretty) value
        let render = |v: Option<Value>| -> String {
            match v {
                None => String::new(),
                Some(Value::String(s)) if text_doc => format!("{s}\n"),
                Some(v) => pretty_redacted(&v, 2, 0) + "\n",
            }
        };
        let before = docio::value_at(&step.location, doc, "").ok().flatten();
        let after = match docio::new_content(&step.location, doc, &step.changes) {
            Ok(Some(bytes)) if text_doc => Some(Value::String(String::from_utf8_lossy(&bytes).trim().to_string())),
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
            _ => None,
        };
        unified(&mut out, &render(before), &render(after), 1);
        return out;
    }
    if let Some(big) = &doc.big {
        // a streamed document: the same regions, found through its index
        let edits: Vec<json::Edit> = step.changes.iter().map(Change::edit).collect();
        let indent = match big.style().indent {
            0 => 2,
            n => n,
        };
        match big.splices(&edits) {
            Ok(Some(splices)) => {
                for sp in splices {
                    let prefix = big.line_prefix(sp.span.start);
                    let depth = sp.unit.segs.len();
                    let b = format!("{prefix}{}\n", pretty_redacted(&sp.unit.before, indent, depth));
                    let a = format!("{prefix}{}\n", pretty_redacted(&sp.unit.after, indent, depth));
                    unified(&mut out, &b, &a, sp.line as usize);
                }
            }
            // the root object is re-serialized (a session added or removed): diffed as before
            Ok(None) => match doc.whole() {
                Ok(w) => return step_diff(step, &w, base),
                Err(e) => {
                    let _ = writeln!(out, "(cannot diff: {e})");
                }
            },
            Err(e) => {
                let _ = writeln!(out, "(cannot diff: {e})");
            }
        }
        return out;
    }
    let bytes = doc.bytes.as_deref().unwrap_or_default();
    let style = json::Style::detect(bytes);
    let edits: Vec<json::Edit> = step.changes.iter().map(Change::edit).collect();
    let units = match doc.idx() {
        Ok(idx) => json::units_indexed(bytes, idx, &edits),
        Err(e) => Err(e.to_string()),
    };
    match units {
        Ok(units) => {
            let mut line = 1usize;
            let mut counted = 0usize;
            for u in units {
                line += memchr::memchr_iter(b'\n', &bytes[counted..u.span.start]).count();
                counted = u.span.start;
                let line_start = bytes[..u.span.start].iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
                let prefix = String::from_utf8_lossy(&bytes[line_start..u.span.start]).to_string();
                let depth = u.segs.len();
                let indent = if style.indent == 0 { 2 } else { style.indent };
                let b = format!("{prefix}{}\n", pretty_redacted(&u.before, indent, depth));
                let a = format!("{prefix}{}\n", pretty_redacted(&u.after, indent, depth));
                unified(&mut out, &b, &a, line);
            }
        }
        // an error names files and values: one line, like every note
        Err(e) => crate::output::outln!(out, "(cannot diff: {e})"),
    }
    out
}

/// `render_plan` reading each document once through `docs`.
pub fn render_plan_with(plan: &Plan, base: &Path, docs: &mut clawauth_core::txn::engine::DocCache) -> String {
    let mut out = String::new();
    let ndocs = plan.document_count();
    crate::output::outln!(
        out,
        "Plan: {} — {} change{} in {} document{}",
        plan.summary,
        plan.change_count(),
        if plan.change_count() == 1 { "" } else { "s" },
        ndocs,
        if ndocs == 1 { "" } else { "s" }
    );
    for n in &plan.notes {
        crate::output::outln!(out, "  note: {n}");
    }
    for (i, s) in plan.steps.iter().enumerate() {
        crate::output::outln!(out);
        crate::output::outln!(out, "{}. {} — {}", i + 1, s.location.display(base), s.title);
        for c in &s.changes {
            crate::output::outln!(out, "     {}", describe_change(c));
        }
    }
    crate::output::outln!(out);
    for s in &plan.steps {
        match docs.get(&s.location) {
            Ok(doc) => out.push_str(&step_diff(s, doc, base)),
            Err(e) => {
                crate::output::outln!(out, "--- a/{}", s.location.display(base));
                crate::output::outln!(out, "(cannot read: {e})");
            }
        }
    }
    out
}

/// A plan as JSON for `--json`, redacted.
pub fn plan_json(plan: &Plan, base: &Path) -> Value {
    serde_json::json!({
        "workflow": plan.workflow,
        "summary": plan.summary,
        "agent": plan.agent,
        "notes": plan.notes,
        "steps": plan.steps.iter().enumerate().map(|(i, s)| serde_json::json!({
            "step": i + 1,
            "document": s.location.display(base),
            "title": s.title,
            "changes": s.changes.iter().map(|c| serde_json::json!({
                "pointer": c.pointer,
                "before": c.before.as_ref().map(|v| token::redact_at(&c.pointer, v)),
                "after": c.after.as_ref().map(|v| token::redact_at(&c.pointer, v)),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
