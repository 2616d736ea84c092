//! OpenClaw's own selection rules, reproduced per behaviour era: which profiles are eligible,
//! in what order the runtime tries them, and which profile a session's next reply uses. Each
//! rule set is named by the releases it was checked against (with OpenClaw's own resolver, see
//! `conformance/`). Nothing here touches disk; the caller persists nothing either — a trace
//! says what OpenClaw *would* write back.

use crate::model::release;
use crate::model::{num_field, str_field, AgentState, Session};
use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::model::release::Rules;

/// Which model a cooldown check is for (2026.9 scopes some windows to one model).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelScope {
    /// every window counts (callers that pass no model)
    Unscoped,
    /// model-scoped windows are ignored
    AllModels,
    Model(String),
}

/// Everything the rules read, borrowed from the loaded model.
pub struct Inputs<'a> {
    pub rules: Rules,
    pub profiles: &'a Map<String, Value>,
    pub order: &'a Map<String, Value>,
    pub usage: &'a Map<String, Value>,
    pub cfg: Option<&'a Value>,
    pub now: i64,
}

impl<'a> Inputs<'a> {
    pub fn new(agent: &'a AgentState, cfg: Option<&'a Value>, rules: Rules, now: i64) -> Self {
        Inputs {
            rules,
            profiles: &agent.auth.profiles,
            order: &agent.auth.order,
            usage: &agent.auth.usage_stats,
            cfg,
            now,
        }
    }
    fn cfg_auth(&self, key: &str) -> Option<&'a Map<String, Value>> {
        self.cfg?.get("auth")?.get(key)?.as_object()
    }
}

pub fn normalize_provider(p: &str) -> String {
    p.trim().to_lowercase()
}

fn provider_for_auth(rules: Rules, p: &str) -> String {
    let n = normalize_provider(p);
    match n.as_str() {
        "codex-cli" | "openai-codex-import" if rules.multi() => "openai-codex".into(),
        _ => n,
    }
}

/// `findNormalizedProviderValue`: the first key (in document order) naming the provider.
fn find_provider_value<'v>(m: Option<&'v Map<String, Value>>, provider: &str) -> Option<&'v Value> {
    let want = normalize_provider(provider);
    m?.iter().find(|(k, _)| normalize_provider(k) == want).map(|(_, v)| v)
}

/// A stored order list as OpenClaw coerces it at load: trimmed non-blank strings, first
/// occurrence kept.
fn id_list(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    if let Some(a) = v.as_array() {
        for x in a {
            if let Some(s) = x.as_str().map(str::trim).filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
        }
    }
    out
}

/// A config `auth.order` list: config is not coerced like the store, so ids are taken verbatim —
/// `" a "` names no profile (all releases).
fn config_id_list(v: &Value) -> Vec<String> {
    dedupe(v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default())
}

fn dedupe(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn ts(rules: Rules, v: Option<&Value>) -> Option<i64> {
    let f = v?.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    if rules.hard() && f.abs() > 8.64e15 {
        return None;
    }
    Some(f as i64)
}

fn model_scoped_reason(r: Option<&str>) -> bool {
    matches!(r, Some("rate_limit" | "timeout" | "model_not_found"))
}

/// `resolveProfileUnusableUntil`: the latest end of the windows that apply.
pub fn unusable_until(rules: Rules, stats: &Value, scope: &ModelScope) -> Option<i64> {
    let g = |k: &str| ts(rules, stats.get(k));
    let mut vals = vec![];
    if !rules.hard() {
        if rules.on(release::BLOCKED_UNTIL_COUNTS) {
            vals.push(g("blockedUntil"));
        }
        vals.push(g("cooldownUntil"));
        vals.push(g("disabledUntil"));
    } else {
        {
            let block_other = block_scoped_to_other_model(stats, scope);
            let cd_all = *scope == ModelScope::AllModels
                && model_scoped_reason(stats.get("cooldownReason").and_then(Value::as_str))
                && truthy_str(stats, "cooldownModel");
            vals.push(if block_other { None } else { g("blockedUntil") });
            vals.push(if cd_all { None } else { g("cooldownUntil") });
            vals.push(g("disabledUntil"));
        }
    }
    vals.into_iter().flatten().filter(|&v| v > 0).max()
}

fn truthy_str(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_str).map(|s| !s.is_empty()).unwrap_or(false)
}

fn block_scoped_to_other_model(stats: &Value, scope: &ModelScope) -> bool {
    let blocked_model = stats.get("blockedModel").and_then(Value::as_str).filter(|s| !s.is_empty());
    if stats.get("blockedScope").and_then(Value::as_str) != Some("model") {
        return false;
    }
    match (scope, blocked_model) {
        (ModelScope::AllModels, Some(_)) => true,
        (ModelScope::Model(m), Some(b)) => b != m,
        _ => false,
    }
}

