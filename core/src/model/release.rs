//! Which OpenClaw release's behaviour applies: the `Rules` enum (one variant per verified rule
//! set, with the releases each covers), its parsing, and how the default is chosen from the
//! state on disk when `--rules` does not say.

use crate::model::{DbSchema, Layout};
use serde::Serialize;

/// A behaviour era. Storage layout and behaviour differ independently: 2026.4.5 and 2026.5.28
/// share the JSON files but not the pin rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Rules {
    /// OpenClaw 2026.4.5 and earlier (layout A): user pins survive cooldowns but not an order
    /// that excludes them; `blockedUntil` is ignored.
    #[serde(rename = "4.5")]
    V4_5,
    /// OpenClaw 2026.4.7 – 2026.7.x (layouts B, C): cooldown replaces even user pins; `/new`
    /// and compaction rotate auto pins; `openai` API keys join the `openai-codex` rotation.
    /// Checked against 2026.5.28 (tests/corpus); 7.35 also falls back to the stored profiles
    /// when a *stored* order names only missing ids, which 5.28 does not.
    #[serde(rename = "5.28")]
    V5_28,
    /// OpenClaw 2026.8 – 2026.9.6 (layout D): user pins are always kept; compaction no longer
    /// rotates; cooldowns can be scoped to one model.
    #[serde(rename = "9.6")]
    V9_6,
}

impl Rules {
    pub fn parse(s: &str) -> Option<Rules> {
        match s.trim().trim_start_matches("2026.") {
            "4.5" | "4" => Some(Rules::V4_5),
            "5.28" | "5" | "7.35" => Some(Rules::V5_28),
            "9.6" | "9" => Some(Rules::V9_6),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Rules::V4_5 => "2026.4.5",
            Rules::V5_28 => "2026.5.28",
            Rules::V9_6 => "2026.9.6",
        }
    }
}

/// The rules of the release that shipped a storage layout.
pub fn for_layout(layout: Layout) -> Rules {
    match layout {
        Layout::A | Layout::B | Layout::C => Rules::V5_28,
        Layout::D => Rules::V9_6,
    }
}

/// The rules of the release that wrote an agent's state: its layout's, except that an agent
/// database migrated to schema 23 or later was written by 2026.8+.
pub fn for_agent(layout: Layout, schemas: &[DbSchema]) -> Rules {
    if schemas.iter().any(|s| s.path.ends_with("openclaw-agent.sqlite") && s.user_version >= 23) {
        return Rules::V9_6;
    }
    for_layout(layout)
}
