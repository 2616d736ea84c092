//! `clawauth usage`: live Codex usage per profile, each fetched with its own token.

use super::{journal_path, load_state};
use crate::args::{Global, UsageArgs};
use crate::output::print_json;
use crate::output::usage::render;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::model::resolve::Rules;
use clawauth_core::report::usage::{build, check_endpoint, record, Options, ProfileUsage, UsageReport};
use clawauth_core::txn::journal::Journal;
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub fn run(g: &Global, a: &UsageArgs, rules: Option<Rules>, ctx: &Context) -> Result<i32> {
    if g.profile.as_deref().is_some_and(|p| p.contains(':')) {
        return Err(Error::Usage(format!(
            "--profile '{}' names an OpenClaw profile dir (~/.openclaw-NAME); select auth profiles with `usage ID...` or --profile-id ID",
            g.profile.as_deref().unwrap_or_default()
        )));
    }
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.timeout <= 600.0) {
        return Err(Error::Usage(format!("--timeout takes seconds in (0, 600], not {}", a.timeout)));
    }
    if a.concurrency == 0 || a.concurrency > 64 {
        return Err(Error::Usage(format!("--concurrency takes 1 to 64, not {}", a.concurrency)));
    }
    let endpoint = check_endpoint(&a.endpoint)?;
    let state = load_state(g, ctx)?;
    let opts = Options {
        endpoint,
        timeout: Duration::from_secs_f64(a.timeout),
        concurrency: a.concurrency,
        profiles: a.ids.iter().chain(&a.profile_ids).cloned().collect(),
        session: a.session.clone(),
        rules,
    };
    // a terminal gets a progress line while the requests are in flight, erased after
    let progress = !g.json && std::io::stderr().is_terminal();
    if progress {
        let host = opts.endpoint.split("://").nth(1).unwrap_or(&opts.endpoint).split('/').next().unwrap_or("");
        eprint!("asking {} for usage…", crate::output::text(host));
        let _ = std::io::stderr().flush();
    }
    let built = build(&state, ctx, &opts);
    if progress {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
    let mut report = built?;
    if a.record {
        let (_, jpath) = journal_path(g, ctx)?;
        let mut j = Journal::create(&jpath)?;
        report.recorded = Some(record(&mut j, &ctx.now_rfc3339(), &report)?);
    }
    if g.json {
        print_json(&report);
    } else if a.table {
        print_table(&report, state.now_ms);
    } else {
        crate::output::print_text(&render(&report, state.now_ms));
    }
    Ok(if report.any_error() { 1 } else { 0 })
}

/// `usage --table`: one line per profile. The identity is what the API answered (else what is
/// stored); a window is `% left` and its reset (UTC, and how far off); an error takes the
/// windows' place and names the host.
fn print_table(r: &UsageReport, now_ms: i64) {
    use clawauth_core::text::{relative, shorten};
    let several = r.agents.len() > 1;
    let mut rows = vec![vec![
        if several { "AGENT/PROFILE" } else { "PROFILE" }.to_string(),
        "IDENTITY".into(),
        "PLAN".into(),
        "5H".into(),
        "WEEK".into(),
    ]];
    let window = |p: &ProfileUsage, label: &str| -> String {
        let w = p
            .usage
            .as_ref()
            .and_then(|u| u.rate_limit.as_ref())
            .and_then(|l| l.windows.iter().find(|w| w.label == label));
        match w {
            None => "—".into(),
            Some(w) => {
                let left = w.percent_left.map(|l| format!("{:.0}% left", l)).unwrap_or_else(|| "? left".into());
                match w.reset_at {
                    Some(t) => {
                        let ms = t.saturating_mul(1000);
                        let at = clawauth_core::text::rfc3339_ms(ms);
                        // `05-01 14:00Z`: the date without the year, the time without seconds
                        let short = at.get(5..16).map(|s| s.replace('T', " ") + "Z").unwrap_or(at);
                        format!("{left}, {short} ({})", relative(ms, now_ms))
                    }
                    None => left,
                }
            }
        }
    };
    for a in &r.agents {
        for p in &a.profiles {
            let id = if several { format!("{}/{}", a.id, p.id) } else { p.id.clone() };
            let u = p.usage.as_ref();
            let email = u.and_then(|u| u.email.clone()).or_else(|| p.stored.email.clone());
            let acct = u.and_then(|u| u.account_id.clone()).or_else(|| p.stored.account_id.clone());
            let identity = match (email, acct) {
                (Some(e), Some(a)) => format!("{e} ({})", shorten(&a, 12)),
                (Some(e), None) => e,
                (None, Some(a)) => shorten(&a, 12),
                (None, None) => "—".into(),
            };
            let plan = u.and_then(|u| u.plan_type.clone()).or_else(|| p.stored.plan.clone()).unwrap_or("—".into());
            let mut row = vec![id, identity, plan];
            match &p.error {
                Some(e) => {
                    row.push(format!("error: {}", e.message));
                    row.push(String::new());
                }
                None => {
                    let limit = u.and_then(|u| u.rate_limit.as_ref()).and_then(|l| l.limit_reached) == Some(true);
                    row.push(window(p, "5h"));
                    row.push(window(p, "week") + if limit { "  LIMIT REACHED" } else { "" });
                }
            }
            rows.push(row);
        }
    }
    if rows.len() == 1 {
        crate::output::print_line("no Codex OAuth profiles");
        return;
    }
    let rows: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(|c| clawauth_core::sanitize::line(c).into_owned()).collect()).collect();
    let n = rows[0].len();
    let widths: Vec<usize> = (0..n).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        // an error row spans the window columns
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    crate::output::print_text(&out);
}
