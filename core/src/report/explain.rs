//! `clawauth explain SESSION`: one session traced through every layer, in the order OpenClaw
//! consults them — stored preference, stored vs config order, eligibility of each profile, the
//! pin, the next reply (and after `/new`), the usage source, the display label, the external
//! repo and active slot — ending in one verdict naming the layer that disagrees. The decision
//! itself is `resolve`'s (the per-era rule sets checked against real OpenClaw); this module only
//! gathers and explains. The report is plain data (`--json`, `schema_version` 1) rendered to
//! text at the edge.

use crate::error::{Error, Result};
use crate::model::resolve::{self, Inputs, PinWrite, Rules};
use crate::model::*;
use crate::report::status::{self, Window};
use crate::text::{rel, rfc3339_ms};
use serde::Serialize;
use serde_json::Value;

pub const SCHEMA_VERSION: u32 = 1;

pub use crate::model::identity::Identity;

#[derive(Debug, Serialize)]
pub struct ExplainReport {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub now: String,
    pub state_dir: String,
    pub agent: String,
    pub layout: Layout,
    pub rules: Rules,
    /// `layout X` or `--rules`.
    pub rules_source: String,
    pub provider: String,
    /// Live documents of the agent that could not be read: the trace is built without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// What the loader could not read or ignored state-wide (e.g. a config that is no file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub session: SessionStep,
    pub preference: PreferenceStep,
    pub order: OrderStep,
    pub eligibility: Vec<ProfileStep>,
    pub pin: PinStep,
    pub next_reply: ReplyStep,
    /// Only with `--new-session`: what `/new` (or `/reset`) would pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_new_session: Option<ReplyStep>,
    pub usage: UsageStep,
    pub label: LabelStep,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStep>,
    pub verdict: Verdict,
}

#[derive(Debug, Serialize)]
pub struct SessionStep {
    pub key: String,
    pub updated_at: Option<String>,
    pub model: Option<String>,
    pub compaction_count: Option<i64>,
    /// Other keys of the same chat differing only by case (legacy aliases).
    pub aliases: Vec<AliasStep>,
}