fn active(rules: Rules, stats: &Value, key: &str, now: i64) -> bool {
    ts(rules, stats.get(key)).map(|u| u > 0 && now < u).unwrap_or(false)
}

/// `isProfileInCooldown`.
pub fn in_cooldown(inp: &Inputs, id: &str, scope: &ModelScope) -> bool {
    if let Some(p) = inp.profiles.get(id).and_then(|p| p.get("provider")).and_then(Value::as_str) {
        if matches!(normalize_provider(p).as_str(), "openrouter" | "kilocode") {
            return false;
        }
    }
    let Some(stats) = inp.usage.get(id).filter(|s| s.is_object()) else {
        return false;
    };
    let rules = inp.rules;
    // a rate-limit cooldown on another model does not block this one
    if let ModelScope::Model(m) = scope {
        let reason = stats.get("cooldownReason").and_then(Value::as_str);
        let cd_model = stats.get("cooldownModel").and_then(Value::as_str).filter(|s| !s.is_empty());
        let bypass = match rules.hard() {
            false => reason == Some("rate_limit") && cd_model.is_some_and(|c| c != m),
            true => {
                // an active block for this model still holds the profile
                let blocked_here =
                    active(rules, stats, "blockedUntil", inp.now) && !block_scoped_to_other_model(stats, scope);
                model_scoped_reason(reason) && cd_model.is_some_and(|c| c != m) && !blocked_here
            }
        };
        if bypass && !active(rules, stats, "disabledUntil", inp.now) {
            return false;
        }
    }
    match unusable_until(rules, stats, scope) {
        Some(u) => inp.now < u,
        None => false,
    }
}

/// Why a profile cannot be used at all (eligibility), as OpenClaw decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    ProfileMissing,
    ProviderMismatch,
    ModeMismatch,
    MissingCredential,
    InvalidExpires,
    Expired,
    MalformedApiKey,
}

impl Ineligible {
    pub fn describe(&self) -> &'static str {
        match self {
            Ineligible::ProfileMissing => "missing: no credential with this id",
            Ineligible::ProviderMismatch => "wrong provider",
            Ineligible::ModeMismatch => "config mode does not match the credential type",
            Ineligible::MissingCredential => "no token material (access/refresh/key empty)",
            Ineligible::InvalidExpires => "token `expires` is not a valid timestamp",
            Ineligible::Expired => "token expired",
            Ineligible::MalformedApiKey => "API key is an onboarding command, not a key",
        }
    }
}

fn secret_string(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).map(|s| !s.trim().is_empty()).unwrap_or(false)
}

fn cred_type(c: &Value) -> Option<&str> {
    c.get("type").and_then(Value::as_str).or_else(|| c.get("mode").and_then(Value::as_str))
}

/// `credentialProviderCompatible` / `configuredProfileCompatible`.
fn provider_compatible(rules: Rules, cred_provider: Option<&str>, mode: Option<&str>, auth_key: &str) -> bool {
    let Some(p) = cred_provider else { return false };
    let p = provider_for_auth(rules, p);
    if p == auth_key {
        return true;
    }
    rules.multi() && auth_key == "openai-codex" && p == "openai" && mode == Some("api_key")
}

