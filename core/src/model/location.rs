//! Where a document lives: a file (`auth-profiles.json`, `sessions.json`, `codex_profile_id`,
//! the external repo, ...) or one SQLite cell (database, table, key column, key, value column).
//! Reading and writing them is `layout::store` and `txn::docio`.

use crate::json::Style;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// A JSON document; its style is read off the bytes.
    Json,
    /// One line of text (`codex_profile_id`); its value is a JSON string.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Location {
    File {
        path: PathBuf,
        format: FileFormat,
        /// Style for a file that does not exist yet (OpenClaw's for that file).
        new_style: Style,
    },
    Cell {
        db: PathBuf,
        table: String,
        key_col: String,
        key: String,
        value_col: String,
        /// OpenClaw's timestamp column for the row (`updated_at` / `updated_at_ms`), set to
        /// now (ms) on every write as OpenClaw does.
        ts_col: Option<String>,
    },
}

impl Location {
    pub fn json_file(path: impl Into<PathBuf>, new_style: Style) -> Self {
        Location::File { path: path.into(), format: FileFormat::Json, new_style }
    }
    pub fn text_file(path: impl Into<PathBuf>) -> Self {
        Location::File { path: path.into(), format: FileFormat::Text, new_style: Style::COMPACT }
    }
    pub fn cell(
        db: impl Into<PathBuf>,
        table: &str,
        key_col: &str,
        key: &str,
        value_col: &str,
        ts_col: Option<&str>,
    ) -> Self {
        Location::Cell {
            db: db.into(),
            table: table.into(),
            key_col: key_col.into(),
            key: key.into(),
            value_col: value_col.into(),
            ts_col: ts_col.map(str::to_owned),
        }
    }

    /// An agent database's credential row, `auth_profile_store('primary').store_json`.
    pub fn agent_store_row(db: impl Into<PathBuf>) -> Self {
        Location::cell(db, "auth_profile_store", "store_key", "primary", "store_json", Some("updated_at"))
    }

    /// An agent database's routing-state row, `auth_profile_state('primary').state_json`
    /// (layout C's state; layout D's per-agent overlay).
    pub fn agent_state_row(db: impl Into<PathBuf>) -> Self {
        Location::cell(db, "auth_profile_state", "state_key", "primary", "state_json", Some("updated_at"))
    }

    /// A row of the shared `state/openclaw.sqlite` `config_machine_state` table (layout D).
    pub fn machine_state_row(db: impl Into<PathBuf>, key: &str) -> Self {
        Location::cell(db, "config_machine_state", "state_key", key, "value_json", Some("updated_at_ms"))
    }

    /// One session's entry in an agent database's `session_nodes`.
    pub fn session_row(db: impl Into<PathBuf>, key: &str) -> Self {
        Location::cell(db, "session_nodes", "session_key", key, "entry_json", Some("updated_at"))
    }

    /// The validity flag of one session row (`session_nodes.entry_valid`), which doctor's
    /// re-validation sets once OpenClaw's checks pass.
    pub fn session_valid_flag(db: impl Into<PathBuf>, key: &str) -> Self {
        Location::cell(db, "session_nodes", "session_key", key, "entry_valid", None)
    }

    /// The path a person recognises, relative to `base` when inside it.
    pub fn display(&self, base: &Path) -> String {
        let rel = |p: &Path| crate::text::rel(base, p);
        match self {
            Location::File { path, .. } => rel(path),
            Location::Cell { db, table, key, value_col, .. } => format!("{}#{table}[{key}].{value_col}", rel(db)),
        }
    }

    /// The file this location lives in (the database for a cell).
    pub fn file(&self) -> &Path {
        match self {
            Location::File { path, .. } => path,
            Location::Cell { db, .. } => db,
        }
    }
}
