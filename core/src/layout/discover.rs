//! Finds an OpenClaw installation exactly as OpenClaw does (spec section 1): the state dir,
//! the config file, and each agent's directories. Nothing here reads credentials.

use crate::context::Context;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the command line says about where to look (all optional).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub state_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub agent: Option<String>,
    pub all_agents: bool,
}

pub use crate::model::install::{AgentPaths, Install};

pub fn expand_tilde(p: &str, ctx: &Context) -> PathBuf {
    if p == "~" {
        return ctx.home().unwrap_or_else(|| PathBuf::from("/"));
    }
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(h) = ctx.home() {
            return h.join(rest);
        }
    }
    PathBuf::from(p)
}

/// The state dir and why: flag, env var, profile, `~/.openclaw`, legacy `~/.clawdbot`.
pub fn state_dir(sel: &Selector, ctx: &Context) -> Result<(PathBuf, String)> {
    if let Some(d) = &sel.state_dir {
        return Ok((expand_tilde(&d.to_string_lossy(), ctx), "--state-dir".into()));
    }
    let home = ctx.home();
    if let Some(name) = &sel.profile {
        if name.is_empty() || name.contains('/') {
            return Err(Error::Usage(format!("invalid --profile name '{name}'")));
        }
        let h = home.ok_or_else(|| Error::Usage("--profile needs $HOME".into()))?;
        return Ok((h.join(format!(".openclaw-{name}")), format!("--profile {name}")));
    }
    if let Some(d) = ctx.var("OPENCLAW_STATE_DIR") {
        return Ok((expand_tilde(d, ctx), "$OPENCLAW_STATE_DIR".into()));
    }
    let h = home.ok_or_else(|| {
        Error::Usage("cannot find the OpenClaw state dir: set --state-dir, $OPENCLAW_STATE_DIR or $HOME".into())
    })?;
    let primary = h.join(".openclaw");
    if primary.exists() {
        return Ok((primary, "~/.openclaw".into()));
    }
    let legacy = h.join(".clawdbot");
    if legacy.exists() {
        return Ok((legacy, "legacy ~/.clawdbot".into()));
    }
    Ok((primary, "~/.openclaw (default; does not exist)".into()))
}

