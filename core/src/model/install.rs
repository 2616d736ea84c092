//! One OpenClaw installation as discovered: the state dir, the config and each agent's
//! directories, with where each came from (`layout::discover` finds them).

use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentPaths {
    pub id: String,
    pub agent_dir: PathBuf,
    pub sessions_dir: PathBuf,
    pub is_default: bool,
    /// Why this agent dir: `config agents.list`, `OPENCLAW_AGENT_DIR`, or `default`.
    pub dir_source: String,
}

#[derive(Debug, Clone)]
pub struct Install {
    pub state_dir: PathBuf,
    pub state_dir_source: String,
    pub config_path: PathBuf,
    pub config_source: String,
    /// Parsed `openclaw.json` (JSON5). `None` when absent.
    pub config: Option<Value>,
    /// Problems reading the config: shown, never fatal (OpenClaw falls back to defaults too).
    pub warnings: Vec<String>,
    /// The config exists but is no file clawauth (or OpenClaw) can read — a FIFO, a device, a
    /// directory, a broken link, too large: read as absent, and every change refused.
    pub config_unreadable: Option<String>,
    /// Every agent known from the config and the agents/ directory, default first.
    pub all_agents: Vec<AgentPaths>,
    /// The agents the command works on.
    pub selected: Vec<AgentPaths>,
}
