//! `doctor --fix` as data: every fixable finding's typed repair, planned (by a callback the
//! caller passes: it loads the agent's state) and combined into one plan. A fix that fails to
//! plan, or that touches the same values as an earlier one, is left out and named in the
//! plan's notes: run `doctor` again after applying.

use super::DoctorReport;
use crate::error::Result;
use crate::json::split_pointer;
use crate::txn::plan::Plan;
use crate::workflow::{merge_plans, Fix};
use serde_json::Value;

/// What `doctor --fix` would do.
#[derive(Debug)]
pub struct FixPlan {
    /// The combined plan, or `None` when no fix planned anything.
    pub plan: Option<Plan>,
    /// Fixes left out, and why.
    pub skipped: Vec<String>,
    /// Codes of the findings no repair exists for.
    pub reported: Vec<&'static str>,
}

/// Each distinct repair once (in report order), with the codes of the findings it fixes.
pub fn repairs(report: &DoctorReport) -> Vec<(&Fix, Vec<&'static str>)> {
    let mut out: Vec<(&Fix, Vec<&'static str>)> = vec![];
    for f in &report.findings {
        let Some(fix) = &f.repair else { continue };
        match out.iter_mut().find(|(x, _)| *x == fix) {
            Some((_, codes)) => {
                if !codes.contains(&f.code) {
                    codes.push(f.code)
                }
            }
            None => out.push((fix, vec![f.code])),
        }
    }
    out
}

/// Plan every repair with `plan_one` and combine them into one `doctor --fix` plan.
pub fn plan(report: &DoctorReport, mut plan_one: impl FnMut(&Fix) -> Result<Plan>) -> FixPlan {
    let mut merged: Option<Plan> = None;
    let mut accepted: Vec<Plan> = vec![];
    let mut skipped: Vec<String> = vec![];
    let mut fixed_codes: Vec<&'static str> = vec![];
    for (fix, codes) in repairs(report) {
        let cmd = fix.command_line();
        match plan_one(fix) {
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
                // always combine the original plans, never a combination again: each step is
                // labelled once by its own workflow (not "resync + resync: resync: ...")
                let mut with = accepted.clone();
                with.push(p.clone());
                match merge_plans(with) {
                    Ok(c) => {
                        merged = Some(c);
                        accepted.push(p);
                        fixed_codes.extend(codes.iter().copied());
                    }
                    Err(e) => skipped.push(format!("skipped `{cmd}` ({}): {e}", codes.join(", "))),
                }
            }
            Err(e) => skipped.push(format!("skipped `{cmd}` ({}): {e}", codes.join(", "))),
        }
    }
    let reported: Vec<&'static str> = report.findings.iter().filter(|f| f.repair.is_none()).map(|f| f.code).collect();
    let Some(mut plan) = merged else {
        return FixPlan { plan: None, skipped, reported };
    };
    fixed_codes.dedup();
    plan.workflow = "doctor --fix".into();
    plan.summary = format!("fix {}", fixed_codes.join(", "));
    plan.notes.extend(skipped);
    if !reported.is_empty() {
        plan.notes.push(format!("report-only findings left alone: {}", reported.join(", ")));
    }
    FixPlan { plan: Some(plan), skipped: vec![], reported }
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
