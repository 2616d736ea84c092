//! One file per command; this file dispatches and holds what they share: finding the state and
//! the journal, opening the engine (recovering first), and running a repair through it.

mod activate;
mod apply;
mod completions;
mod demo;
mod doctor;
mod explain;
mod log;
mod plans;
mod recover;
mod repair;
mod restore_token;
mod show;
mod status;
mod undo;
mod usage;

use crate::args::{Cli, Command, Global, MutateArgs};
use crate::prompt::Tty;
use clawauth_core::context::Context;
use clawauth_core::error::{Error, Result};
use clawauth_core::layout::discover::{self, Selector};
use clawauth_core::layout::load::{self, LoadOptions};
use clawauth_core::model::State;
use clawauth_core::txn::engine::{self, Engine};
use clawauth_core::txn::journal::{self, Journal};
use clawauth_core::workflow::Repair;
use std::path::PathBuf;

pub use demo::DEMO_WIDTH;
pub use status::cmd_status;

pub fn run(cli: Cli, ctx: Context) -> Result<i32> {
    let g = &cli.global;
    let ctx = &ctx;
    match cli.command {
        Command::Status(a) => status::cmd_status(g, &a, ctx),
        Command::Demo { layout } => demo::run(g, ctx, layout),
        Command::Apply { txn, c } => apply::run(g, ctx, txn, &c),
        Command::Undo { txn, last, step, force, m } => undo::run(g, ctx, txn, last, step, force, &m),
        Command::Recover => recover::run(g, ctx),
        Command::Log(a) => log::run(g, ctx, &a),
        Command::Show { txn } => show::run(g, ctx, txn),
        Command::Plans => plans::list(g, ctx),
        Command::Discard { txns, all } => plans::discard(g, ctx, &txns, all),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { out } => completions::man(out.as_deref()),
        Command::RestoreToken { profile, from, force, list: true, m: _ } => {
            restore_token::list(g, ctx, &profile, &from, force)
        }
        Command::Activate { repo_profile, session, force, m } => {
            activate::run(g, ctx, repo_profile, session, force, &m)
        }
        Command::Usage(a) => usage::run(g, &a, g.rules, ctx),
        Command::Explain(a) => explain::run(g, &a, g.rules, ctx),
        Command::Doctor(a) => doctor::run(g, &a, g.rules, ctx),
        other => match repair::from_command(other) {
            Ok((repair, m)) => {
                mutate(g, ctx, &m, false, &repair)?;
                Ok(0)
            }
            Err(cmd) => Err(Error::Usage(format!("{cmd:?} is not a command that changes state"))),
        },
    }
}

pub fn selector(g: &Global) -> Selector {
    Selector {
        state_dir: g.state_dir.clone(),
        profile: g.profile.clone(),
        agent: g.agent.clone(),
        all_agents: g.all_agents,
    }
}

/// Discover and load the state; `--rules` is set on every agent, so every computation on the
/// model (reports, blast radii, workflows' plans) uses the same rules.
pub fn load_state(g: &Global, ctx: &Context) -> Result<State> {
    let install = discover::discover(&selector(g), ctx)?;
    let mut state =
        load::load(install, ctx, &LoadOptions { repo: g.repo.clone(), active_slot: g.active_slot.clone() })?;
    for a in state.agents.iter_mut() {
        a.rules_override = g.rules;
    }
    Ok(state)
}

pub fn opts(m: &MutateArgs, force: bool) -> engine::Opts {
    engine::Opts { dry_run: m.dry_run, force }
}

pub fn tty(g: &Global, m: &MutateArgs) -> Tty {
    Tty { yes: m.yes, json: g.json }
}

/// The state dir (without loading it) and the journal path.
pub fn journal_path(g: &Global, ctx: &Context) -> Result<(PathBuf, PathBuf)> {
    let (state_dir, src) = discover::state_dir(&selector(g), ctx)?;
    if !state_dir.is_dir() {
        return Err(Error::NotFound(format!("OpenClaw state dir {} does not exist (from {src})", state_dir.display())));
    }
    let j = g.journal.clone().unwrap_or_else(|| journal::default_path(&state_dir));
    Ok((state_dir, j))
}

fn engine_for<'a>(ctx: &'a Context, state_dir: &std::path::Path, j: Journal) -> Engine<'a> {
    let mut e = Engine::new(ctx, j, state_dir, std::env::args().collect());
    e.on_failpoint = |name| eprintln!("failpoint {name}: killing the process");
    e
}

/// The engine over an existing journal, if there is one (read-only commands never create it).
pub fn open_engine<'a>(g: &Global, ctx: &'a Context) -> Result<Option<Engine<'a>>> {
    let (state_dir, jpath) = journal_path(g, ctx)?;
    Ok(Journal::open(&jpath)?.map(|j| engine_for(ctx, &state_dir, j)))
}

/// The engine for a mutating command: the journal is created when missing, and transactions a
/// killed process left half-applied are finished first.
pub fn mutating_engine<'a>(g: &Global, ctx: &'a Context) -> Result<Engine<'a>> {
    let (state_dir, jpath) = journal_path(g, ctx)?;
    let j = Journal::create(&jpath)?;
    let mut engine = engine_for(ctx, &state_dir, j);
    for line in engine.recover(true)? {
        eprintln!("recover: {}", crate::output::text(&line));
    }
    Ok(engine)
}

/// The shape of every mutating command: recover interrupted transactions first, load the
/// state, plan, then hand the plan to the engine; returns the engine's outcome. A plan
/// that overrode a safety rule says so in a `forced: ` note and is recorded as forced.
pub fn mutate(g: &Global, ctx: &Context, m: &MutateArgs, force: bool, repair: &Repair) -> Result<engine::Outcome> {
    let mut engine = mutating_engine(g, ctx)?;
    let state = load_state(g, ctx)?;
    let plan = repair.plan(&state, &engine.journal)?;
    let forced = force || plan.notes.iter().any(|n| n.starts_with("forced: "));
    let outcome = engine.run(&plan, &opts(m, forced), &mut tty(g, m), "apply", None)?;
    crate::output::outcome(&mut engine, &outcome, g.json);
    Ok(outcome)
}
