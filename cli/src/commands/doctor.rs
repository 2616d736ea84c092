//! `clawauth doctor [--fix]`: every known problem with evidence and the command that fixes it;
//! `--fix` plans every suggested repair as one transaction.

use super::{load_state, mutating_engine, opts, tty};
use crate::args::{DoctorArgs, Global, MutateArgs};
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::model::resolve::Rules;
use clawauth_core::report::doctor::{self, DoctorReport, Options};
use clawauth_core::txn::plan::Plan;
use std::path::PathBuf;

pub fn run(g: &Global, args: &DoctorArgs, rules: Option<Rules>, ctx: &Context) -> Result<i32> {
    let mut g = g.clone();
    // problems cross agents (inherited stores, shared refresh tokens): look at all by default
    if g.agent.is_none() {
        g.all_agents = true;
    }
    let state = load_state(&g, ctx)?;
    let opts = Options {
        rules,
        proc_dir: ctx.var("CLAWAUTH_PROC_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/proc")),
    };
    let mut report = doctor::run(&state, &opts);
    report.transactions = super::pending(&g, ctx);
    if args.fix {
        return fix(&g, ctx, &report, &args.m);
    }
    if g.json {
        print_json(&report);
    } else {
        crate::output::print_text(&crate::output::doctor::render(&report));
    }
    Ok(report.exit_code)
}

/// `doctor --fix`: every finding's typed repair planned on its agent (the one the finding
/// names, else the one selected), combined into ONE transaction handed to the engine.
fn fix(g: &Global, ctx: &Context, report: &DoctorReport, m: &MutateArgs) -> Result<i32> {
    let mut engine = mutating_engine(g, ctx)?;
    let fixes = doctor::fix::plan(report, |fix| {
        let mut g2 = g.clone();
        g2.all_agents = false;
        g2.agent = fix.agent.clone().or(g.agent.clone());
        let state = load_state(&g2, ctx)?;
        fix.repair.plan(&state, &engine.journal)
    });
    let plan = match fixes.plan {
        Some(plan) => plan,
        None => {
            for s in &fixes.skipped {
                eprintln!("note: {}", crate::output::line(s));
            }
            if !fixes.reported.is_empty() {
                eprintln!("note: report-only findings are not changed by --fix: {}", fixes.reported.join(", "));
            }
            Plan::new("doctor --fix", "no fixable finding")
        }
    };
    let outcome =
        engine.run(&plan, &opts(m, false), &mut tty(g, m), clawauth_core::txn::status::TxnKind::Apply, None)?;
    Ok(super::finish(g, ctx, &mut engine, &outcome, m))
}
