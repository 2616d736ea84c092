//! One file per command; this file dispatches and holds what they share: finding the state and
//! the journal, opening the engine (recovering first), and running a repair through it.

mod activate;
mod apply;
mod completions;
mod demo;
mod doctor;
mod explain;
mod log;
mod migrate;
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
use clawauth_core::layout::gateway;
use clawauth_core::layout::load::{self, LoadOptions};
use clawauth_core::live;
use clawauth_core::model::State;
use clawauth_core::txn::engine::{self, Engine};
use clawauth_core::txn::journal::{self, Journal};
use clawauth_core::txn::plan::Plan;
use clawauth_core::txn::settle;
use clawauth_core::txn::status::{TxnKind, TxnStatus};
use clawauth_core::txn::writer_lock;
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
        Command::Migrate(a) => migrate::run(g, ctx, &a),
        Command::Usage(a) => usage::run(g, &a, g.rules, ctx),
        Command::Explain(a) => explain::run(g, &a, g.rules, ctx),
        Command::Doctor(a) => doctor::run(g, &a, g.rules, ctx),
        other => match repair::from_command(other) {
            Ok((repair, m)) => Ok(mutate(g, ctx, &m, false, &repair)?.1),
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
    load_state_for(g, ctx, None)
}

/// `load_state` for a repair: a one-session repair reads only its chat's rows where the store
/// can look them up by key (`Repair::one_session`).
pub fn load_state_for(g: &Global, ctx: &Context, repair: Option<&Repair>) -> Result<State> {
    load_state_of(g, ctx, repair.and_then(Repair::one_session))
}

/// `load_state` reading, where it can, only the rows of the chat `one_session`.
fn load_state_of(g: &Global, ctx: &Context, one_session: Option<&str>) -> Result<State> {
    let install = discover::discover(&selector(g), ctx)?;
    let opts = LoadOptions {
        repo: g.repo.clone(),
        active_slot: g.active_slot.clone(),
        one_session: one_session.map(str::to_owned),
    };
    let mut state = load::load(install, ctx, &opts)?;
    for a in state.agents.iter_mut() {
        a.rules_override = g.rules;
    }
    Ok(state)
}

pub fn opts(m: &MutateArgs, force: bool) -> engine::Opts {
    engine::Opts { dry_run: m.dry_run, force }
}

pub fn tty(g: &Global, m: &MutateArgs) -> Tty {
    Tty { yes: m.yes, json: g.json, dry_run: m.dry_run }
}

/// The state dir (without loading it) and the journal path.
pub fn journal_path(g: &Global, ctx: &Context) -> Result<(PathBuf, PathBuf)> {
    let (state_dir, src) = discover::state_dir(&selector(g), ctx)?;
    if !state_dir.is_dir() {
        return Err(Error::NoState {
            what: format!("OpenClaw state dir {} does not exist (from {src})", state_dir.display()),
            hint: clawauth_core::error::STATE_DIR_HINT.into(),
        });
    }
    // a relative --journal (even a bare file name) is relative to the working directory
    let j = match &g.journal {
        Some(p) if p.is_relative() => std::path::absolute(p).map_err(|e| Error::io(p, e))?,
        Some(p) => p.clone(),
        None => journal::default_path(&state_dir),
    };
    Ok((state_dir, j))
}

fn engine_for<'a>(ctx: &'a Context, state_dir: &std::path::Path, j: Journal) -> Engine<'a> {
    let mut e = Engine::new(ctx, j, state_dir, std::env::args().collect());
    e.on_failpoint = |name| eprintln!("failpoint {name}: killing the process");
    e
}

/// The engine over an existing journal, read-only, if there is one (read-only commands never
/// create it).
pub fn open_engine<'a>(g: &Global, ctx: &'a Context) -> Result<Option<Engine<'a>>> {
    let (state_dir, jpath) = journal_path(g, ctx)?;
    Ok(Journal::open_read_only(&jpath)?.map(|j| engine_for(ctx, &state_dir, j)))
}

/// Interrupted and planned transactions, read from the journal if it exists (never created,
/// nothing recovered: `status` and `doctor` only tell). A journal that cannot be read is
/// left to the commands that need it.
pub fn pending(g: &Global, ctx: &Context) -> Vec<clawauth_core::report::status::PendingTxn> {
    use clawauth_core::report::status::PendingTxn;
    let Ok(Some(engine)) = open_engine(g, ctx) else { return vec![] };
    let mut out = vec![];
    for status in [TxnStatus::Applying, TxnStatus::Planned] {
        for row in engine.journal.with_status(status).unwrap_or_default() {
            let stale = match status {
                TxnStatus::Planned => match engine.journal.plan(&row) {
                    Ok(plan) => engine.preflight(&plan).err().map(|e| e.to_string()),
                    Err(e) => Some(e.to_string()),
                },
                _ => None,
            };
            let command = match (status, &stale) {
                (TxnStatus::Applying, _) => "clawauth recover".to_string(),
                (_, Some(_)) => format!(
                    "`clawauth discard {}` retires it (`clawauth apply {}` refuses it); plan it again with `clawauth {}`",
                    row.id,
                    row.id,
                    row.argv.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")
                ),
                _ => format!("clawauth apply {}", row.id),
            };
            out.push(PendingTxn {
                id: row.id,
                status,
                workflow: row.workflow.clone(),
                summary: row.summary.clone(),
                created_at: row.created_at.clone(),
                stale,
                command,
            });
        }
    }
    out
}