pub fn eligibility(inp: &Inputs, auth_key: &str, id: &str) -> Result<(), Ineligible> {
    let Some(cred) = inp.profiles.get(id) else {
        return Err(Ineligible::ProfileMissing);
    };
    let ctype = cred_type(cred);
    let cprov = cred.get("provider").and_then(Value::as_str);
    if !provider_compatible(inp.rules, cprov, ctype, auth_key) {
        return Err(Ineligible::ProviderMismatch);
    }
    if let Some(pc) = inp.cfg_auth("profiles").and_then(|m| m.get(id)) {
        let pc_mode = pc.get("mode").and_then(Value::as_str);
        let pc_prov = pc.get("provider").and_then(Value::as_str);
        if !provider_compatible(inp.rules, pc_prov, ctype.or(pc_mode), auth_key) {
            return Err(Ineligible::ProviderMismatch);
        }
        if pc_mode != ctype && !(pc_mode == Some("oauth") && ctype == Some("token")) {
            return Err(Ineligible::ModeMismatch);
        }
    }
    match ctype {
        Some("api_key") => {
            if inp.rules.hard() {
                if let Some(k) = cred.get("key").and_then(Value::as_str) {
                    let l = k.trim().to_lowercase();
                    if l.starts_with("openclaw") && l.contains("onboard") && l.contains("--auth-choice") {
                        return Err(Ineligible::MalformedApiKey);
                    }
                }
            }
            if !secret_string(cred.get("key")) && !secret_string(cred.get("apiKey")) && cred.get("keyRef").is_none() {
                return Err(Ineligible::MissingCredential);
            }
            Ok(())
        }
        Some("token") => {
            if !secret_string(cred.get("token")) && cred.get("tokenRef").is_none() {
                return Err(Ineligible::MissingCredential);
            }
            match cred.get("expires") {
                None => Ok(()),
                Some(e) => match e.as_f64() {
                    Some(f) if f.is_finite() && f > 0.0 && !(inp.rules.hard() && f > 8.64e15) => {
                        if f as i64 - inp.now <= 0 {
                            Err(Ineligible::Expired)
                        } else {
                            Ok(())
                        }
                    }
                    _ => Err(Ineligible::InvalidExpires),
                },
            }
        }
        _ => {
            // oauth: no expiry check — the runtime refreshes it
            if !secret_string(cred.get("access")) && !secret_string(cred.get("refresh")) {
                return Err(Ineligible::MissingCredential);
            }
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible: Option<Ineligible>,
    pub in_cooldown: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unusable_until: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderTrace {
    pub provider: String,
    /// Where the explicit order came from: `stored`, `config`, `stored (openai alias)`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit: Option<Vec<String>>,
    pub stored: Option<Vec<String>>,
    pub configured: Option<Vec<String>>,
    /// `explicit order`, `config auth.profiles`, or `stored profiles of the provider`.
    pub base_source: String,
    pub candidates: Vec<Candidate>,
    /// The runtime's try order: usable first, cooled-down ones last.
    pub order: Vec<String>,
    #[serde(skip)]
    pub has_explicit_order: bool,
}

/// `resolveAuthProfileOrder` for one provider.
pub fn resolve_order(inp: &Inputs, provider: &str, scope: &ModelScope) -> OrderTrace {
    let rules = inp.rules;
    let provider_key = normalize_provider(provider);
    let auth_key = provider_for_auth(rules, provider);
    let stored_m = Some(inp.order);
    let cfg_order = inp.cfg_auth("order");
    let look = |m: Option<&Map<String, Value>>, p: &str| find_provider_value(m, p).map(config_id_list);
    // stored orders are coerced on load: a non-array or empty list does not exist
    let look_stored =
        |p: &str| find_provider_value(stored_m, p).filter(|v| v.is_array()).map(id_list).filter(|l| !l.is_empty());
    let direct_stored = look_stored(&auth_key).or_else(|| look_stored(&provider_key));
    let direct_config = look(cfg_order, &auth_key).or_else(|| look(cfg_order, &provider_key));
    let alias = rules.multi() && (auth_key == "openai-codex" || provider_key == "openai-codex");
    let alias_stored = if alias { look_stored("openai") } else { None };
    let alias_config = if alias { look(cfg_order, "openai") } else { None };

    let store_ids: Vec<String> = inp
        .profiles
        .iter()
        .filter(|(_, c)| provider_compatible(rules, c.get("provider").and_then(Value::as_str), cred_type(c), &auth_key))
        .map(|(k, _)| k.clone())
        .collect();
    let explicit_profiles: Vec<String> = inp
        .cfg_auth("profiles")
        .map(|m| {
            m.iter()
                .filter(|(id, pc)| {
                    let pprov = pc.get("provider").and_then(Value::as_str);
                    match rules.multi() {
                        false => pprov.map(|p| provider_for_auth(rules, p) == auth_key).unwrap_or(false),
                        true => {
                            let mode =
                                inp.profiles.get(*id).and_then(cred_type).or(pc.get("mode").and_then(Value::as_str));
                            provider_compatible(rules, pprov, mode, &auth_key)
                        }
                    }
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();

    let (explicit, explicit_source) = match (&direct_stored, &direct_config) {
        (Some(s), _) => (Some(s.clone()), Some("stored".to_string())),
        (None, Some(c)) => (Some(c.clone()), Some("config auth.order".to_string())),
        (None, None) => {
            let a = alias_stored
                .clone()
                .map(|x| (x, "stored order for `openai` (alias)"))
                .or(alias_config.clone().map(|x| (x, "config auth.order for `openai` (alias)")));
            match a {
                Some((a, src)) => {
                    let native: Vec<String> = store_ids
                        .iter()
                        .filter(|id| {
                            inp.profiles
                                .get(*id)
                                .and_then(|c| c.get("provider"))
                                .and_then(Value::as_str)
                                .map(|p| provider_for_auth(rules, p))
                                == Some("openai-codex".into())
                        })
                        .cloned()
                        .collect();
                    let merged = if a.iter().any(|x| native.contains(x)) {
                        dedupe(a.into_iter().chain(native).collect())
                    } else {
                        dedupe(native.into_iter().chain(a).collect())
                    };
                    (Some(merged), Some(src.to_string()))
                }
                None => (None, None),
            }
        }
    };
    let explicit_from_store = direct_stored.is_some();
    let (base, base_source) = match &explicit {
        Some(e) => (e.clone(), "explicit order".to_string()),
        None if !explicit_profiles.is_empty() => (explicit_profiles.clone(), "config auth.profiles".to_string()),
        None => (store_ids.clone(), "stored profiles of the provider".to_string()),
    };
    let mut candidates: Vec<Candidate> = base
        .iter()
        .map(|id| Candidate {
            id: id.clone(),
            ineligible: eligibility(inp, &auth_key, id).err(),
            in_cooldown: in_cooldown(inp, id, scope),
            unusable_until: inp.usage.get(id).and_then(|s| unusable_until(rules, s, scope)).filter(|u| *u > inp.now),
        })
        .collect();
    let mut filtered: Vec<String> =
        candidates.iter().filter(|c| c.ineligible.is_none()).map(|c| c.id.clone()).collect();
    let all_missing = base.iter().all(|id| !inp.profiles.contains_key(id));
    let mut repaired = false;
    // An order naming only missing ids falls back to the stored profiles. 2026.5.28 does so
    // only when config lists profiles (a stale stored order yields no profile at all); 7.35
    // and 9.6 also for a stored order, and then sort as if there were no explicit order.
    // Before 2026.2.21 there is no fallback at all: such an order yields no profile.
    let fallback_allowed = (rules.on(release::STORED_ORDER_FALLBACK) && explicit_from_store)
        || (rules.on(release::CONFIG_PROFILES_FALLBACK) && !explicit_profiles.is_empty());
    if filtered.is_empty() && !base.is_empty() && all_missing && fallback_allowed {
        filtered = store_ids.iter().filter(|id| eligibility(inp, &auth_key, id).is_ok()).cloned().collect();
        repaired = rules.on(release::STORED_ORDER_FALLBACK);
        for id in &filtered {
            candidates.push(Candidate {
                id: id.clone(),
                ineligible: None,
                in_cooldown: in_cooldown(inp, id, scope),
                unusable_until: inp
                    .usage
                    .get(id)
                    .and_then(|s| unusable_until(rules, s, scope))
                    .filter(|u| *u > inp.now),
            });
        }
    }
    let deduped = dedupe(filtered);
    let until = |id: &String| inp.usage.get(id).and_then(|s| unusable_until(rules, s, scope)).unwrap_or(inp.now);
    let explicit_branch = explicit.as_ref().is_some_and(|e| !e.is_empty()) && !repaired;
    let order = if base.is_empty() {
        vec![]
    } else if explicit_branch {
        let (avail, mut cooled): (Vec<String>, Vec<String>) =
            deduped.into_iter().partition(|id| !in_cooldown(inp, id, scope));
        cooled.sort_by_key(until);
        avail.into_iter().chain(cooled).collect()
    } else {
        let (mut avail, mut cooled): (Vec<String>, Vec<String>) =
            deduped.into_iter().partition(|id| !in_cooldown(inp, id, scope));
        let type_score = |id: &String| match inp.profiles.get(id).and_then(cred_type) {
            Some("oauth") => 0,
            Some("token") => 1,
            Some("api_key") => 2,
            _ => 3,
        };
        let expiry_score = |id: &String| {
            let c = inp.profiles.get(id);
            let expired = rules.hard()
                && c.and_then(cred_type) == Some("oauth")
                && c.and_then(|c| c.get("expires"))
                    .map(|e| match e.as_f64() {
                        Some(f) if f.is_finite() && f > 0.0 => (f as i64) - inp.now <= 0,
                        Some(_) => false,
                        None => false,
                    })
                    .unwrap_or(false);
            expired as i32
        };
        let last_used = |id: &String| inp.usage.get(id).and_then(|s| num_field(s, "lastUsed")).unwrap_or(0);
        avail.sort_by_key(|id| (type_score(id), expiry_score(id), last_used(id)));
        cooled.sort_by_key(until);
        avail.into_iter().chain(cooled).collect()
    };
    OrderTrace {
        provider: provider_key,
        explicit_source,
        explicit: explicit.clone(),
        stored: direct_stored,
        configured: direct_config,
        base_source,
        candidates,
        order,
        has_explicit_order: explicit_branch || (rules.hard() && explicit.is_some()),
    }
}

/// What OpenClaw would write back to the session entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PinWrite {
    /// leave the entry alone
    None,
    /// remove the three `authProfileOverride*` keys
    Clear,
    /// set an `auto` pin
    SetAuto { profile: String, compaction_count: i64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionTrace {
    pub rules: Rules,
    pub provider: String,
    pub pin: Option<String>,
    /// the pin's source as OpenClaw infers it (`user`, `auto`, `user-link`)
    pub pin_source: Option<String>,
    pub pin_source_inferred: bool,
    /// The profile the next reply uses; `None` when OpenClaw would use none.
    pub profile: Option<String>,
    pub source: Option<String>,
    /// Human steps explaining the decision, in order.
    pub steps: Vec<String>,
    pub write: PinWrite,
    /// Shared by every session of one model scope (a 100k-session report resolves a handful).
    pub order: std::rc::Rc<OrderTrace>,
}

/// `resolveProviderModelRouteAuthRequirement`: which kind of route a credential type serves.
fn route_auth_requirement(t: Option<&str>) -> Option<&'static str> {
    match t {
        Some("oauth" | "token") => Some("subscription"),
        Some("api_key" | "aws-sdk") => Some("api-key"),
        _ => None,
    }
}

/// OpenAI models that 2026.9.6's bundled catalog serves through BOTH an API-key and a
/// subscription route (resolveProviderModelRoutes -> 2 routes); other ids are
/// "indeterminate". Config-defined model routes are not modelled.
const DUAL_ROUTE_OPENAI_MODELS_9_6: &[&str] = &[
    "gpt-6-astra",
    "gpt-6-sol",
    "gpt-6-luna",
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "gpt-5.5",
    "gpt-5.5-pro",
    "gpt-5.4",
    "gpt-5.4-pro",
    "gpt-5.4-mini",
];
/// 2026.9.6's default agent model, used when neither the session nor the config names one.
const DEFAULT_MODEL_9_6: &str = "gpt-6-astra";

/// Whether the model this session's turn runs on has more than one route (2026.9).
fn dual_route_model(inp: &Inputs, provider: &str, s: &Session) -> bool {
    if normalize_provider(provider) != "openai" {
        return false;
    }
    let configured = inp
        .cfg
        .and_then(|c| c.pointer("/agents/defaults/model"))
        .and_then(|m| m.get("primary").or(Some(m)))
        .and_then(Value::as_str)
        .map(|m| m.rsplit_once('/').map_or(m, |(_, id)| id))
        .map(|m| m.split('@').next().unwrap_or(m).to_owned());
    let model = s.model.as_deref().map(str::to_owned).or(configured).unwrap_or_else(|| DEFAULT_MODEL_9_6.to_owned());
    let model = model.trim().to_lowercase();
    DUAL_ROUTE_OPENAI_MODELS_9_6.contains(&model.as_str())
}

fn session_scope(rules: Rules, s: &Session) -> ModelScope {
    match &s.model {
        Some(m) if rules.hard() => ModelScope::Model(m.to_string()),
        _ => ModelScope::Unscoped,
    }
}

/// `resolveSessionAuthProfileOverride` (<= 2026.7) / `resolveSessionAuthSelection` (2026.8+).
pub fn resolve_session(inp: &Inputs, provider: &str, s: &Session, new_session: bool) -> SessionTrace {
    let order_trace = resolve_order(inp, provider, &session_scope_of(inp.rules, s));
    resolve_session_with_order(inp, provider, s, new_session, std::rc::Rc::new(order_trace))
}

/// The model scope a session's cooldown checks use (the order depends only on this, so callers
/// resolving many sessions compute one order per scope).
/// 2026.8.1 – 9.1 order a session's profiles without its model (every window counts) and only
/// judge availability per model; 9.2+ also order for the model.
pub fn session_scope_of(rules: Rules, s: &Session) -> ModelScope {
    if rules.on(release::MODEL_SCOPED_ORDER) {
        session_scope(rules, s)
    } else {
        ModelScope::Unscoped
    }
}

/// `resolve_session` with the order already resolved for `session_scope_of(rules, s)`.
pub fn resolve_session_with_order(
    inp: &Inputs,
    provider: &str,
    s: &Session,
    new_session: bool,
    order_trace: std::rc::Rc<OrderTrace>,
) -> SessionTrace {
    let rules = inp.rules;
    let scope = session_scope(rules, s);
    let order = &order_trace.order;
    let auth_key = provider_for_auth(rules, provider);
    let mut steps: Vec<String> = vec![];
    let raw_pin = s.pin.as_deref().map(str::to_owned);
    let mut current = raw_pin.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
    let compaction_is_num = s.pin_compaction.as_ref().is_some_and(Value::is_number);
    let (source, inferred) = match (&s.pin_source, rules) {
        (Some(src), r) if r.hard() && !src.is_empty() => (Some(src.to_string()), false),
        (Some(src), r) if !r.hard() => (Some(src.to_string()), false),
        _ if current.is_none() => (None, false),
        _ => (Some(if compaction_is_num { "auto" } else { "user" }.to_string()), true),
    };
    let is_user = match source.as_deref() {
        Some("user") => true,
        Some("user-link") => rules.on(release::RATE_LIMIT_RETRY_BACK),
        _ => false,
    };
    let mut write = PinWrite::None;
    let mut finish = |profile: Option<String>, src: Option<String>, steps: Vec<String>, write: PinWrite| SessionTrace {
        rules,
        provider: normalize_provider(provider),
        pin: raw_pin.clone(),
        pin_source: source.clone(),
        pin_source_inferred: inferred,
        profile,
        source: src,
        steps,
        write,
        order: order_trace.clone(),
    };
    if let (Some(p), Some(src)) = (&current, &source) {
        steps.push(format!("pinned to {p} (source {src}{})", if inferred { ", inferred" } else { "" }));
    } else {
        steps.push("not pinned".into());
    }
    let compatible = |id: &str| {
        inp.profiles
            .get(id)
            .map(|c| provider_compatible(rules, c.get("provider").and_then(Value::as_str), cred_type(c), &auth_key))
            .unwrap_or(false)
    };
    // (1) dangling pin
    if let Some(p) = current.clone() {
        if !inp.profiles.contains_key(&p) {
            // 2026.9 keeps a missing user pin when it still names this provider: by its
            // config entry, else its id prefix, else (no `:`) the session's provider.
            let pinned_provider = inp
                .cfg_auth("profiles")
                .and_then(|m| m.get(&p))
                .and_then(|pc| pc.get("provider"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| p.split_once(':').map(|(pp, _)| pp.to_owned()))
                .or_else(|| s.provider_override.as_deref().map(str::to_owned))
                .unwrap_or_else(|| provider.to_owned());
            let keep = rules.on(release::MISSING_USER_PIN_KEPT)
                && is_user
                && provider_for_auth(rules, &pinned_provider) == auth_key;
            if keep {
                steps.push(format!("{p} does not exist, but a user pin naming this provider is kept (2026.9)"));
                return finish(Some(p), Some("user".into()), steps, PinWrite::None);
            }
            steps.push(format!("{p} does not exist: the pin is cleared"));
            write = PinWrite::Clear;
            current = None;
        } else if !compatible(&p) {
            steps.push(format!("{p} is not a {auth_key} profile: the pin is cleared"));
            write = PinWrite::Clear;
            current = None;
        }
    }
    let current_is_user = is_user && current.is_some();
    if rules.hard() && current_is_user {
        let p = current.clone().unwrap();
        steps.push(format!("user pin kept as is (2026.9 never rotates user pins): {p}"));
        return finish(Some(p), Some("user".into()), steps, write);
    }
    // (3) auto pin outside the order
    if let Some(p) = current.clone() {
        let exempt = rules.on(release::USER_PIN_OUTSIDE_ORDER_KEPT) && source.as_deref() == Some("user");
        if !order.is_empty() && !order.contains(&p) && !exempt {
            steps.push(format!("{p} is not in the effective order ({}): the pin is cleared", order.join(", ")));
            write = PinWrite::Clear;
            current = None;
        }
    }
    if order.is_empty() {
        steps.push("no eligible profile in the order: OpenClaw uses no auth profile".into());
        return finish(None, None, steps, write);
    }
    let cd = |id: &str| in_cooldown(inp, id, &scope);
    let compaction = s.compaction_count.unwrap_or(0);
    let set_or_keep =
        |next: String,
         steps: Vec<String>,
         write: PinWrite,
         finish: &mut dyn FnMut(Option<String>, Option<String>, Vec<String>, PinWrite) -> SessionTrace| {
            let same = Some(next.as_str()) == s.pin.as_deref() && s.pin_source.as_deref() == Some("auto");
            let needs = match rules.on(release::COMPACTION_ROTATES) {
                false => !same,
                true => !same || s.pin_compaction.as_ref().and_then(Value::as_f64) != Some(compaction as f64),
            };
            let w =
                if needs { PinWrite::SetAuto { profile: next.clone(), compaction_count: compaction } } else { write };
            finish(Some(next), Some("auto".into()), steps, w)
        };

    if rules.hard() {
        // (6) every profile globally unusable
        let globally = |id: &str| {
            if !in_cooldown(inp, id, &ModelScope::Unscoped) {
                return false;
            }
            let Some(st) = inp.usage.get(id) else {
                return true;
            };
            active(rules, st, "disabledUntil", inp.now)
                || (active(rules, st, "blockedUntil", inp.now)
                    && (st.get("blockedScope").and_then(Value::as_str) != Some("model")
                        || !truthy_str(st, "blockedModel")))
                || (active(rules, st, "cooldownUntil", inp.now)
                    && (!model_scoped_reason(st.get("cooldownReason").and_then(Value::as_str))
                        || !truthy_str(st, "cooldownModel")))
        };
        if order.iter().all(|id| globally(id)) {
            steps.push("every profile in the order is unusable: no profile is chosen".into());
            let w = if current.is_some() { PinWrite::Clear } else { write };
            return finish(None, None, steps, w);
        }
        let unavailable = |id: &str| cd(id);
        let current_unavailable = current.as_deref().map(unavailable).unwrap_or(false);
        // <= 2026.9.5: an auto pin also moves on when the session compacted since pinning, and
        // that rotation (kind-scoped like any other) comes before a rate-limit retry-back
        let stored_compaction =
            s.pin_compaction.as_ref().and_then(|v| v.as_f64()).map(|f| f as i64).unwrap_or(compaction);
        let compacted = rules.on(release::COMPACTION_ROTATES)
            && source.as_deref() == Some("auto")
            && current.is_some()
            && compaction > stored_compaction;
        let retryable = if rules.on(release::RATE_LIMIT_RETRY_BACK)
            && !compacted
            && source.as_deref() == Some("auto")
            && !current_unavailable
            && current.is_some()
            && order_trace.has_explicit_order
        {
            let c = current.clone().unwrap();
            let idx = order.iter().position(|x| *x == c).unwrap_or(0);
            order[..idx]
                .iter()
                .find(|id| {
                    let rl = inp
                        .usage
                        .get(*id)
                        .and_then(|st| st.get("failureCounts"))
                        .and_then(|f| f.get("rate_limit"))
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0);
                    rl > 0.0 && !unavailable(id)
                })
                .cloned()
        } else {
            None
        };
        let should_rotate =
            current.is_some() && !new_session && (current_unavailable || retryable.is_some() || compacted);
        // When the model is served both by subscription and by API key, an unusable pin only
        // rotates among profiles of its own kind — an unusable API key stays pinned rather
        // than moving the session onto someone's subscription, and vice versa.
        let kind = |id: &str| {
            route_auth_requirement(inp.profiles.get(id).and_then(cred_type).or_else(|| {
                inp.cfg_auth("profiles").and_then(|m| m.get(id)).and_then(|pc| pc.get("mode")).and_then(Value::as_str)
            }))
        };
        let current_kind = match &current {
            Some(c) if should_rotate && retryable.is_none() && dual_route_model(inp, provider, s) => kind(c),
            _ => None,
        };
        let rotation: Vec<String> = match current_kind {
            Some(k) => order.iter().filter(|id| kind(id) == Some(k)).cloned().collect(),
            None => order.clone(),
        };
        let pick = |active_id: Option<&str>| -> Option<String> {
            let start = active_id.and_then(|a| rotation.iter().position(|x| x == a));
            let n = rotation.len();
            for off in 1..=n {
                let i = match start {
                    Some(st) => (st + off) % n,
                    None => off - 1,
                };
                if !unavailable(&rotation[i]) {
                    return Some(rotation[i].clone());
                }
            }
            start.map(|s| rotation[s].clone()).or_else(|| rotation.first().cloned())
        };
        let next = if let Some(r) = retryable {
            steps.push(format!("{r} recovered from a rate limit and comes earlier in the explicit order: the auto pin moves back to it"));
            Some(r)
        } else if new_session || should_rotate {
            let from = if current_unavailable { None } else { current.as_deref() };
            let n = pick(from);
            if new_session {
                steps.push(format!(
                    "/new: the auto pin moves to the next usable profile: {}",
                    n.clone().unwrap_or_default()
                ));
            } else {
                steps.push(format!(
                    "{} is unusable for this model: rotate to {}",
                    current.clone().unwrap_or_default(),
                    n.clone().unwrap_or_default()
                ));
            }
            n
        } else if current.is_none() {
            let n = pick(None);
            steps.push(format!("no pin: first usable profile in the order: {}", n.clone().unwrap_or_default()));
            n
        } else {
            steps.push(format!("auto pin kept: {}", current.clone().unwrap()));
            current.clone()
        };
        return match next {
            None => finish(current, source.clone(), steps, write),
            Some(n) => set_or_keep(n, steps, write, &mut finish),
        };
    }

    // 2026.4.5 / 2026.5.28
    let pick_first = || order.iter().find(|id| !cd(id)).cloned().or_else(|| order.first().cloned());
    let pick_next = |active_id: &str| -> Option<String> {
        let Some(i) = order.iter().position(|x| x == active_id) else {
            return pick_first();
        };
        let n = order.len();
        for off in 1..=n {
            let cand = &order[(i + off) % n];
            if !cd(cand) {
                return Some(cand.clone());
            }
        }
        Some(order[i].clone())
    };
    let stored_compaction = s.pin_compaction.as_ref().and_then(|v| v.as_f64()).map(|f| f as i64).unwrap_or(compaction);
    let replacement = if rules.on(release::UNUSABLE_PIN_REPLACED) {
        current.as_deref().filter(|c| cd(c)).and_then(|c| order.iter().find(|id| id.as_str() != c && !cd(id)).cloned())
    } else {
        None
    };
    if let Some(r) = &replacement {
        steps.push(format!("{} is in cooldown: replaced by the first usable profile {r} and re-tagged auto (2026.5.28 does this even to user pins)", current.clone().unwrap()));
        current = None;
    }
    if let (Some("user"), Some(p), false) = (source.as_deref(), &current, new_session) {
        steps.push(format!("user pin kept: {p}"));
        return finish(Some(p.clone()), Some("user".into()), steps, write);
    }
    let next = if let Some(r) = replacement {
        Some(r)
    } else if new_session {
        let n = match &current {
            Some(c) => pick_next(c),
            None => pick_first(),
        };
        steps.push(format!("/new: the pin rotates to the next usable profile: {}", n.clone().unwrap_or_default()));
        n
    } else if current.is_some() && compaction > stored_compaction {
        let n = pick_next(current.as_deref().unwrap());
        steps.push(format!(
            "compacted since pinned ({compaction} > {stored_compaction}): the auto pin rotates to {}",
            n.clone().unwrap_or_default()
        ));
        n
    } else if current.is_none() || cd(current.as_deref().unwrap()) {
        let n = pick_first();
        steps.push(format!("first usable profile in the order: {}", n.clone().unwrap_or_default()));
        n
    } else {
        steps.push(format!("auto pin kept: {}", current.clone().unwrap()));
        current.clone()
    };
    match next {
        None => finish(current, source.clone(), steps, write),
        Some(n) => set_or_keep(n, steps, write, &mut finish),
    }
}

/// `/status`'s usage source: the first oauth/token profile of the plain order, whatever the
/// session is pinned to (openclaw/openclaw#15089). 2026.9 with the Codex harness follows the
/// session's pin when that credential exists.
pub fn usage_source(inp: &Inputs, order: &OrderTrace, session: Option<&Session>) -> Option<String> {
    if inp.rules.hard() {
        if let Some(pin) = session.and_then(|s| s.pin.as_deref()).map(str::trim) {
            let ok = inp
                .profiles
                .get(pin)
                .and_then(|c| c.get("provider"))
                .and_then(Value::as_str)
                .map(|p| normalize_provider(p) == "openai");
            if ok == Some(true) {
                return Some(pin.to_string());
            }
        }
    }
    order
        .order
        .iter()
        .find(|id| matches!(inp.profiles.get(*id).and_then(cred_type), Some("oauth") | Some("token")))
        .cloned()
}

/// `resolveAuthProfileDisplayLabel`: `id (displayName)`, else `id (email)`, else `id`, where
/// config beats the credential for each field and a credential displayName beats a config
/// email. The token's own email claim is never consulted — which is how labels come to lie.
pub fn display_label(cfg: Option<&Value>, profiles: &Map<String, Value>, id: &str) -> (String, &'static str) {
    let pc = cfg.and_then(|c| c.get("auth")).and_then(|a| a.get("profiles")).and_then(|p| p.get(id));
    let cred = profiles.get(id);
    let field = |v: Option<&Value>, k: &str| v.and_then(|v| str_field(v, k)).filter(|s| !s.trim().is_empty());
    let pick = [
        (field(pc, "displayName"), "config displayName"),
        (field(cred, "displayName"), "credential displayName"),
        (field(pc, "email"), "config email"),
        (field(cred, "email"), "credential email"),
    ];
    for (v, src) in pick {
        if let Some(v) = v {
            return (format!("{id} ({})", v.trim()), src);
        }
    }
    (id.to_string(), "profile id")
}

/// `resolveModelAuthLabel`: the label `/status` prints for a session — it follows the pin when
/// the pinned credential exists and fits the provider, else the order's first profile.
pub fn session_label(inp: &Inputs, provider: &str, s: &Session) -> Option<(String, &'static str, String)> {
    let order = resolve_order(inp, provider, &ModelScope::Unscoped).order;
    session_label_with_order(inp, provider, s, order)
}

/// `session_label` with the plain (unscoped) order already resolved.
pub fn session_label_with_order(
    inp: &Inputs,
    provider: &str,
    s: &Session,
    order: Vec<String>,
) -> Option<(String, &'static str, String)> {
    let auth_key = provider_for_auth(inp.rules, provider);
    let pin = s.pin.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
    let mut cands: Vec<String> = pin.iter().cloned().collect();
    if let Some(p) = &pin {
        if order.contains(p) {
            cands.push(p.clone());
        }
    }
    cands.extend(order);
    for id in cands {
        let Some(c) = inp.profiles.get(&id) else {
            continue;
        };
        if !provider_compatible(inp.rules, c.get("provider").and_then(Value::as_str), cred_type(c), &auth_key) {
            continue;
        }
        let kind = match cred_type(c) {
            Some("api_key") => "api-key",
            Some(t) => t,
            None => "unknown",
        };
        let (label, src) = display_label(inp.cfg, inp.profiles, &id);
        return Some((format!("{kind} ({label})"), src, id));
    }
    None
}