pub fn discover(sel: &Selector, ctx: &Context) -> Result<Install> {
    let (state_dir, state_dir_source) = state_dir(sel, ctx)?;
    if !state_dir.exists() {
        return Err(Error::NoState {
            what: format!("OpenClaw state dir {} does not exist (from {state_dir_source})", state_dir.display()),
            hint: crate::error::STATE_DIR_HINT.into(),
        });
    }
    if !state_dir.is_dir() {
        return Err(Error::bad(&state_dir, "is not a directory"));
    }
    let (config_path, config_source) = match ctx.var("OPENCLAW_CONFIG_PATH") {
        Some(p) => (expand_tilde(p, ctx), "$OPENCLAW_CONFIG_PATH".to_string()),
        None => (state_dir.join("openclaw.json"), "default".to_string()),
    };
    // a directory holding nothing OpenClaw writes is not a layout-A state with no profiles
    let marks = ["openclaw.json", "agents", "state", "codex_profile_id", "codex-oauth-profiles.json"];
    let holds_state = marks.iter().any(|m| std::fs::symlink_metadata(state_dir.join(m)).is_ok())
        || std::fs::symlink_metadata(&config_path).is_ok()
        || ctx.var("OPENCLAW_AGENT_DIR").is_some();
    if !holds_state {
        return Err(Error::NoState {
            what: format!(
                "no OpenClaw state in {} (from {state_dir_source}): no openclaw.json, agents/ or state/ in it",
                state_dir.display()
            ),
            hint: crate::error::STATE_DIR_HINT.into(),
        });
    }
    let mut warnings = vec![];
    let mut config_unreadable = None;
    let config = read_config(&config_path, &mut warnings, &mut config_unreadable);

    let mut agents: Vec<AgentPaths> = vec![];
    let list =
        config.as_ref().and_then(|c| c.pointer("/agents/list")).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut default_id: Option<String> = None;
    for a in &list {
        let Some(id) = a.get("id").and_then(Value::as_str) else {
            continue;
        };
        let id = normalize_agent_id(id);
        if a.get("default").and_then(Value::as_bool) == Some(true) && default_id.is_none() {
            default_id = Some(id.clone());
        }
        let (agent_dir, dir_source) = match a.get("agentDir").and_then(Value::as_str) {
            Some(d) => (resolve_user_path(d, ctx, &state_dir), "config agents.list[].agentDir".to_string()),
            None => (state_dir.join("agents").join(&id).join("agent"), "default".to_string()),
        };
        if !agents.iter().any(|x| x.id == id) {
            agents.push(AgentPaths {
                sessions_dir: state_dir.join("agents").join(&id).join("sessions"),
                id,
                agent_dir,
                is_default: false,
                dir_source,
            });
        }
    }
    let default_id = default_id.or_else(|| agents.first().map(|a| a.id.clone())).unwrap_or_else(|| "main".into());
    // directories that exist on disk are agents too
    if let Ok(rd) = std::fs::read_dir(state_dir.join("agents")) {
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for id in names {
            if !agents.iter().any(|x| x.id == id) {
                agents.push(AgentPaths {
                    agent_dir: state_dir.join("agents").join(&id).join("agent"),
                    sessions_dir: state_dir.join("agents").join(&id).join("sessions"),
                    id,
                    is_default: false,
                    dir_source: "default".into(),
                });
            }
        }
    }
    if !agents.iter().any(|x| x.id == default_id) {
        agents.push(AgentPaths {
            agent_dir: state_dir.join("agents").join(&default_id).join("agent"),
            sessions_dir: state_dir.join("agents").join(&default_id).join("sessions"),
            id: default_id.clone(),
            is_default: false,
            dir_source: "default".into(),
        });
    }
    for a in agents.iter_mut() {
        if a.id == default_id {
            a.is_default = true;
            if let Some(d) = ctx.var("OPENCLAW_AGENT_DIR") {
                a.agent_dir = expand_tilde(d, ctx);
                a.dir_source = "$OPENCLAW_AGENT_DIR".into();
            }
        }
    }
    agents.sort_by_key(|a| (!a.is_default, a.id != "main", a.id.clone()));

    let selected = if sel.all_agents {
        agents.clone()
    } else {
        let want = sel.agent.as_deref().map(normalize_agent_id).unwrap_or_else(|| default_id.clone());
        match agents.iter().find(|a| a.id == want) {
            Some(a) => vec![a.clone()],
            None => {
                let known: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
                return Err(Error::NotFound(format!(
                    "no agent '{want}' in {} (known: {})",
                    state_dir.display(),
                    known.join(", ")
                )));
            }
        }
    };
    Ok(Install {
        config_unreadable,
        state_dir,
        state_dir_source,
        config_path,
        config_source,
        config,
        warnings,
        all_agents: agents,
        selected,
    })
}

/// OpenClaw lower-cases agent ids.
pub fn normalize_agent_id(id: &str) -> String {
    id.trim().to_lowercase()
}

fn resolve_user_path(p: &str, ctx: &Context, state_dir: &Path) -> PathBuf {
    let e = expand_tilde(p, ctx);
    if e.is_relative() {
        state_dir.join(e)
    } else {
        e
    }
}

fn read_config(path: &Path, warnings: &mut Vec<String>, unreadable: &mut Option<String>) -> Option<Value> {
    let bytes = match crate::layout::store::read_file(path) {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            warnings.push(format!("cannot read config: {e}"));
            *unreadable = Some(e.to_string());
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            warnings.push(format!("{}: config is not UTF-8; ignored", path.display()));
            return None;
        }
    };
    match json5::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
        Ok(v) if v.is_object() => Some(v),
        Ok(_) => {
            warnings.push(format!("{}: config is not a JSON object; ignored", path.display()));
            None
        }
        Err(e) => {
            warnings.push(format!("{}: config is not valid JSON5 ({e}); ignored", path.display()));
            None
        }
    }
}
