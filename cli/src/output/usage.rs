//! The usage report as text.

use clawauth_core::report::usage::*;
use clawauth_core::text::{relative, rfc3339_ms, secs};
use serde_json::Value;
use std::time::Duration;

// text

fn pct(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.0}%")
    } else {
        format!("{f:.1}%")
    }
}

/// `88% left, resets 2026-05-01T14:00:00Z (in 1h)`
pub fn window_text(w: &UsageWindow, now_ms: i64) -> String {
    let left = w.percent_left.map(|l| format!("{} left", pct(l))).unwrap_or_else(|| "? left".into());
    match w.reset_at {
        Some(r) => format!(
            "{left}, resets {} ({})",
            rfc3339_ms(r.saturating_mul(1000)),
            relative(r.saturating_mul(1000), now_ms)
        ),
        None => left,
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("—")
}

fn limits_lines(o: &mut String, prefix: &str, l: &Limits, now: i64) {
    for w in &l.windows {
        outln!(o, "    {prefix}{:<6} {}", w.label, window_text(w, now));
    }
    if l.limit_reached == Some(true) {
        outln!(o, "    {prefix}LIMIT REACHED");
    }
}

pub fn render(r: &UsageReport, now: i64) -> String {
    let mut o = String::new();
    outln!(
        o,
        "usage from {}{USAGE_PATH}, each profile with its own token (timeout {}, {} at a time)",
        r.endpoint,
        secs(Duration::from_secs_f64(r.timeout_seconds)),
        r.concurrency
    );
    let slot = &r.active_slot;
    outln!(
        o,
        "active slot {}{}",
        slot.id,
        match (&slot.holds, slot.exists) {
            (_, false) => " (not present)".to_string(),
            (Some(h), true) => format!(" (holds repo identity {h})"),
            (None, true) => String::new(),
        }
    );
    for a in &r.agents {
        outln!(o);
        outln!(o, "agent {} — provider {}, rules OpenClaw {}", a.id, a.provider, a.rules.name());
        if a.profiles.is_empty() {
            outln!(o, "  no Codex OAuth profiles");
        }
        for p in &a.profiles {
            let mut tags = vec![];
            if p.active_slot {
                tags.push("active slot".to_string());
            }
            if p.inherited {
                tags.push("from main".to_string());
            }
            let tags = if tags.is_empty() { String::new() } else { format!("  [{}]", tags.join(", ")) };
            outln!(o);
            outln!(o, "  {}{tags}", p.id);
            let s = &p.stored;
            outln!(
                o,
                "    stored  account {}, user {}, {}, plan {}, token {} ({})",
                opt(&s.account_id),
                opt(&s.user_id),
                opt(&s.email),
                opt(&s.plan),
                opt(&s.access_fp),
                s.token_state.as_str()
            );
            if let Some(u) = &p.usage {
                outln!(
                    o,
                    "    api     account {}, user {}, {}, plan {}",
                    opt(&u.account_id),
                    opt(&u.user_id),
                    opt(&u.email),
                    opt(&u.plan_type)
                );
                match &u.rate_limit {
                    Some(l) => limits_lines(&mut o, "", l, now),
                    None => {
                        outln!(o, "    (no rate_limit in the answer)");
                    }
                }
                if let Some(l) = &u.code_review_rate_limit {
                    limits_lines(&mut o, "code review ", l, now);
                }
                for f in &p.flags {
                    outln!(o, "    FLAG    {f}");
                }
            }
            if let Some(e) = &p.error {
                outln!(o, "    error   {}", e.message);
            }
        }
        if !a.identity.is_empty() {
            outln!(o);
            outln!(o, "  identity:");
            for n in &a.identity {
                outln!(o, "    {}", n.message);
            }
        }
        if !a.sessions.is_empty() {
            outln!(o);
            outln!(o, "  sessions (effective profile vs the profile /status shows usage for):");
            let mut rows = vec![vec!["SESSION".to_string(), "EFFECTIVE".into(), "USAGE SHOWN FOR".into()]];
            for s in &a.sessions {
                rows.push(vec![
                    s.key.clone(),
                    s.effective
                        .as_ref()
                        .map(|e| format!("{e} ({})", s.effective_source.as_deref().unwrap_or("?")))
                        .unwrap_or_else(|| "none".into()),
                    match (&s.usage_source, s.differs) {
                        (Some(u), true) => format!("{u} (differs!)"),
                        (Some(u), false) => u.clone(),
                        (None, _) => "—".into(),
                    },
                ]);
            }
            o.push_str(&super::table(&rows, "    "));
        }
        if let Some(c) = &a.cross_check {
            outln!(o);
            outln!(o, "  cross-check {}:", c.session);
            outln!(o, "    {}", c.message);
            if c.differs {
                o.push_str(&side_by_side(c, now));
            }
        }
    }
    if let Some(n) = r.recorded {
        outln!(o);
        outln!(o, "recorded {n} usage snapshot(s) in the journal");
    }
    o
}

fn side_by_side(c: &CrossCheck, now: i64) -> String {
    let head = |id: &Option<String>, role: &str| format!("{} ({role})", opt(id));
    let mut labels: Vec<String> = vec![];
    for w in c.usage_source_windows.iter().chain(c.effective_windows.iter()).flatten() {
        if !labels.contains(&w.label) {
            labels.push(w.label.clone());
        }
    }
    let cell = |ws: &Option<Vec<UsageWindow>>, label: &str| match ws {
        None => "(no answer)".to_string(),
        Some(ws) => ws.iter().find(|w| w.label == label).map(|w| window_text(w, now)).unwrap_or_else(|| "—".into()),
    };
    let mut rows = vec![vec![
        "WINDOW".to_string(),
        head(&c.usage_source, "shown by /status"),
        head(&c.effective, "serves the session"),
    ]];
    for l in &labels {
        rows.push(vec![l.clone(), cell(&c.usage_source_windows, l), cell(&c.effective_windows, l)]);
    }
    if labels.is_empty() {
        rows.push(vec!["—".into(), cell(&c.usage_source_windows, ""), cell(&c.effective_windows, "")]);
    }
    super::table(&rows, "    ")
}

// ---------------------------------------------------------------------------------------------

/// One line per snapshot for `show`: `before  2026-…  id  account  5h 88% left, week 60% left`.
pub fn render_txn_snapshots(s: &[(String, UsageSnapshot)]) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut rows = vec![];
    for (when, s) in s {
        let what = match (&s.windows, &s.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(w), None) => {
                let parse = |k: &str| -> Vec<UsageWindow> {
                    w.get(k).and_then(|x| serde_json::from_value(x.clone()).ok()).unwrap_or_default()
                };
                let mut parts: Vec<String> = parse("windows")
                    .iter()
                    .map(|w| format!("{} {} left", w.label, w.percent_left.map(pct).unwrap_or_else(|| "?".into())))
                    .collect();
                parts.extend(parse("code_review").iter().map(|w| {
                    format!("code review {} {} left", w.label, w.percent_left.map(pct).unwrap_or_else(|| "?".into()))
                }));
                if w.get("limit_reached").and_then(Value::as_bool) == Some(true) {
                    parts.push("LIMIT REACHED".into());
                }
                parts.join(", ")
            }
            (None, None) => "—".into(),
        };
        rows.push(vec![
            when.clone(),
            s.taken_at.clone(),
            s.profile_id.clone(),
            s.account_id.clone().unwrap_or_else(|| "—".into()),
            what,
        ]);
    }
    format!("\nusage snapshots (within 10 minutes of this transaction):\n{}", super::table(&rows, "  "))
}
