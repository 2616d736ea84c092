//! The library's error type. Every error names the file (or database cell) it is about and
//! what was expected there; the binary prints it once, at the edge, and maps each variant to an
//! exit code (`cli/src/output/mod.rs`).
//!
//! A message is one line of clawauth's own: it interpolates values from state files, the
//! journal and the network (a profile id, a session key, a file name) as they are, so `--json`
//! carries them exactly, and the text printer escapes every control character in it, a
//! newline included, so a value can never forge a line of an error. A message that lists
//! things (an undo's conflicts, a migration's differing paths) carries them as
//! `Error::details`, one line each, for the printer to put on lines of their own.

use std::path::{Path, PathBuf};

/// Exit codes shared by every command (documented in `--help`).
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const CONFLICT: i32 = 3;
    pub const FINDINGS: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    BadFile { path: PathBuf, what: String },
    #[error("{path}: {what}")]
    Sqlite { path: PathBuf, what: String },
    /// The command line asks for something impossible (bad value, wrong combination): exit 2.
    #[error("{0}")]
    Usage(String),
    /// The state (OpenClaw's files or the journal) is not what the command needs, e.g. a
    /// transaction in the wrong status: exit 1. A broken state is never a usage error.
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    NotFound(String),
    /// No OpenClaw state where the command looked (a missing or empty state dir): exit 1,
    /// with a hint saying where else to look.
    #[error("{what}")]
    NoState { what: String, hint: String },
    /// A stale plan, an undo conflict, a file changed since it was read: exit 3. `details`: the
    /// things it lists, one line each, shown below `what` (in the message: on lines of their
    /// own, indented by two spaces).
    #[error("{what}{}", indented(details))]
    Conflict { what: String, hint: Option<String>, details: Vec<String> },
    /// Another live process holds what the command must take: OpenClaw's file lock, a SQLite
    /// write lock past the busy timeout, an exclusive `state_leases` lease, the clawauth writer
    /// lock, a gateway running on the state dir. The message says who holds what: exit 3.
    /// `details` as for `Conflict` (each holder, when there are several).
    #[error("{what}{}", indented(details))]
    LockHeld { what: String, hint: String, details: Vec<String> },
    /// clawauth will not change this state as it is (a database schema it does not write, an
    /// agent that is read-only for it, a live file it could not read): exit 1.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Declined(String),
    #[error("journal {path}: {what}")]
    Journal { path: PathBuf, what: String },
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }
    pub fn bad(path: impl AsRef<Path>, what: impl Into<String>) -> Self {
        Error::BadFile { path: path.as_ref().to_path_buf(), what: what.into() }
    }
    pub fn sqlite(path: impl AsRef<Path>, what: impl std::fmt::Display) -> Self {
        Error::Sqlite { path: path.as_ref().to_path_buf(), what: what.to_string() }
    }
    pub fn conflict(what: impl Into<String>) -> Self {
        Error::Conflict { what: what.into(), hint: None, details: vec![] }
    }
    pub fn conflict_hint(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Conflict { what: what.into(), hint: Some(hint.into()), details: vec![] }
    }
    /// A conflict that lists things: `what` ends with a colon, each of `details` is one line.
    pub fn conflict_list(what: impl Into<String>, details: Vec<String>, hint: impl Into<String>) -> Self {
        Error::Conflict { what: what.into(), hint: Some(hint.into()), details }
    }

    pub fn lock_held(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::LockHeld { what: what.into(), hint: hint.into(), details: vec![] }
    }
    /// A lock held by several: `what` ends with a colon, each holder is one line of `details`.
    pub fn lock_held_list(what: impl Into<String>, details: Vec<String>, hint: impl Into<String>) -> Self {
        Error::LockHeld { what: what.into(), hint: hint.into(), details }
    }

    /// The message without its details: what the printer shows after `error:`.
    pub fn headline(&self) -> String {
        match self {
            Error::Conflict { what, .. } | Error::LockHeld { what, .. } => what.clone(),
            e => e.to_string(),
        }
    }

    /// The lines a message lists below its headline (see the module doc); empty for most.
    pub fn details(&self) -> &[String] {
        match self {
            Error::Conflict { details, .. } | Error::LockHeld { details, .. } => details,
            _ => &[],
        }
    }
    pub fn journal(path: impl AsRef<Path>, what: impl std::fmt::Display) -> Self {
        Error::Journal { path: path.as_ref().to_path_buf(), what: what.to_string() }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Conflict { hint, .. } => hint.clone(),
            Error::NoState { hint, .. } | Error::LockHeld { hint, .. } => Some(hint.clone()),
            Error::Declined(_) => {
                Some("re-run with --yes to apply without a terminal, or --dry-run to see the plan (saved as a planned transaction)".into())
            }
            _ => None,
        }
    }
}

/// The details of a message as they follow its headline: each on a line of its own.
fn indented(details: &[String]) -> String {
    details.iter().map(|d| format!("\n  {d}")).collect()
}

/// Where OpenClaw keeps its state, for the hint of a missing or empty state dir.
pub const STATE_DIR_HINT: &str = "point --state-dir at OpenClaw's state dir (default $OPENCLAW_STATE_DIR, else ~/.openclaw, else ~/.clawdbot), or use --profile NAME for ~/.openclaw-NAME";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_lines_of_their_own_and_values_stay_exact() {
        let e = Error::conflict_list(
            "cannot undo transaction 1; changed since:",
            vec!["a.json /k\nFAKE: now 1".into(), "b.json /x: now 2".into()],
            "pass --force",
        );
        assert_eq!(
            e.to_string(),
            "cannot undo transaction 1; changed since:\n  a.json /k\nFAKE: now 1\n  b.json /x: now 2"
        );
        assert_eq!(e.headline(), "cannot undo transaction 1; changed since:");
        assert_eq!(e.details().len(), 2);
        let one = Error::State("no profile 'x\nFAKE'".into());
        assert_eq!(one.headline(), one.to_string());
        assert!(one.details().is_empty());
    }
}
