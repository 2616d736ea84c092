//! The command line: clap definitions and one function per command. Commands call the library
//! and print; `main.rs` only maps errors to exit codes.

use crate::context::Context;
use crate::discover::{self, Selector};
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::journal::{self, Journal};
use crate::load::{self, LoadOptions};
use crate::resolve::Rules;
use crate::status;
use crate::workflow;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXIT_CODES: &str = "Exit codes:
  0  ok, or nothing to do
  1  error, or the change was declined
  2  usage error
  3  conflict: stale plan, lock held by a live process, undo conflict
  4  doctor found problems (warning or worse)";

#[derive(Parser, Debug)]
#[command(name = "clawauth", version, about = "See, explain and repair which OpenAI Codex account each OpenClaw chat really uses.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// OpenClaw state dir (default: $OPENCLAW_STATE_DIR, ~/.openclaw, legacy ~/.clawdbot)
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Named OpenClaw profile: uses ~/.openclaw-NAME
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Agent id (default: the default agent, usually `main`)
    #[arg(long, global = true, value_name = "ID")]
    pub agent: Option<String>,
    /// Work on every agent
    #[arg(long, global = true, conflicts_with = "agent")]
    pub all_agents: bool,
    /// External identity repo (default: <state>/codex-oauth-profiles.json)
    #[arg(long, global = true, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Profile id the external router copies identities into (default: <provider>:default)
    #[arg(long, global = true, value_name = "ID")]
    pub active_slot: Option<String>,
    /// Journal database (default: <state>/.clawauth/journal.db)
    #[arg(long, global = true, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Machine-readable output (stable, versioned schema)
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show every layer side by side: files, preference, active slot, order, profiles, sessions
    Status(StatusArgs),
    /// Run `status` on an embedded sample state in a temp dir (no OpenClaw needed)
    Demo,
    /// Rewrite or clear the stored auth order (like `openclaw models auth order set|clear`)
    #[command(subcommand)]
    Order(OrderCmd),
    /// Pin a session to a profile (sets authProfileOverride, its source and compaction count)
    Pin {
        /// Session key (case-variant alias keys of the same chat are pinned too)
        session: String,
        /// Profile id (`openai-codex:x` and `openai:x` are both accepted)
        profile: String,
        /// Who the pin belongs to: `user` (kept by OpenClaw) or `auto` (rotates)
        #[arg(long, default_value = "user")]
        source: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Remove a session's pin (all three authProfileOverride* fields)
    Unpin {
        session: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Apply a transaction saved with --dry-run (refused if the state changed since)
    Apply {
        txn: i64,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Undo a transaction as a new transaction (refused on conflicts unless --force)
    Undo {
        txn: i64,
        /// Undo only this step of the transaction
        #[arg(long, value_name = "N")]
        step: Option<usize>,
        /// Overwrite values changed since, and restore credentials older than the current ones
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Finish transactions a killed process left half-applied (all-before or all-after)
    Recover,
    /// List transactions, newest first
    Log {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show one transaction: metadata, steps, changes and diff (secrets redacted)
    Show { txn: i64 },
}

#[derive(Subcommand, Debug)]
pub enum OrderCmd {
    /// Set the order for a provider (unknown ids refused, duplicates removed)
    Set {
        provider: String,
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Remove the stored order for a provider (the config order, if any, takes over)
    Clear {
        provider: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct MutateArgs {
    /// Apply without asking (required when there is no terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only plan: print the preview and save it as a `planned` transaction
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Show one session (its key)
    #[arg(long, value_name = "KEY")]
    pub session: Option<String>,
    /// Show every session, including subagents and cron jobs
    #[arg(long, conflicts_with = "session")]
    pub all: bool,
    /// How many recent sessions to show by default
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Rules of which OpenClaw release to apply: 4.5, 5.28 or 9.6 (default: from the layout)
    #[arg(long, value_name = "VERSION")]
    pub rules: Option<String>,
}

pub fn selector(g: &Global) -> Selector {
    Selector {
        state_dir: g.state_dir.clone(),
        profile: g.profile.clone(),
        agent: g.agent.clone(),
        all_agents: g.all_agents,
    }
}

pub fn load_state(g: &Global, ctx: &Context) -> Result<crate::model::State> {
    let install = discover::discover(&selector(g), ctx)?;
    load::load(install, ctx, &LoadOptions { repo: g.repo.clone(), active_slot: g.active_slot.clone() })
}

fn parse_rules(s: &Option<String>) -> Result<Option<Rules>> {
    match s {
        None => Ok(None),
        Some(r) => {
            Rules::parse(r).map(Some).ok_or_else(|| Error::Usage(format!("--rules takes 4.5, 5.28 or 9.6, not '{r}'")))
        }
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("report serializes"));
}

pub fn run(cli: Cli, ctx: Context) -> Result<i32> {
    let g = &cli.global;
    let ctx = &ctx;
    match cli.command {
        Command::Status(a) => cmd_status(g, &a, ctx),
        Command::Demo => crate::demo::run(g, ctx),
        Command::Order(OrderCmd::Set { provider, ids, m }) => {
            mutate(g, ctx, &m, false, |s| workflow::order::set(s, &provider, &ids))
        }
        Command::Order(OrderCmd::Clear { provider, m }) => {
            mutate(g, ctx, &m, false, |s| workflow::order::clear(s, &provider))
        }
        Command::Pin { session, profile, source, m } => {
            mutate(g, ctx, &m, false, |s| workflow::pin::pin(s, &session, &profile, &source))
        }
        Command::Unpin { session, m } => mutate(g, ctx, &m, false, |s| workflow::pin::unpin(s, &session)),
        Command::Apply { txn, m } => {
            let mut engine = open_engine(g, ctx, true)?.expect("created");
            run_recovery(&mut engine, g.json)?;
            engine.apply_planned(txn, &opts(g, &m, false))?;
            Ok(0)
        }
        Command::Undo { txn, step, force, m } => {
            let mut engine = open_engine(g, ctx, true)?.expect("created");
            run_recovery(&mut engine, g.json)?;
            let (plan, forced) = engine.plan_undo(txn, step, force)?;
            engine.run(&plan, &opts(g, &m, forced), "undo", Some(txn))?;
            Ok(0)
        }
        Command::Recover => {
            let Some(mut engine) = open_engine(g, ctx, false)? else {
                println!("No journal: nothing to recover.");
                return Ok(0);
            };
            for line in engine.recover(false)? {
                println!("{line}");
            }
            Ok(0)
        }
        Command::Log { limit } => crate::audit::log(g, ctx, limit),
        Command::Show { txn } => crate::audit::show(g, ctx, txn),
    }
}

fn opts(g: &Global, m: &MutateArgs, force: bool) -> engine::Opts {
    engine::Opts { yes: m.yes, dry_run: m.dry_run, force, json: g.json }
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

pub fn open_engine<'a>(g: &Global, ctx: &'a Context, create: bool) -> Result<Option<Engine<'a>>> {
    let (state_dir, jpath) = journal_path(g, ctx)?;
    let Some(j) = Journal::open(&jpath, create)? else {
        return Ok(None);
    };
    Ok(Some(Engine::new(ctx, j, &state_dir, std::env::args().collect())))
}

fn run_recovery(engine: &mut Engine, _json: bool) -> Result<()> {
    for line in engine.recover(true)? {
        eprintln!("recover: {line}");
    }
    Ok(())
}

/// The shape of every mutating command: recover interrupted transactions first, load the
/// state, plan, then hand the plan to the engine.
fn mutate(
    g: &Global,
    ctx: &Context,
    m: &MutateArgs,
    force: bool,
    build: impl FnOnce(&crate::model::State) -> Result<crate::plan::Plan>,
) -> Result<i32> {
    let mut engine = open_engine(g, ctx, true)?.expect("created");
    run_recovery(&mut engine, g.json)?;
    let state = load_state(g, ctx)?;
    let plan = build(&state)?;
    engine.run(&plan, &opts(g, m, force), "apply", None)?;
    Ok(0)
}

pub fn cmd_status(g: &Global, a: &StatusArgs, ctx: &Context) -> Result<i32> {
    let rules = parse_rules(&a.rules)?;
    let state = load_state(g, ctx)?;
    let filter = status::SessionFilter { session: a.session.clone(), all: a.all, limit: a.limit };
    let report = status::build(&state, rules, &filter)?;
    if g.json {
        print_json(&report);
    } else {
        print!("{}", status::render(&report, state.now_ms));
    }
    Ok(0)
}
