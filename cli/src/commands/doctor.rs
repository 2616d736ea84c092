//! `clawauth doctor [--fix]`: every known problem with evidence and the command that fixes it;
//! `--fix` plans every suggested repair as one transaction.

use super::{load_state, mutating_engine, opts, tty};
use crate::args::{DoctorArgs, Global, MutateArgs};
use crate::output::print_json;
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::json::split_pointer;
use clawauth_core::model::resolve::Rules;
use clawauth_core::report::doctor::{self, DoctorReport, Options};
use clawauth_core::txn::plan::Plan;
use clawauth_core::workflow::merge_plans;
use serde_json::Value;
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
    let report = doctor::run(&state, &opts);
    if args.fix {
        return fix(&g, ctx, &report, &args.m);
    }
    if g.json {
        print_json(&report);
    } else {
        print!("{}", doctor::render(&report));
    }
    Ok(report.exit_code)
}

/// Split a fix command the way a POSIX shell would (`sh` above quotes with single quotes).
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        x => cur.push(x),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

/// Profile ids a plan removes (`/profiles/<id>` set to absent).
fn removed_ids(plan: &Plan) -> Vec<String> {
    let mut out = vec![];
    for c in plan.steps.iter().flat_map(|s| &s.changes) {
        let segs = split_pointer(&c.pointer);
        if segs.len() == 2 && segs[0] == "profiles" && c.after.is_none() && c.before.is_some() {
            out.push(segs[1].clone());
        }
    }
    out
}

/// Every string a plan writes (pins, order entries, lastGood, preference).
fn written_strings(plan: &Plan) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    for c in plan.steps.iter().flat_map(|s| &s.changes) {
        if let Some(a) = &c.after {
            walk(a, &mut out);
        }
    }
    out
}

/// `doctor --fix`: run every finding's own fix command through its planner (the very command
/// the report prints), combine the plans into one transaction, and hand it to the engine.
/// A fix that fails to plan, or that touches the same values as an earlier one, is left out
/// and named in the plan's notes: run `doctor` again after applying.
fn fix(g: &Global, ctx: &Context, report: &DoctorReport, m: &MutateArgs) -> Result<i32> {
    use clap::Parser;
    let mut engine = mutating_engine(g, ctx)?;
    let mut commands: Vec<(String, Vec<&'static str>)> = vec![];
    for f in report.findings.iter().filter(|f| f.fix.starts_with("clawauth ")) {
        match commands.iter_mut().find(|(c, _)| *c == f.fix) {
            Some((_, codes)) => {
                if !codes.contains(&f.code) {
                    codes.push(f.code)
                }
            }
            None => commands.push((f.fix.clone(), vec![f.code])),
        }
    }
    let mut merged: Option<Plan> = None;
    let mut skipped: Vec<String> = vec![];
    let mut fixed_codes: Vec<&'static str> = vec![];
    for (cmd, codes) in &commands {
        let planned = (|| -> std::result::Result<Plan, String> {
            let argv = shell_words(cmd).ok_or("unbalanced quotes")?;
            let cli = crate::args::Cli::try_parse_from(&argv).map_err(|e| e.to_string())?;
            let mut g2 = g.clone();
            g2.all_agents = false;
            g2.agent = cli.global.agent.clone().or(g.agent.clone());
            let (repair, _) =
                super::repair::from_command(cli.command).map_err(|_| "not a repair command".to_string())?;
            let state = load_state(&g2, ctx).map_err(|e| e.to_string())?;
            repair.plan(&state, &engine.journal).map_err(|e| e.to_string())
        })();
        match planned {
            Ok(p) if p.is_empty() => {}
            Ok(p) if merged.as_ref().is_some_and(|m| {
                // fixes are planned against the same starting state: one that removes a profile
                // another points a pin or order at (or the reverse) must wait for the next run
                let (mr, mw) = (removed_ids(m), written_strings(m));
                removed_ids(&p).iter().any(|id| mw.contains(id)) || written_strings(&p).iter().any(|w| mr.contains(w))
            }) =>
            {
                skipped.push(format!(
                    "skipped `{cmd}` ({}): it would remove a profile another fix points at, or point at one another fix removes; run `clawauth doctor` again after applying",
                    codes.join(", ")
                ))
            }
            Ok(p) => {
                let combined = match merged.take() {
                    None => Ok(p),
                    Some(prev) => merge_plans(vec![prev.clone(), p]).map_err(|e| (prev, e)),
                };
                match combined {
                    Ok(c) => {
                        merged = Some(c);
                        fixed_codes.extend(codes.iter().copied());
                    }
                    Err((prev, e)) => {
                        merged = Some(prev);
                        skipped.push(format!("skipped `{cmd}` ({}): {e}", codes.join(", ")));
                    }
                }
            }
            Err(e) => skipped.push(format!("skipped `{cmd}` ({}): {e}", codes.join(", "))),
        }
    }
    let reported: Vec<&str> =
        report.findings.iter().filter(|f| !f.fix.starts_with("clawauth ")).map(|f| f.code).collect();
    let Some(mut plan) = merged else {
        for s in &skipped {
            eprintln!("note: {s}");
        }
        if !reported.is_empty() {
            eprintln!("note: report-only findings are not changed by --fix: {}", reported.join(", "));
        }
        let outcome = engine.run(
            &Plan::new("doctor --fix", "no fixable finding"),
            &opts(m, false),
            &mut tty(g, m),
            "apply",
            None,
        )?;
        crate::output::outcome(&mut engine, &outcome, g.json);
        return Ok(0);
    };
    fixed_codes.dedup();
    plan.workflow = "doctor --fix".into();
    plan.summary = format!("fix {}", fixed_codes.join(", "));
    plan.notes.extend(skipped);
    if !reported.is_empty() {
        plan.notes.push(format!("report-only findings left alone: {}", reported.join(", ")));
    }
    let outcome = engine.run(&plan, &opts(m, false), &mut tty(g, m), "apply", None)?;
    crate::output::outcome(&mut engine, &outcome, g.json);
    Ok(0)
}
