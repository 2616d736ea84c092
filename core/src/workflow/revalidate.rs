//! `revalidate`: mark `session_nodes` rows valid again (`entry_valid = 1`) after checking each
//! entry the way OpenClaw 9.6's validator does (CA024). A row whose `entry_valid` is 0 — left
//! so by an outside edit, e.g. an earlier clawauth build — makes a running gateway refuse every
//! turn on that chat. A row the check rejects is not touched: only OpenClaw's own
//! `doctor --fix` (gateway stopped) may rebuild it.

use super::*;
use crate::txn::plan::Plan;
use serde_json::json;

pub fn plan(state: &State, session: Option<&str>) -> Result<Plan> {
    let agent = one_agent(state)?;
    require_writable(agent)?;
    let rows: Vec<_> = match session {
        Some(k) => {
            let keys = session_keys(agent, k)?;
            let rows: Vec<_> = agent.invalid_rows.iter().filter(|r| keys.contains(&r.key)).collect();
            if rows.is_empty() {
                return Err(Error::NotFound(format!(
                    "{} is valid for OpenClaw already: nothing to re-validate",
                    keys[0]
                )));
            }
            rows
        }
        None => agent.invalid_rows.iter().collect(),
    };
    let mut plan = Plan::new("revalidate", format!("re-validate {} session row(s) for OpenClaw", rows.len()));
    plan.agent = Some(agent.paths.id.clone());
    for r in rows {
        if let Some(why) = &r.problem {
            if session.is_some() {
                return Err(crate::layout::session_row::rejected(&r.db, &r.key, why));
            }
            plan.notes
                .push(format!("{} left as it is: {why}; run `openclaw doctor --fix` with the gateway stopped", r.key));
            continue;
        }
        plan.push_step(
            Location::session_valid_flag(&r.db, &r.key),
            format!("{}: entry_valid 0 -> 1 (the entry passes OpenClaw's checks)", r.key),
            vec![Change::new("", Some(json!(0)), Some(json!(1)))],
        );
    }
    Ok(plan)
}
