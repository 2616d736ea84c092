//! `clawauth activate REPO_PROFILE`: copy a repo identity into the active slot, then verify.

use super::{load_state, mutate};
use crate::args::{Global, MutateArgs};
use clawauth_core::context::Context;
use clawauth_core::error::Result;
use clawauth_core::txn::engine::Outcome;
use clawauth_core::workflow::{activate, Repair};

pub fn run(
    g: &Global,
    ctx: &Context,
    repo_profile: String,
    session: Option<String>,
    force: bool,
    m: &MutateArgs,
) -> Result<i32> {
    let repair = Repair::Activate { repo_profile: repo_profile.clone(), session, force };
    let (outcome, code) = mutate(g, ctx, m, false, &repair)?;
    if matches!(outcome, Outcome::Applied(..)) {
        let state = load_state(g, ctx)?;
        let (id, _) = activate::repo_entry(&state, &repo_profile)?;
        eprintln!("{}", crate::output::line(&activate::verify(&state, &id)?));
    }
    Ok(code)
}
