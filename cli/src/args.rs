//! The command line as clap sees it: global options (parsed once, into typed values) and one
//! variant per command with its arguments.

use clap::{Args, Parser, Subcommand};
use clawauth_core::model::resolve::Rules;
use std::path::PathBuf;

const EXIT_CODES: &str = "Exit codes:
  0  ok, or nothing to do
  1  error, or the change was declined (or refused: clawauth will not write this state as it is)
  2  usage error
  3  conflict: stale plan, lock held by a live process, undo conflict
  4  doctor found problems (warning or worse)
With --json every outcome is JSON on stdout, errors included: {\"error\": {...}, \"exit\": N}";

#[derive(Parser, Debug)]
#[command(name = "clawauth", version, about = "See, explain and repair which OpenAI Codex account each OpenClaw chat really uses.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
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
    /// Rules of which OpenClaw release to apply: 4.5, 5.28 or 9.6 (default: from the layout);
    /// honoured by every report and every repair's plan
    #[arg(long, global = true, value_name = "VERSION", value_parser = parse_rules)]
    pub rules: Option<Rules>,
    /// When to colour text output: auto (a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// `--color`: `auto` colours only a terminal and honours `NO_COLOR` / `CLICOLOR_FORCE`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorWhen {
    /// Colour on a terminal unless NO_COLOR is set (CLICOLOR_FORCE forces it)
    #[default]
    Auto,
    /// Always colour, even into a pipe
    Always,
    /// Never colour
    Never,
}

/// `demo --layout`: which sample state the demo walks through.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DemoLayout {
    /// Layout A: auth-profiles.json with inline routing state (OpenClaw up to 2026.4.5)
    A,
    /// Layout B: auth-profiles.json + auth-state.json (2026.4.7 – 2026.6.1)
    B,
    /// Layout C: per-agent openclaw-agent.sqlite (2026.6.5 – 2026.7.x)
    C,
    /// Layout D: state/openclaw.sqlite, what OpenClaw writes today (2026.8.1 – 2026.9.6)
    #[default]
    D,
    /// Layout B with an external router copying repo identities into an active slot
    Router,
}

/// `completions SHELL`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// Bash (source it, or put it in bash-completion's completions dir)
    Bash,
    /// Zsh (put it on $fpath as _clawauth)
    Zsh,
    /// Fish (~/.config/fish/completions/clawauth.fish)
    Fish,
    /// PowerShell (dot-source it from $PROFILE)
    Powershell,
}