#[derive(Debug, Serialize)]
pub struct AliasStep {
    pub key: String,
    pub pin: Option<String>,
    pub pin_source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PreferenceStep {
    pub path: String,
    pub profile: Option<String>,
    /// Where the preferred id was found: `store`, `repo`, or none.
    pub found_in: Option<String>,
    pub identity: Option<Identity>,
    /// Whether the next reply's profile is the same identity (None: nothing to compare).
    pub matches_next_reply: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct OrderStep {
    pub provider: String,
    pub stored: Option<Vec<String>>,
    pub stored_from: Option<String>,
    pub configured: Option<Vec<String>>,
    /// Which explicit order the runtime uses (`stored`, `config auth.order`, an alias), if any.
    pub explicit_source: Option<String>,
    /// Where the list of candidates came from.
    pub base_source: String,
    pub stored_and_config_differ: bool,
    /// The runtime's try order for this session: usable first, unusable last.
    pub effective: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ProfileStep {
    pub id: String,
    /// 1-based position in the effective order, if it is in it.
    pub position: Option<usize>,
    pub listed: bool,
    pub eligible: bool,
    /// Why it is skipped: an eligibility code (`profile_missing`, `expired`, ...) or
    /// `not_in_order` / `other_provider`.
    pub skipped: Option<String>,
    pub skipped_because: Option<String>,
    /// Unusable for this session right now (cooldown, blocked or disabled window).
    pub unusable: bool,
    pub window: Option<Window>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PinStep {
    pub profile: Option<String>,
    pub source: Option<String>,
    pub source_inferred: bool,
    pub compaction_count: Option<Value>,
    pub exists: Option<bool>,
    pub in_order: Option<bool>,
    pub unusable: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct ReplyStep {
    pub profile: Option<String>,
    pub source: Option<String>,
    pub steps: Vec<String>,
    pub write: PinWrite,
    /// OpenClaw would rewrite (or clear) the stored pin.
    pub rewrites_pin: bool,
    pub identity: Option<Identity>,
}

#[derive(Debug, Serialize)]
pub struct UsageStep {
    pub profile: Option<String>,
    /// Another identity than the next reply's (not merely another profile id).
    pub differs: bool,
    /// Another profile id holding the same login as the next reply.
    pub same_login: bool,
    pub identity: Option<Identity>,
}

#[derive(Debug, Serialize)]
pub struct LabelStep {
    pub label: Option<String>,
    pub source: Option<String>,
    /// The profile the label is about.
    pub profile: Option<String>,
    pub follows_next_reply: bool,
    pub token_email: Option<String>,
    /// The label shows an email other than the token's own email claim.
    pub lies: bool,
}

#[derive(Debug, Serialize)]
pub struct ExternalStep {
    pub repo_path: Option<String>,
    pub slot: String,
    pub slot_exists: bool,
    pub slot_identity: Option<Identity>,
    /// The repo profile the slot holds (accountId, workspace, access, refresh all equal).
    pub slot_holds: Option<String>,
    pub next_reply_uses_slot: bool,
    pub preference_matches_slot: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    /// The layer that disagrees (`session override`, `auth order`, `stored preference`,
    /// `external repo / active slot`, `usage source`, `display metadata`), or none.
    pub layer: Option<String>,
    pub text: String,
    /// Further disagreeing layers, less important than the first.
    pub also: Vec<String>,
}

/// Find a session: the exact key, else a case-insensitive match. Returns the agent index, the
/// session, and the other keys of the same chat.
fn find<'a>(state: &'a State, key: &str) -> Result<(&'a AgentState, &'a Session)> {
    let key_agent = key.strip_prefix("agent:").and_then(|r| r.split(':').next()).map(str::to_lowercase);
    let mut agents: Vec<&AgentState> = state.agents.iter().collect();
    // the agent the key names first: the same key can exist in two agents only by accident
    agents.sort_by_key(|a| Some(a.paths.id.to_lowercase()) != key_agent);
    for a in &agents {
        if let Some(s) = a.session(key) {
            return Ok((a, s));
        }
    }
    for a in &agents {
        if let Some(s) = a.sessions.iter().find(|s| s.key.eq_ignore_ascii_case(key)) {
            return Ok((a, s));
        }
    }
    let total: usize = state.agents.iter().map(|a| a.sessions.len()).sum();
    let ids: Vec<&str> = state.agents.iter().map(|a| a.paths.id.as_str()).collect();
    // a sessions store that could not be read is the likelier reason: say so
    let unreadable: Vec<&str> = state.agents.iter().flat_map(|a| a.unreadable.iter().map(String::as_str)).collect();
    let why = if unreadable.is_empty() { String::new() } else { format!("; cannot read {}", unreadable.join("; ")) };
    Err(Error::NotFound(format!("no session '{key}' in agent {} ({total} sessions){why}", ids.join(", "))))
}

fn identity_in(agent: &AgentState, id: Option<&str>, now: i64) -> Option<Identity> {
    let id = id?;
    agent.auth.profiles.get(id).map(|raw| Identity::of_raw(id, raw, now))
}

fn reply_step(agent: &AgentState, t: &resolve::SessionTrace, now: i64) -> ReplyStep {
    ReplyStep {
        profile: t.profile.clone(),
        source: t.source.clone(),
        steps: t.steps.clone(),
        write: t.write.clone(),
        rewrites_pin: t.write != PinWrite::None,
        identity: identity_in(agent, t.profile.as_deref(), now),
    }
}

pub fn build(state: &State, key: &str, new_session: bool, rules_override: Option<Rules>) -> Result<ExplainReport> {
    let now = state.now_ms;
    let cfg = state.install.config.as_ref();
    let (agent, s) = find(state, key)?;
    let (rules, rules_source) = match rules_override {
        Some(r) => (r, "--rules".to_string()),
        None => {
            let d = agent.detect_release();
            (Rules::of(d.release), d.evidence)
        }
    };
    let inp = Inputs::new(agent, cfg, rules, now);
    let provider = agent.provider_under(rules);
    let trace = resolve::resolve_session(&inp, &provider, s, false);
    let after_new = new_session.then(|| resolve::resolve_session(&inp, &provider, s, true));
    let ot = &trace.order;

    // -- session and its case-variant aliases
    let aliases = agent
        .sessions
        .iter()
        .filter(|o| o.key != s.key && o.key.eq_ignore_ascii_case(&s.key))
        .map(|o| AliasStep {
            key: o.key.clone(),
            pin: o.pin.as_deref().map(str::to_owned),
            pin_source: o.pin_source.as_deref().map(str::to_owned),
        })
        .collect();
    let session = SessionStep {
        key: s.key.clone(),
        updated_at: s.updated_at.map(rfc3339_ms),
        model: s.model.as_deref().map(str::to_owned),
        compaction_count: s.compaction_count,
        aliases,
    };

    // -- eligibility: the candidates the order considered, then every other stored profile
    let mut eligibility: Vec<ProfileStep> = vec![];
    for c in &ot.candidates {
        if eligibility.iter().any(|e| e.id == c.id) {
            continue;
        }
        let st = agent.auth.usage_stats.get(&c.id);
        eligibility.push(ProfileStep {
            id: c.id.clone(),
            position: ot.order.iter().position(|x| *x == c.id).map(|p| p + 1),
            listed: true,
            eligible: c.ineligible.is_none(),
            skipped: c
                .ineligible
                .as_ref()
                .map(|i| serde_json::to_value(i).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
            skipped_because: c.ineligible.as_ref().map(|i| i.describe().to_string()),
            unusable: c.in_cooldown,
            window: status::active_window(st, now),
            email: agent.auth.profiles.get(&c.id).and_then(|p| str_field(p, "email")),
        });
    }
    for (id, raw) in &agent.auth.profiles {
        if eligibility.iter().any(|e| e.id == *id) {
            continue;
        }
        let other = resolve::eligibility(&inp, &resolve::normalize_provider(&provider), id)
            == Err(resolve::Ineligible::ProviderMismatch);
        let (code, why) = if other {
            ("other_provider", format!("another provider ({})", str_field(raw, "provider").unwrap_or("?".into())))
        } else {
            ("not_in_order", format!("not listed in the {} order, so never tried", ot.base_source))
        };
        eligibility.push(ProfileStep {
            id: id.clone(),
            position: None,
            listed: false,
            eligible: false,
            skipped: Some(code.into()),
            skipped_because: Some(why),
            unusable: false,
            window: status::active_window(agent.auth.usage_stats.get(id), now),
            email: str_field(raw, "email"),
        });
    }

    // the try order first, then what is never tried
    eligibility.sort_by_key(|e| (e.position.is_none(), e.position));

    // -- pin
    let pin_id = s.pin.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let pin = PinStep {
        profile: s.pin.as_deref().map(str::to_owned),
        source: trace.pin_source.clone(),
        source_inferred: trace.pin_source_inferred,
        compaction_count: s.pin_compaction.clone(),
        exists: pin_id.map(|p| agent.auth.profiles.contains_key(p)),
        in_order: pin_id.map(|p| ot.order.iter().any(|x| x == p)),
        unusable: pin_id.map(|p| ot.candidates.iter().any(|c| c.id == p && c.in_cooldown)),
    };

    let next_reply = reply_step(agent, &trace, now);
    let after_new_session = after_new.as_ref().map(|t| reply_step(agent, t, now));

    // -- usage source
    // `/status` resolves usage from the plain order, without the session's model scope
    let plain = resolve::resolve_order(&inp, &provider, &resolve::ModelScope::Unscoped);
    let usage_profile = resolve::usage_source(&inp, &plain, Some(s));
    let relation = agent.usage_relation(trace.profile.as_deref(), usage_profile.as_deref(), now);
    let usage = UsageStep {
        differs: relation.differs,
        same_login: relation.same_login,
        identity: identity_in(agent, usage_profile.as_deref(), now),
        profile: usage_profile,
    };

    // -- label
    let lab = resolve::session_label(&inp, &provider, s);
    let label = match lab {
        Some((text, src, id)) => {
            let view = agent.auth.profiles.get(&id).map(|raw| ProfileView::new(&id, raw, now, false));
            let token_email = view.as_ref().and_then(|v| v.claim_email().map(str::to_owned));
            let lies = match &token_email {
                Some(te) if src.ends_with("email") || src.ends_with("displayName") => {
                    shown_email(cfg, agent, &id, src).is_some_and(|shown| !shown.eq_ignore_ascii_case(te))
                }
                _ => false,
            };
            LabelStep {
                label: Some(text),
                source: Some(src.to_string()),
                follows_next_reply: trace.profile.as_deref() == Some(id.as_str()),
                profile: Some(id),
                token_email,
                lies,
            }
        }
        None => LabelStep {
            label: None,
            source: None,
            profile: None,
            follows_next_reply: trace.profile.is_none(),
            token_email: None,
            lies: false,
        },
    };

    // -- preference (the external helper's, never read by OpenClaw itself)
    let (pref_found, pref_identity) = match &state.preference {
        None => (None, None),
        Some(p) => {
            if let Some(id) = agent.map_profile_id(p) {
                (Some("store".to_string()), identity_in(agent, Some(&id), now))
            } else if let Some(raw) = state.repo.as_ref().and_then(|r| r.profiles.get(p)) {
                (Some("repo".to_string()), Some(Identity::of_raw(p, raw, now)))
            } else {
                (None, None)
            }
        }
    };
    let next_identity = next_reply.identity.clone();
    let preference = PreferenceStep {
        path: rel(&state.install.state_dir, &state.preference_path),
        profile: state.preference.clone(),
        found_in: pref_found,
        matches_next_reply: match (&pref_identity, &next_identity) {
            (Some(a), Some(b)) => Some(a.same(b)),
            _ => None,
        },
        identity: pref_identity.clone(),
    };

    // -- external repo and active slot
    let slot_cred = agent.auth.profiles.get(&state.active_slot);
    let external = if state.repo.is_some() || slot_cred.is_some() {
        let holds = status::repo_matches(state, slot_cred).into_iter().find(|m| m.full()).map(|m| m.repo_id);
        let slot_identity = identity_in(agent, Some(&state.active_slot), now);
        Some(ExternalStep {
            repo_path: state.repo.as_ref().map(|r| rel(&state.install.state_dir, &r.path)),
            slot: state.active_slot.clone(),
            slot_exists: slot_cred.is_some(),
            next_reply_uses_slot: trace.profile.as_deref() == Some(state.active_slot.as_str()),
            preference_matches_slot: match (&pref_identity, &slot_identity) {
                (Some(a), Some(b)) => Some(a.same(b)),
                _ => None,
            },
            slot_identity,
            slot_holds: holds,
        })
    } else {
        None
    };

    let stored_from = status::order_report(agent, ot).stored_from;
    let order = OrderStep {
        provider: ot.provider.clone(),
        stored_and_config_differ: matches!((&ot.stored, &ot.configured), (Some(a), Some(b)) if a != b),
        stored: ot.stored.clone(),
        stored_from,
        configured: ot.configured.clone(),
        explicit_source: ot.explicit_source.clone(),
        base_source: ot.base_source.clone(),
        effective: ot.order.clone(),
    };

    let mut report = ExplainReport {
        schema_version: SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: rfc3339_ms(now),
        state_dir: state.install.state_dir.display().to_string(),
        agent: agent.paths.id.clone(),
        layout: agent.layout,
        rules,
        rules_source,
        provider,
        unreadable: agent.unreadable.clone(),
        warnings: state.warnings.clone(),
        session,
        preference,
        order,
        eligibility,
        pin,
        next_reply,
        after_new_session,
        usage,
        label,
        external,
        verdict: Verdict { layer: None, text: String::new(), also: vec![] },
    };
    report.verdict = verdict(&report);
    Ok(report)
}

/// The email text the label shows for `id` (its source decides which field).
fn shown_email(cfg: Option<&Value>, agent: &AgentState, id: &str, src: &str) -> Option<String> {
    let pc = cfg.and_then(|c| c.pointer("/auth/profiles")).and_then(|p| p.get(id));
    let cred = agent.auth.profiles.get(id);
    let v = match src {
        "config displayName" => pc.and_then(|p| str_field(p, "displayName")),
        "credential displayName" => cred.and_then(|p| str_field(p, "displayName")),
        "config email" => pc.and_then(|p| str_field(p, "email")),
        "credential email" => cred.and_then(|p| str_field(p, "email")),
        _ => None,
    }?;
    // a display name that is not an address cannot be compared with the token's email
    v.contains('@').then(|| v.trim().to_string())
}

/// The one-line answer: the most important layer that disagrees with what the next reply uses.
fn verdict(r: &ExplainReport) -> Verdict {
    let mut found: Vec<(&str, String)> = vec![];
    let next = r.next_reply.profile.clone();
    let next_s = next.clone().unwrap_or_else(|| "no profile".into());
    let pin = r.pin.profile.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let last_step = r.next_reply.steps.last().cloned().unwrap_or_default();
    if next.is_none() {
        found.push((
            "auth order",
            format!("no eligible, usable {} profile: OpenClaw uses no auth profile for this chat", r.provider),
        ));
    }
    if let Some(p) = pin {
        let src = r.pin.source.clone().unwrap_or_default();
        if r.pin.exists == Some(false) {
            let what = if next.as_deref() == Some(p) {
                "OpenClaw keeps it (2026.9 keeps a dangling user pin) and the chat cannot run".to_string()
            } else {
                format!("OpenClaw clears it and the next reply uses {next_s}")
            };
            found.push(("session override", format!("the {src} pin names {p}, which does not exist: {what}")));
        } else if r.next_reply.rewrites_pin {
            found.push((
                "session override",
                format!("the {src} pin {p} does not hold: OpenClaw rewrites it and the next reply uses {next_s} ({last_step})"),
            ));
        } else if next.as_deref() == Some(p) && (src == "user" || src == "user-link") {
            if r.pin.in_order == Some(false) || r.pin.unusable == Some(true) {
                let why =
                    if r.pin.unusable == Some(true) { "unusable right now" } else { "not in the effective order" };
                found.push((
                    "session override",
                    format!("the user pin {p} is {why}, but OpenClaw keeps it: the chat fails over to another model, not another account"),
                ));
            }
        } else if next.as_deref() == Some(p) && src == "auto" {
            let first_usable =
                r.eligibility.iter().filter(|e| e.position.is_some() && !e.unusable).min_by_key(|e| e.position);
            if let Some(f) = first_usable.filter(|f| f.id != p) {
                found.push((
                    "session override",
                    format!("the auto pin {p} keeps this chat off {}, the first usable profile of the order: order changes do not reach it", f.id),
                ));
            }
        }
    }
    if let (Some(false), Some(p)) = (r.preference.matches_next_reply, &r.preference.profile) {
        let who = r.preference.identity.as_ref().map(|i| i.short()).unwrap_or_default();
        let got = r.next_reply.identity.as_ref().map(|i| i.short()).unwrap_or_default();
        found.push((
            "stored preference",
            format!("codex_profile_id selects {p} ({who}) but the next reply uses {next_s} ({got}); OpenClaw never reads codex_profile_id"),
        ));
    }
    if let Some(x) = &r.external {
        if x.slot_exists && x.repo_path.is_some() && x.slot_holds.is_none() {
            found.push((
                "external repo / active slot",
                format!("{} holds a credential that matches no profile in the repo (stale or edited copy)", x.slot),
            ));
        }
    }
    if r.usage.differs {
        found.push((
            "usage source",
            format!(
                "/status shows the quota of {} while replies use {next_s} (openclaw#15089: usage ignores the pin)",
                r.usage.profile.clone().unwrap_or_default()
            ),
        ));
    }
    if r.label.lies {
        found.push((
            "display metadata",
            format!(
                "the label {} comes from the {} but the token belongs to {}",
                r.label.label.clone().unwrap_or_default(),
                r.label.source.clone().unwrap_or_default(),
                r.label.token_email.clone().unwrap_or_default()
            ),
        ));
    } else if r.label.profile.is_some() && !r.label.follows_next_reply {
        found.push((
            "display metadata",
            format!(
                "the label names {} while the next reply uses {next_s}",
                r.label.profile.clone().unwrap_or_default()
            ),
        ));
    }
    if r.order.stored_and_config_differ {
        found.push((
            "auth order",
            format!(
                "the stored order ({}) overrides config auth.order ({})",
                r.order.stored.clone().unwrap_or_default().join(", "),
                r.order.configured.clone().unwrap_or_default().join(", ")
            ),
        ));
    }
    let mut it = found.into_iter();
    match it.next() {
        None => Verdict { layer: None, text: format!("all layers agree: the next reply uses {next_s}"), also: vec![] },
        Some((layer, text)) => {
            let mut also: Vec<String> = vec![];
            for (l, _) in it {
                if l != layer && !also.iter().any(|x| x == l) {
                    also.push(l.to_string());
                }
            }
            Verdict { layer: Some(layer.to_string()), text, also }
        }
    }
}
