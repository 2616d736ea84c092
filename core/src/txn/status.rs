//! What a journal transaction is and how far it got: [`TxnKind`] and [`TxnStatus`], enums
//! written to the journal (and to `--json`) as exactly the text the schema's CHECK constraints
//! list. A value read back that this clawauth does not know is an [`Unknown`], never a panic.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// An enum stored as text: each variant with its journal text (also its serde name), `ALL`,
/// `as_str`, `Display`, `FromStr` (an unknown text is an [`Unknown`] naming what is known) and
/// `ToSql`. One definition for every such enum of the journal.
macro_rules! journal_text {
    ($(#[$m:meta])* pub enum $name:ident as $what:literal {
        $($(#[$vm:meta])* $v:ident = $text:literal,)+
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $v,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The text in the journal and in `--json`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Unknown;
            fn from_str(s: &str) -> Result<Self, Unknown> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| Unknown {
                    what: $what,
                    value: s.to_string(),
                    known: $name::ALL.iter().map(|v| v.as_str()).collect(),
                })
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
    };
}

journal_text! {
    /// How far a transaction got (`txn.status`).
    pub enum TxnStatus as "status" {
        /// Saved by `--dry-run`: nothing written; `apply N` runs it, `discard N` throws it away.
        Planned = "planned",
        /// Intent recorded, writes under way (or a killed process left it: `recover` finishes it).
        Applying = "applying",
        Applied = "applied",
        /// A step failed; the written ones were reverted.
        Failed = "failed",
        /// Rolled back by `recover`, or a discarded plan (nothing of it was ever written).
        RolledBack = "rolled back",
    }
}

impl TxnStatus {
    /// A status nothing moves the transaction out of: it has an end time.
    pub fn is_final(self) -> bool {
        matches!(self, TxnStatus::Applied | TxnStatus::Failed | TxnStatus::RolledBack)
    }
}

journal_text! {
    /// What made a transaction (`txn.kind`). A migration and the repairs of `migrate --after` are
    /// recorded as `apply`, the restore of a migration as `undo`.
    pub enum TxnKind as "kind" {
        /// A repair (a workflow, `doctor --fix`, `apply N`, a migration).
        Apply = "apply",
        /// The inverse of an applied transaction (`reverts_txn` names it).
        Undo = "undo",
        /// The roll-back of an interrupted transaction (`reverts_txn` names it).
        Recover = "recover",
    }
}

/// A status or kind this clawauth does not know (a journal written by something else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// `status` or `kind`
    pub what: &'static str,
    pub value: String,
    pub known: Vec<&'static str>,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} '{}' (this clawauth knows {})", self.what, self.value, self.known.join(", "))
    }
}

impl std::error::Error for Unknown {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_matches_serde() {
        for &s in TxnStatus::ALL {
            assert_eq!(s.as_str().parse::<TxnStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for &k in TxnKind::ALL {
            assert_eq!(k.as_str().parse::<TxnKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(TxnStatus::RolledBack.to_string(), "rolled back");
    }

    #[test]
    fn an_unknown_value_says_what_is_known() {
        let e = "done".parse::<TxnStatus>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown status 'done' (this clawauth knows planned, applying, applied, failed, rolled back)"
        );
        assert!("migrate".parse::<TxnKind>().unwrap_err().to_string().starts_with("unknown kind 'migrate'"));
    }
}