/// `--rules`: a release (`4.5`, `2026.5.28`, `9.6`, ...) to the rule set it follows.
fn parse_rules(s: &str) -> Result<Rules, String> {
    Rules::parse(s).ok_or_else(|| format!("--rules takes an OpenClaw release (2026.5.2, 5.2, 4.5, ...), not '{s}'"))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show every layer side by side: files, preference, active slot, order, profiles, sessions
    #[command(
        after_help = "Examples:\n  clawauth status\n  clawauth status --session agent:main:telegram:direct:1001\n  clawauth status --all --json\n  clawauth --profile work status --rules 4.5"
    )]
    Status(StatusArgs),
    /// Walk a story on an embedded sample state in a temp dir: a chat on the wrong account, why, the fix, the undo
    Demo {
        /// Which sample layout to use
        #[arg(long, value_enum, default_value_t = DemoLayout::D)]
        layout: DemoLayout,
    },
    /// Rewrite or clear the stored auth order (like `openclaw models auth order set|clear`)
    #[command(subcommand)]
    Order(OrderCmd),
    /// Pin a session to a profile (sets authProfileOverride, its source and compaction count)
    #[command(
        after_help = "Examples:\n  clawauth pin agent:main:main openai:bob@example.com --dry-run\n  clawauth pin agent:main:main openai:bob@example.com --source auto --yes"
    )]
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
        /// Session key (case-variant alias keys of the same chat are unpinned too)
        session: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Apply a transaction saved with --dry-run (refused if the state changed since)
    Apply {
        /// Id of a planned transaction (see `clawauth plans`)
        txn: i64,
        #[command(flatten)]
        c: ConfirmArgs,
    },
    /// Undo a transaction as a new transaction (refused on conflicts unless --force)
    #[command(
        after_help = "Examples:\n  clawauth undo 3\n  clawauth undo --last --dry-run\n  clawauth undo 3 --step 2"
    )]
    Undo {
        /// Id of an applied transaction
        #[arg(required_unless_present = "last", conflicts_with = "last")]
        txn: Option<i64>,
        /// Undo the newest applied transaction that is not undone yet
        #[arg(long)]
        last: bool,
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
    #[command(
        after_help = "Examples:\n  clawauth log --since 2h\n  clawauth log --since 2026-05-01T00:00:00Z --workflow pin\n  clawauth log --limit 5 --json"
    )]
    Log(LogArgs),
    /// Show one transaction: metadata, steps, changes and diff (secrets redacted)
    Show {
        /// Transaction id (see `clawauth log`)
        txn: i64,
    },
    /// List planned transactions (saved with --dry-run), saying which are stale
    Plans,
    /// Discard planned transactions so they can never be applied (recorded in the journal)
    Discard {
        /// Ids of planned transactions
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        txns: Vec<i64>,
        /// Discard every planned transaction
        #[arg(long)]
        all: bool,
    },
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
    /// Mark session rows valid for OpenClaw again after checking them as it does (CA024)
    Revalidate {
        /// Only this chat (default: every invalid row of the agent)
        #[arg(long, value_name = "KEY")]
        session: Option<String>,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Rename routing state keyed by retired `openai-codex` ids to the live `openai` ids (CA023)
    RekeyState {
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Upgrade OpenClaw safely: snapshot the state dir, run OpenClaw's own migration, repair what it
    /// loses for each chat; `undo TXN` restores the pre-migration tree byte for byte
    Migrate(MigrateArgs),
    /// Live Codex usage per profile, each fetched with its own token; sessions and /status cross-check
    #[command(
        after_help = "Examples:\n  clawauth usage --table\n  clawauth usage openai:bob@example.com --json\n  HTTPS_PROXY=http://proxy:3128 NO_PROXY=localhost clawauth usage"
    )]
    Usage(UsageArgs),
    /// Trace one session through every layer and name the layer that disagrees
    #[command(
        after_help = "Examples:\n  clawauth explain agent:main:main\n  clawauth explain agent:main:main --new-session --json"
    )]
    Explain(ExplainArgs),
    /// Find every known problem (CA001–CA025) with evidence and the command that fixes it; exit 4 if any
    #[command(
        after_help = "Examples:\n  clawauth doctor\n  clawauth doctor --all-agents --json\n  clawauth doctor --fix --dry-run"
    )]
    Doctor(DoctorArgs),
    /// Print a shell completion script to stdout
    #[command(
        after_help = "Examples:\n  clawauth completions bash > ~/.local/share/bash-completion/completions/clawauth\n  clawauth completions zsh > ~/.zfunc/_clawauth\n  clawauth completions fish > ~/.config/fish/completions/clawauth.fish"
    )]
    Completions {
        /// Which shell
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command with --out
    #[command(after_help = "Examples:\n  clawauth man | man -l -\n  clawauth man --out ~/.local/share/man/man1")]
    Man {
        /// Write clawauth.1 and clawauth-COMMAND.1 pages into this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrderCmd {
    /// Set the order for a provider (unknown ids refused, duplicates removed)
    Set {
        /// Provider key (e.g. `openai-codex`, `openai`)
        provider: String,
        /// Profile ids, first choice first
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Remove the stored order for a provider (the config order, if any, takes over)
    Clear {
        /// Provider key (e.g. `openai-codex`, `openai`)
        provider: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CooldownCmd {
    /// Clear windows and reset errorCount/failureCounts for a profile, or every profile with --all
    Clear {
        /// Profile id
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        profile: Option<String>,
        /// Every profile of the agent
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
        /// Profile id to remove
        id: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Rename a profile id and rewrite every reference (never openclaw.json)
    Rename {
        /// Current profile id
        old: String,
        /// New profile id
        new: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Fold DROP into KEEP when both hold one identity: freshest credential kept, references moved
    Merge {
        /// Profile id that stays
        keep: String,
        /// Profile id folded into KEEP and removed
        drop: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum LastgoodCmd {
    /// Point lastGood[PROVIDER] at a profile
    Set {
        /// Provider key (e.g. `openai-codex`, `openai`)
        provider: String,
        /// Profile id
        id: String,
        #[command(flatten)]
        m: MutateArgs,
    },
    /// Remove lastGood[PROVIDER] from every routing document
    Clear {
        /// Provider key (e.g. `openai-codex`, `openai`)
        provider: String,
        #[command(flatten)]
        m: MutateArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum PreferenceCmd {
    /// Write the stored preference (a live or repo profile id)
    Set {
        /// Profile id (live or in the repo)
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
    /// Do not ask a running gateway to reload after the change (it keeps serving what it read)
    #[arg(long)]
    pub no_reload: bool,
}

/// For commands that run something already planned (`apply`): only `--yes`, since a dry run
/// of a planned transaction would mean nothing.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfirmArgs {
    /// Apply without asking (required when there is no terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not ask a running gateway to reload after the change (it keeps serving what it read)
    #[arg(long)]
    pub no_reload: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// How many transactions to list (newest first)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Only transactions created since this time: RFC 3339 (2026-05-01T12:00:00Z) or an age (90m, 2h, 3d, 1w)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only transactions of this workflow (as the WORKFLOW column shows it, e.g. pin, order-set)
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The OpenClaw to migrate with: its package dir, an install dir holding
    /// node_modules/openclaw, its openclaw.mjs, or an executable
    #[arg(long, value_name = "PATH", required_unless_present_any = ["before", "after"])]
    pub openclaw: Option<PathBuf>,
    /// The Node (24+) that runs openclaw.mjs (default: `node` on PATH)
    #[arg(long, value_name = "PATH")]
    pub node: Option<PathBuf>,
    /// Only snapshot and record (a pending migration); run OpenClaw's `doctor --fix
    /// --non-interactive` yourself, then `clawauth migrate --after`
    #[arg(long, conflicts_with = "after")]
    pub before: bool,
    /// Finish a pending migration after OpenClaw ran: compare every chat, repair, record
    #[arg(long)]
    pub after: bool,
    /// With --after: the migration transaction (default: the newest pending one)
    #[arg(long, value_name = "TXN", requires = "after")]
    pub txn: Option<i64>,
    /// Seconds OpenClaw's migration may run before it is killed
    #[arg(long, value_name = "S", default_value_t = 600)]
    pub timeout: u64,
    #[command(flatten)]
    pub m: MutateArgs,
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
}

#[derive(Args, Debug, Clone)]
pub struct UsageArgs {
    /// Only these profiles (repeatable; `openai-codex:x` and `openai:x` are both accepted).
    /// Default: every Codex OAuth profile of the agent
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Same as a positional ID (the global `--profile` names an OpenClaw profile dir instead)
    #[arg(long = "profile-id", value_name = "ID")]
    pub profile_ids: Vec<String>,
    /// Cross-check one session: the profile /status shows usage for vs the one that serves it
    #[arg(long, value_name = "KEY")]
    pub session: Option<String>,
    /// Per-request timeout in seconds
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub timeout: f64,
    /// Usage API base URL (plain http only to a loopback address)
    #[arg(long, value_name = "URL", default_value = clawauth_core::report::usage::DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// How many requests run at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Store the fetched windows in the journal (shown by `show TXN` near that transaction)
    #[arg(long)]
    pub record: bool,
    /// One line per profile: identity, plan, 5h and weekly windows (% left, reset time)
    #[arg(long, conflicts_with = "session")]
    pub table: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Session key (matched case-insensitively when the exact key is absent)
    pub session: String,
    /// Also show what the next reply after `/new` (a fresh session on this key) would use
    #[arg(long)]
    pub new_session: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Plan every suggested repair as ONE transaction (previewed, confirmed, journaled, undoable);
    /// "report only" findings are skipped
    #[arg(long)]
    pub fix: bool,
    #[command(flatten)]
    pub m: MutateArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command, subcommand, option and positional of every command (at any depth) has a
    /// one-line description; the global options sit under their own heading everywhere.
    #[test]
    fn help_walk_every_command_and_option_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>, checked: &mut usize) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                *checked += 1;
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                if help.trim().is_empty() {
                    missing.push(format!("{path} {id}"));
                }
                if a.is_global_set() && a.get_help_heading() != Some("Global options") {
                    missing.push(format!("{path} {id}: global option outside \"Global options\""));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                *checked += 1;
                if sub.get_about().map(|h| h.to_string()).unwrap_or_default().trim().is_empty() {
                    missing.push(p.clone());
                }
                walk(sub, &p, missing, checked);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let (mut missing, mut checked) = (vec![], 0);
        walk(&cmd, "clawauth", &mut missing, &mut checked);
        assert!(missing.is_empty(), "without a description: {missing:#?}");
        assert!(checked > 100, "walked only {checked} items");
        cmd.debug_assert();
    }

    #[test]
    fn profile_works_before_and_after_the_command() {
        for argv in [
            &["clawauth", "--profile", "work", "status"][..],
            &["clawauth", "status", "--profile", "work"],
            &["clawauth", "order", "set", "p", "x", "--profile", "work"],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(cli.global.profile.as_deref(), Some("work"), "{argv:?}");
        }
    }

    #[test]
    fn options_that_mean_nothing_are_refused() {
        // apply runs a saved plan: a dry run of it means nothing
        assert!(Cli::try_parse_from(["clawauth", "apply", "1", "--dry-run"]).is_err());
        assert!(Cli::try_parse_from(["clawauth", "apply", "1", "--yes"]).is_ok());
        // read-only commands take no --yes
        for cmd in ["status", "log", "plans", "doctor"] {
            let refused = Cli::try_parse_from(["clawauth", cmd, "--yes"]).is_err();
            assert_eq!(refused, cmd != "doctor", "{cmd} --yes");
        }
        assert!(Cli::try_parse_from(["clawauth", "undo"]).is_err(), "undo needs TXN or --last");
        assert!(Cli::try_parse_from(["clawauth", "undo", "3", "--last"]).is_err());
        assert!(Cli::try_parse_from(["clawauth", "undo", "--last"]).is_ok());
    }
}
