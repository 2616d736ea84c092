//! What a journal transaction is and how far it got: [`TxnKind`] and [`TxnStatus`], enums
//! written to the journal (and to `--json`) as exactly the text the schema's CHECK constraints
//! list. A value read back that this clawauth does not know is an [`Unknown`], never a panic.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How far a transaction got (`txn.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TxnStatus {
    /// Saved by `--dry-run`: nothing written; `apply N` runs it, `discard N` throws it away.
    #[serde(rename = "planned")]
    Planned,
    /// Intent recorded, writes under way (or a killed process left it: `recover` finishes it).
    #[serde(rename = "applying")]
    Applying,
    #[serde(rename = "applied")]
    Applied,
    /// A step failed; the written ones were reverted.
    #[serde(rename = "failed")]
    Failed,
    /// Rolled back by `recover`, or a discarded plan (nothing of it was ever written).
    #[serde(rename = "rolled back")]
    RolledBack,
}

impl TxnStatus {
    pub const ALL: [TxnStatus; 5] =
        [TxnStatus::Planned, TxnStatus::Applying, TxnStatus::Applied, TxnStatus::Failed, TxnStatus::RolledBack];

    /// The text in the journal and in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnStatus::Planned => "planned",
            TxnStatus::Applying => "applying",
            TxnStatus::Applied => "applied",
            TxnStatus::Failed => "failed",
            TxnStatus::RolledBack => "rolled back",
        }
    }

    /// A status nothing moves the transaction out of: it has an end time.
    pub fn is_final(self) -> bool {
        matches!(self, TxnStatus::Applied | TxnStatus::Failed | TxnStatus::RolledBack)
    }
}

/// What made a transaction (`txn.kind`). A migration and the repairs of `migrate --after` are
/// recorded as `apply`, the restore of a migration as `undo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TxnKind {
    /// A repair (a workflow, `doctor --fix`, `apply N`, a migration).
    #[serde(rename = "apply")]
    Apply,
    /// The inverse of an applied transaction (`reverts_txn` names it).
    #[serde(rename = "undo")]
    Undo,
    /// The roll-back of an interrupted transaction (`reverts_txn` names it).
    #[serde(rename = "recover")]
    Recover,
}

impl TxnKind {
    pub const ALL: [TxnKind; 3] = [TxnKind::Apply, TxnKind::Undo, TxnKind::Recover];

    /// The text in the journal and in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Apply => "apply",
            TxnKind::Undo => "undo",
            TxnKind::Recover => "recover",
        }
    }
}

impl fmt::Display for TxnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TxnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

impl FromStr for TxnStatus {
    type Err = Unknown;
    fn from_str(s: &str) -> Result<Self, Unknown> {
        TxnStatus::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| Unknown {
            what: "status",
            value: s.to_string(),
            known: TxnStatus::ALL.iter().map(|v| v.as_str()).collect(),
        })
    }
}

impl FromStr for TxnKind {
    type Err = Unknown;
    fn from_str(s: &str) -> Result<Self, Unknown> {
        TxnKind::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| Unknown {
            what: "kind",
            value: s.to_string(),
            known: TxnKind::ALL.iter().map(|v| v.as_str()).collect(),
        })
    }
}

impl rusqlite::ToSql for TxnStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::ToSql for TxnKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_matches_serde() {
        for s in TxnStatus::ALL {
            assert_eq!(s.as_str().parse::<TxnStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for k in TxnKind::ALL {
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
