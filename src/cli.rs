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
    /// Restore one broken credential from a copy of the same identity (backups, repo, other agents, --from, journal)
    RestoreToken {
        /// Profile id to restore (`openai-codex:x` and `openai:x` are both accepted)
        profile: String,
        /// Also search this JSON file (`{profiles: {...}}`, a flat map, or one credential); repeatable
        #[arg(long = "from", value_name = "FILE")]
        from: Vec<PathBuf>,
        /// Restore even a copy older than a known rotation of the account
        #[arg(long)]
        force: bool,
        /// Only list the candidates with their freshness; change nothing
        #[arg(long)]
        list: bool,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Bring session pins in line with the order: re-select stale auto pins, migrate retired ids
    Resync {
        /// Only this chat (a user pin is resynced too when named here)
        #[arg(long, value_name = "KEY", conflicts_with = "all")]
        session: Option<String>,
        /// Every chat (the default)
        #[arg(long)]
        all: bool,
        /// Leave user pins alone even when named
        #[arg(long)]
        auto_only: bool,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Copy a repo identity into the active slot, write the preference, optionally pin a chat; then verify
    Activate {
        /// Repo profile id (in <state>/codex-oauth-profiles.json or --repo)
        repo_profile: String,
        /// Also pin this chat to the slot (user pin)
        #[arg(long, value_name = "KEY")]
        session: Option<String>,
        /// Copy even when the slot holds a newer rotation of the same account
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Cooldown, blocked and disabled windows in usageStats
    #[command(subcommand)]
    Cooldown(CooldownCmd),
    /// Remove, rename or merge profile ids, rewriting every reference
    #[command(subcommand, name = "profile")]
    ProfileCmd(ProfileCmd),
    /// The stored preference file <state>/codex_profile_id
    #[command(subcommand)]
    Preference(PreferenceCmd),
    /// The lastGood pointer per provider (OpenClaw does not select by it; a dangling one misleads)
    #[command(subcommand)]
    Lastgood(LastgoodCmd),
    /// Rename routing state keyed by retired `openai-codex` ids to the live `openai` ids (CA023)
    RekeyState {
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Live Codex usage per profile, each fetched with its own token; sessions and /status cross-check
    Usage(crate::usage::UsageArgs),
    /// Trace one session through every layer and name the layer that disagrees
    Explain(crate::explain::ExplainArgs),
    /// Find every known problem (CA001–CA023) with evidence and the command that fixes it; exit 4 if any
    Doctor(crate::doctor::DoctorArgs),
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

#[derive(Subcommand, Debug)]
pub enum CooldownCmd {
    /// Clear windows and reset errorCount/failureCounts for a profile, or every profile with --all
    Clear {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        profile: Option<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// Remove a profile and every reference (order, lastGood, usageStats; pins re-pinned or cleared)
    Remove {
        id: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Rename a profile id and rewrite every reference (never openclaw.json)
    Rename {
        old: String,
        new: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Fold DROP into KEEP when both hold one identity: freshest credential kept, references moved
    Merge {
        keep: String,
        drop: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum LastgoodCmd {
    /// Point lastGood[PROVIDER] at a profile
    Set {
        provider: String,
        id: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Remove lastGood[PROVIDER] from every routing document
    Clear {
        provider: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum PreferenceCmd {
    /// Write the stored preference (a live or repo profile id)
    Set {
        id: String,
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
        Some(r) => Rules::parse(r).map(Some).ok_or_else(|| {
            Error::Usage(format!("--rules takes an OpenClaw release (2026.5.2, 5.2, 4.5, ...), not '{r}'"))
        }),
    }
}

/// Print a report as pretty JSON, streamed (a 100k-session `status --all --json` is not built
/// as one string first).
pub fn print_json<T: serde::Serialize>(v: &T) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // a closed pipe (`| head`) is not an error worth a panic
    if serde_json::to_writer_pretty(&mut out, v).is_ok() {
        let _ = writeln!(out);
    }
    let _ = out.flush();
}

pub fn run(cli: Cli, ctx: Context) -> Result<i32> {
    let g = &cli.global;
    let ctx = &ctx;
    match cli.command {
        Command::Status(a) => cmd_status(g, &a, ctx),
        Command::Demo => crate::demo::run(g, ctx),
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
        Command::RestoreToken { profile, from, force, list: true, m: _ } => {
            cmd_restore_list(g, ctx, &profile, &from, force)
        }
        Command::Activate { repo_profile, session, force, m } => {
            let outcome = mutate_with(g, ctx, &m, false, |s, _| {
                workflow::activate::activate(s, &repo_profile, session.as_deref(), force)
            })?;
            if matches!(outcome, engine::Outcome::Applied(_)) {
                let state = load_state(g, ctx)?;
                let (id, _) = workflow::activate::repo_entry(&state, &repo_profile)?;
                eprintln!("{}", workflow::activate::verify(&state, &id)?);
            }
            Ok(0)
        }
        Command::Usage(a) => crate::usage::cmd_usage(g, &a, parse_rules(&a.rules)?, ctx),
        Command::Explain(a) => crate::explain::cmd_explain(g, &a, parse_rules(&a.rules)?, ctx),
        Command::Doctor(a) => crate::doctor::cmd_doctor(g, &a, parse_rules(&a.rules)?, ctx),
        other => match planner(other) {
            Ok(p) => {
                mutate_with(g, ctx, &p.m, p.force, p.build)?;
                Ok(0)
            }
            Err(cmd) => Err(Error::Usage(format!("{cmd:?} is not a command that changes state"))),
        },
    }
}

/// A planner: model (and journal, for restore sources) to plan. Never writes.
pub type BuildPlan = Box<dyn FnOnce(&crate::model::State, &Journal) -> Result<crate::plan::Plan>>;

/// A mutating command reduced to its planner: the same function `doctor --fix` composes.
pub struct Planner {
    pub m: MutateArgs,
    pub force: bool,
    pub build: BuildPlan,
}

fn p<F>(m: MutateArgs, build: F) -> Planner
where
    F: FnOnce(&crate::model::State, &Journal) -> Result<crate::plan::Plan> + 'static,
{
    Planner { m, force: false, build: Box::new(build) }
}

/// The planner of a command that changes state; any other command comes back unchanged.
pub fn planner(cmd: Command) -> std::result::Result<Planner, Box<Command>> {
    Ok(match cmd {
        Command::Order(OrderCmd::Set { provider, ids, m }) => {
            p(m, move |s, _| workflow::order::set(s, &provider, &ids))
        }
        Command::Order(OrderCmd::Clear { provider, m }) => p(m, move |s, _| workflow::order::clear(s, &provider)),
        Command::Pin { session, profile, source, m } => {
            p(m, move |s, _| workflow::pin::pin(s, &session, &profile, &source))
        }
        Command::Unpin { session, m } => p(m, move |s, _| workflow::pin::unpin(s, &session)),
        Command::RestoreToken { profile, from, force, list: false, m } => p(m, move |s, j| {
            let journal = workflow::restore::journal_sources(j)?;
            workflow::restore::plan(s, &workflow::restore::Args { profile: &profile, from: &from, force, journal })
        }),
        Command::Resync { session, all: _, auto_only, m } => {
            p(m, move |s, _| workflow::resync::resync(s, session.as_deref(), auto_only))
        }
        Command::Activate { repo_profile, session, force, m } => {
            p(m, move |s, _| workflow::activate::activate(s, &repo_profile, session.as_deref(), force))
        }
        Command::Cooldown(CooldownCmd::Clear { profile, all: _, m }) => {
            p(m, move |s, _| workflow::cooldown::clear(s, profile.as_deref()))
        }
        Command::ProfileCmd(ProfileCmd::Remove { id, m }) => p(m, move |s, _| workflow::profile::remove(s, &id)),
        Command::ProfileCmd(ProfileCmd::Rename { old, new, m }) => {
            p(m, move |s, _| workflow::profile::rename(s, &old, &new))
        }
        Command::ProfileCmd(ProfileCmd::Merge { keep, drop, m }) => {
            p(m, move |s, _| workflow::profile::merge(s, &keep, &drop))
        }
        Command::Preference(PreferenceCmd::Set { id, m }) => p(m, move |s, _| workflow::preference::set(s, &id)),
        Command::Lastgood(LastgoodCmd::Set { provider, id, m }) => {
            p(m, move |s, _| workflow::lastgood::set(s, &provider, &id))
        }
        Command::Lastgood(LastgoodCmd::Clear { provider, m }) => {
            p(m, move |s, _| workflow::lastgood::clear(s, &provider))
        }
        Command::RekeyState { m } => p(m, move |s, _| workflow::rekey::plan(s)),
        other => return Err(Box::new(other)),
    })
}

pub fn opts(g: &Global, m: &MutateArgs, force: bool) -> engine::Opts {
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

pub fn run_recovery(engine: &mut Engine, _json: bool) -> Result<()> {
    for line in engine.recover(true)? {
        eprintln!("recover: {line}");
    }
    Ok(())
}

/// The shape of every mutating command: recover interrupted transactions first, load the
/// state, plan, then hand the plan to the engine; returns the engine's outcome. A plan
/// that overrode a safety rule says so in a `forced: ` note and is recorded as forced.
pub fn mutate_with(
    g: &Global,
    ctx: &Context,
    m: &MutateArgs,
    force: bool,
    build: impl FnOnce(&crate::model::State, &Journal) -> Result<crate::plan::Plan>,
) -> Result<engine::Outcome> {
    let mut engine = open_engine(g, ctx, true)?.expect("created");
    run_recovery(&mut engine, g.json)?;
    let state = load_state(g, ctx)?;
    let plan = build(&state, &engine.journal)?;
    let forced = force || plan.notes.iter().any(|n| n.starts_with("forced: "));
    engine.run(&plan, &opts(g, m, forced), "apply", None)
}

/// `restore-token --list`: the candidates with their freshness; never creates a journal.
fn cmd_restore_list(g: &Global, ctx: &Context, profile: &str, from: &[PathBuf], force: bool) -> Result<i32> {
    use workflow::restore;
    let state = load_state(g, ctx)?;
    let journal = match open_engine(g, ctx, false)? {
        Some(e) => restore::journal_sources(&e.journal)?,
        None => vec![],
    };
    let listing = restore::candidates(&state, &restore::Args { profile, from, force, journal })?;
    if g.json {
        print_json(&serde_json::json!({"schema_version": 1, "restore_candidates": listing}));
    } else {
        print!("{}", restore::render_listing(&listing, state.now_ms));
    }
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
    // the process ends right after: freeing 100k session summaries one by one only costs time
    std::mem::forget(state);
    Ok(0)
}
