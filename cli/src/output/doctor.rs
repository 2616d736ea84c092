//! The doctor report as text: one block per finding with its evidence and fix.

use clawauth_core::report::doctor::DoctorReport;
use serde_json::Value;

/// How many subjects the text output names before summarising.
const SUBJECTS_SHOWN: usize = 6;

/// How many evidence records per field the text output shows.
const EVIDENCE_LINES_SHOWN: usize = 5;

fn scalar(v: &Value, nested: bool) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        Value::Object(m) => {
            let inner = m
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| format!("{k}={}", scalar(x, true)))
                .collect::<Vec<_>>()
                .join(", ");
            if nested {
                format!("({inner})")
            } else {
                inner
            }
        }
        Value::Array(a) => a.iter().map(|x| scalar(x, nested)).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Evidence as text lines: lists of records get one line each, so a person can read them.
fn evidence_lines(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) if a.iter().any(Value::is_object) => {
            a.iter().map(|x| format!("  - {}", scalar(x, false))).collect()
        }
        other => vec![scalar(other, false)],
    }
}

pub fn render(r: &DoctorReport) -> String {
    let mut o = String::new();
    let agents: Vec<String> = r
        .agents
        .iter()
        .map(|a| format!("{} (layout {}, OpenClaw {} rules)", a.id, a.layout.name(), a.rules.name()))
        .collect();
    outln!(o, "clawauth doctor  {}", r.state_dir);
    outln!(o, "agents           {}", agents.join("; "));
    if let Some(rt) = &r.router {
        let held = match (&rt.holds, rt.slot_exists) {
            (Some(h), _) => format!("holds repo identity {h}; its copies of that login are by design"),
            (None, true) => "holds no repo identity".to_string(),
            (None, false) => "does not exist".to_string(),
        };
        outln!(o, "router           active slot {} {held}", rt.slot);
    }
    for l in super::status::pending_lines(&r.transactions) {
        outln!(o, "transaction      {l}");
    }
    for w in &r.warnings {
        outln!(o, "warning          {w}");
    }
    if r.findings.is_empty() {
        outln!(o);
        outln!(o, "No problems found.");
        return o;
    }
    for f in &r.findings {
        outln!(o);
        outln!(
            o,
            "{:<7}  {}  {}{}",
            f.severity.as_str().to_uppercase(),
            f.code,
            f.title,
            f.agent.as_ref().map(|a| format!("  [agent {a}]")).unwrap_or_default()
        );
        let pad = "                ";
        outln!(o, "{pad}{}", f.message);
        outln!(o, "{pad}layers    {}", f.layers.join(", "));
        // aggregated findings can name thousands of sessions: the JSON has them all
        let shown: Vec<&str> = f.subjects.iter().take(SUBJECTS_SHOWN).map(String::as_str).collect();
        let more = f.subjects.len().saturating_sub(SUBJECTS_SHOWN);
        let more = if more > 0 { format!(" (+{more} more; --json lists all)") } else { String::new() };
        outln!(o, "{pad}subjects  {}{more}", shown.join(", "));
        for (k, v) in &f.evidence {
            if v.is_null() || v == &Value::Bool(false) || v.as_array().is_some_and(|a| a.is_empty()) {
                continue;
            }
            let lines = evidence_lines(v);
            if lines.len() == 1 && !lines[0].starts_with("  - ") {
                outln!(o, "{pad}evidence  {k}: {}", clawauth_core::text::shorten(&lines[0], 300));
            } else {
                outln!(o, "{pad}evidence  {k}:");
                let n = lines.len();
                for l in lines.into_iter().take(EVIDENCE_LINES_SHOWN) {
                    outln!(o, "{pad}          {}", clawauth_core::text::shorten(&l, 300));
                }
                if n > EVIDENCE_LINES_SHOWN {
                    outln!(o, "{pad}            … +{} more (--json has more)", n - EVIDENCE_LINES_SHOWN);
                }
            }
        }
        outln!(o, "{pad}fix       {}", f.fix);
        for alt in &f.fix_alternatives {
            outln!(o, "{pad}or        {alt}");
        }
    }
    let s = &r.summary;
    outln!(o);
    outln!(
        o,
        "{} finding(s): {} error(s), {} warning(s), {} info — exit {}",
        r.findings.len(),
        s.errors,
        s.warnings,
        s.infos,
        r.exit_code
    );
    o
}
