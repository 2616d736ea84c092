//! The command line: clap definitions and one function per command. Commands call the library
//! and print; `main.rs` only maps errors to exit codes.

use crate::context::Context;
use crate::discover::{self, Selector};
use crate::error::{Error, Result};
use crate::load::{self, LoadOptions};
use crate::resolve::Rules;
use crate::status;
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
    load::load(
        install,
        ctx,
        &LoadOptions {
            repo: g.repo.clone(),
            active_slot: g.active_slot.clone(),
        },
    )
}

fn parse_rules(s: &Option<String>) -> Result<Option<Rules>> {
    match s {
        None => Ok(None),
        Some(r) => Rules::parse(r)
            .map(Some)
            .ok_or_else(|| Error::Usage(format!("--rules takes 4.5, 5.28 or 9.6, not '{r}'"))),
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("report serializes")
    );
}

pub fn run(cli: Cli, ctx: Context) -> Result<i32> {
    match cli.command {
        Command::Status(a) => cmd_status(&cli.global, &a, &ctx),
        Command::Demo => crate::demo::run(&cli.global, &ctx),
    }
}

pub fn cmd_status(g: &Global, a: &StatusArgs, ctx: &Context) -> Result<i32> {
    let rules = parse_rules(&a.rules)?;
    let state = load_state(g, ctx)?;
    let filter = status::SessionFilter {
        session: a.session.clone(),
        all: a.all,
        limit: a.limit,
    };
    let report = status::build(&state, rules, &filter)?;
    if g.json {
        print_json(&report);
    } else {
        print!("{}", status::render(&report, state.now_ms));
    }
    Ok(0)
}