/// The engine of a writer: it first takes the state dir's writer lock (held until the engine
/// is dropped, waiting a bounded time for another clawauth, saying so on stderr) and gets the
/// journal lazily: it is created only when a transaction is recorded.
pub fn writer_engine<'a>(g: &Global, ctx: &'a Context) -> Result<Engine<'a>> {
    let (state_dir, jpath) = journal_path(g, ctx)?;
    let lock = writer_lock::acquire(&state_dir, ctx, &mut |msg| eprintln!("{}", crate::output::line(msg)))?;
    let j = Journal::open_lazy(&jpath)?;
    let mut engine = engine_for(ctx, &state_dir, j);
    engine.writer = Some(lock);
    Ok(engine)
}

/// The engine for a mutating command: the writer lock is taken, and transactions a killed
/// process left half-applied are finished first (a running gateway is told to reload what a
/// roll-back wrote).
pub fn mutating_engine<'a>(g: &Global, ctx: &'a Context) -> Result<Engine<'a>> {
    let mut engine = writer_engine(g, ctx)?;
    for line in engine.recover(true)? {
        eprintln!("recover: {}", crate::output::line(&line));
    }
    after_recover(g, ctx, &mut engine, false);
    Ok(engine)
}

/// Beside a running gateway: reload and settle each recovery transaction `recover` applied.
pub fn after_recover(g: &Global, ctx: &Context, engine: &mut Engine, json: bool) -> Vec<serde_json::Value> {
    let mut out = vec![];
    for id in std::mem::take(&mut engine.recovered) {
        let Ok(Some(row)) = engine.journal.txn(id) else { continue };
        let Ok(plan) = engine.journal.plan(&row) else { continue };
        if let Some(s) = settle(g, ctx, engine, id, &plan, true) {
            if !json {
                crate::output::settle(id, &s);
            }
            out.push(serde_json::json!({"txn": id, "settle": s}));
        }
    }
    out
}

/// After transaction `id` was applied: when a gateway serves this state dir, ask it to reload
/// (unless `reload` is false) and check that the change settled; record the result.
pub fn settle(
    g: &Global,
    ctx: &Context,
    engine: &mut Engine,
    id: i64,
    plan: &Plan,
    reload: bool,
) -> Option<settle::Settle> {
    let install = discover::discover(&selector(g), ctx).ok()?;
    let gw = gateway::detect(&install.state_dir, &install.config_path, install.config.as_ref(), ctx)?;
    let agents: Vec<String> = match &plan.agent {
        Some(a) => vec![a.clone()],
        None => install.all_agents.iter().map(|a| a.id.clone()).collect(),
    };
    if gw.foreign_host {
        eprintln!(
            "note: the gateway of this state dir runs on host {}: it was not asked to reload; run `openclaw gateway restart` there",
            crate::output::line(&gw.host)
        );
        return None;
    }
    if !reload {
        eprintln!(
            "note: gateway pid {} (port {}) was not asked to reload (--no-reload): it serves what it read before until it reloads or restarts (`openclaw gateway restart`)",
            gw.pid, gw.port
        );
        return None;
    }
    let token = live::token(install.config.as_ref(), ctx);
    let beside = settle::Beside { state_dir: &install.state_dir, gateway: &gw, token: token.as_deref() };
    // the re-read checks the auth order the gateway serves: after a session-row repair it reads
    // that chat's rows only (the order does not depend on the others), not every session
    let chat = plan.steps.iter().find_map(|s| match &s.location {
        clawauth_core::layout::store::Location::Cell { table, key, .. } if table == "session_nodes" => {
            Some(key.as_str())
        }
        _ => None,
    });
    let s = settle::settle(ctx, &beside, plan, &agents, reload, &mut || load_state_of(g, ctx, chat));
    if let Ok(v) = serde_json::to_value(&s) {
        if let Err(e) = engine.journal.record_settle(id, &v) {
            eprintln!("warning: could not record the settle check: {}", crate::output::line(&e.to_string()));
        }
    }
    Some(s)
}

/// Print a transaction's outcome (after the gateway settle check, so `--json` carries it);
/// returns the exit code: 1 when an applied change did not settle beside a running gateway.
pub fn finish(g: &Global, ctx: &Context, engine: &mut Engine, outcome: &engine::Outcome, m: &MutateArgs) -> i32 {
    let settled = match outcome {
        engine::Outcome::Applied(id, plan) => settle(g, ctx, engine, *id, plan, !m.no_reload).map(|s| (*id, s)),
        _ => None,
    };
    crate::output::outcome(engine, outcome, g.json, settled.as_ref());
    match &settled {
        Some((_, s)) if s.reload_requested && !s.settled => 1,
        _ => 0,
    }
}

/// The shape of every mutating command: recover interrupted transactions first, load the
/// state, plan, then hand the plan to the engine; returns the engine's outcome. A plan
/// that overrode a safety rule says so in a `forced: ` note and is recorded as forced.
pub fn mutate(
    g: &Global,
    ctx: &Context,
    m: &MutateArgs,
    force: bool,
    repair: &Repair,
) -> Result<(engine::Outcome, i32)> {
    let mut engine = mutating_engine(g, ctx)?;
    let state = load_state_for(g, ctx, Some(repair))?;
    let plan = repair.plan(&state, &engine.journal)?;
    // the model (every session's summary) is not needed to apply: free it before the engine
    // reads and rewrites the documents
    drop(state);
    let forced = force || plan.notes.iter().any(|n| n.starts_with("forced: "));
    let outcome = engine.run(&plan, &opts(m, forced), &mut tty(g, m), TxnKind::Apply, None)?;
    let code = finish(g, ctx, &mut engine, &outcome, m);
    Ok((outcome, code))
}
