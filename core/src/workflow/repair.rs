//! `Repair`: one repair with its arguments, as a value. The CLI builds one from its arguments
//! and `doctor` attaches one to each fixable finding; both plan it through [`Repair::plan`],
//! and [`Fix::command_line`] renders the command a person would type for it.

use crate::error::Result;
use crate::model::State;
use crate::txn::journal::Journal;
use crate::txn::plan::Plan;
use std::path::PathBuf;

/// A repair with its arguments. Planning never writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    OrderSet {
        provider: String,
        ids: Vec<String>,
    },
    OrderClear {
        provider: String,
    },
    Pin {
        session: String,
        profile: String,
        source: String,
    },
    Unpin {
        session: String,
    },
    RestoreToken {
        profile: String,
        from: Vec<PathBuf>,
        force: bool,
    },
    /// `session: None` resyncs every chat.
    Resync {
        session: Option<String>,
        auto_only: bool,
    },
    Activate {
        repo_profile: String,
        session: Option<String>,
        force: bool,
    },
    /// `profile: None` clears every profile's windows.
    CooldownClear {
        profile: Option<String>,
    },
    ProfileRemove {
        id: String,
    },
    ProfileRename {
        old: String,
        new: String,
    },
    ProfileMerge {
        keep: String,
        drop: String,
    },
    PreferenceSet {
        id: String,
    },
    LastgoodSet {
        provider: String,
        id: String,
    },
    LastgoodClear {
        provider: String,
    },
    RekeyState,
    /// `session: None` re-validates every invalid row of the agent.
    Revalidate {
        session: Option<String>,
    },
}

impl Repair {
    /// The plan of this repair against `state` (and the journal, for restore sources).
    pub fn plan(&self, state: &State, journal: &Journal) -> Result<Plan> {
        use super::*;
        match self {
            Repair::OrderSet { provider, ids } => order::set(state, provider, ids),
            Repair::OrderClear { provider } => order::clear(state, provider),
            Repair::Pin { session, profile, source } => pin::pin(state, session, profile, source),
            Repair::Unpin { session } => pin::unpin(state, session),
            Repair::RestoreToken { profile, from, force } => {
                let journal = restore::journal_sources(journal)?;
                restore::plan(state, &restore::Args { profile, from, force: *force, journal })
            }
            Repair::Resync { session, auto_only } => resync::resync(state, session.as_deref(), *auto_only),
            Repair::Activate { repo_profile, session, force } => {
                activate::activate(state, repo_profile, session.as_deref(), *force)
            }
            Repair::CooldownClear { profile } => cooldown::clear(state, profile.as_deref()),
            Repair::ProfileRemove { id } => profile::remove(state, id),
            Repair::ProfileRename { old, new } => profile::rename(state, old, new),
            Repair::ProfileMerge { keep, drop } => profile::merge(state, keep, drop),
            Repair::PreferenceSet { id } => preference::set(state, id),
            Repair::LastgoodSet { provider, id } => lastgood::set(state, provider, id),
            Repair::LastgoodClear { provider } => lastgood::clear(state, provider),
            Repair::RekeyState => rekey::plan(state),
            Repair::Revalidate { session } => revalidate::plan(state, session.as_deref()),
        }
    }

    /// The one chat this repair reads and changes, when it needs no other session: the state
    /// can then be loaded with only that chat's rows (`LoadOptions::one_session`).
    /// `resync --session` and `revalidate --session` look at the named chat only (the blast
    /// radius of a pin change covers the sessions whose pin changes, auth being unchanged).
    pub fn one_session(&self) -> Option<&str> {
        match self {
            Repair::Pin { session, .. } | Repair::Unpin { session } => Some(session),
            Repair::Resync { session: Some(k), .. } | Repair::Revalidate { session: Some(k) } => Some(k),
            _ => None,
        }
    }

    /// The command's words after `clawauth` (each argument shell-quoted when it needs it).
    pub fn words(&self) -> String {
        let q = |s: &str| sh(s);
        match self {
            Repair::OrderSet { provider, ids } => {
                format!("order set {} {}", q(provider), ids.iter().map(|i| q(i)).collect::<Vec<_>>().join(" "))
            }
            Repair::OrderClear { provider } => format!("order clear {}", q(provider)),
            Repair::Pin { session, profile, source } => {
                let src = if source == "user" { String::new() } else { format!(" --source {}", q(source)) };
                format!("pin {} {}{src}", q(session), q(profile))
            }
            Repair::Unpin { session } => format!("unpin {}", q(session)),
            Repair::RestoreToken { profile, from, force } => {
                let mut s = format!("restore-token {}", q(profile));
                for f in from {
                    s.push_str(&format!(" --from {}", q(&f.display().to_string())));
                }
                if *force {
                    s.push_str(" --force");
                }
                s
            }
            Repair::Resync { session, auto_only } => {
                let mut s = match session {
                    Some(k) => format!("resync --session {}", q(k)),
                    None => "resync --all".to_string(),
                };
                if *auto_only {
                    s.push_str(" --auto-only");
                }
                s
            }
            Repair::Activate { repo_profile, session, force } => {
                let mut s = format!("activate {}", q(repo_profile));
                if let Some(k) = session {
                    s.push_str(&format!(" --session {}", q(k)));
                }
                if *force {
                    s.push_str(" --force");
                }
                s
            }
            Repair::CooldownClear { profile: Some(p) } => format!("cooldown clear {}", q(p)),
            Repair::CooldownClear { profile: None } => "cooldown clear --all".to_string(),
            Repair::ProfileRemove { id } => format!("profile remove {}", q(id)),
            Repair::ProfileRename { old, new } => format!("profile rename {} {}", q(old), q(new)),
            Repair::ProfileMerge { keep, drop } => format!("profile merge {} {}", q(keep), q(drop)),
            Repair::PreferenceSet { id } => format!("preference set {}", q(id)),
            Repair::LastgoodSet { provider, id } => format!("lastgood set {} {}", q(provider), q(id)),
            Repair::LastgoodClear { provider } => format!("lastgood clear {}", q(provider)),
            Repair::RekeyState => "rekey-state".to_string(),
            Repair::Revalidate { session: Some(k) } => format!("revalidate --session {}", q(k)),
            Repair::Revalidate { session: None } => "revalidate".to_string(),
        }
    }
}

/// A repair aimed at one agent (`None`: the default agent, or whichever the caller selected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub agent: Option<String>,
    pub repair: Repair,
}

impl Fix {
    pub fn new(agent: Option<String>, repair: Repair) -> Fix {
        Fix { agent, repair }
    }

    /// The command a person would type: `clawauth [--agent A ]WORDS`.
    pub fn command_line(&self) -> String {
        let flag = self.agent.as_ref().map(|a| format!("--agent {a} ")).unwrap_or_default();
        format!("clawauth {flag}{}", self.repair.words())
    }
}

/// Quote an argument for a POSIX shell when it needs it.
pub fn sh(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
