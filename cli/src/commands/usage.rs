//! `clawauth usage`: live Codex usage per profile, each fetched with its own token.

use super::{journal_path, load_state};
use crate::args::{Global, UsageArgs};
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::model::resolve::Rules;
use clawauth_core::report::usage::{build, check_endpoint, record, render, Options};
use clawauth_core::txn::journal::Journal;
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
    let mut report = build(&state, ctx, &opts)?;
    if a.record {
        let (_, jpath) = journal_path(g, ctx)?;
        let mut j = Journal::create(&jpath)?;
        report.recorded = Some(record(&mut j, &ctx.now_rfc3339(), &report)?);
    }
    if g.json {
        print_json(&report);
    } else {
        crate::output::print_text(&render(&report, state.now_ms));
    }
    Ok(if report.any_error() { 1 } else { 0 })
}
