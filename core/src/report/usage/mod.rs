//! `clawauth usage`: live Codex usage per profile, each fetched with that profile's OWN access
//! token and account id (never through the provider order, where a soft preference would let
//! another account's token answer), side by side with the layers that decide which profile a
//! chat uses and whose usage OpenClaw's `/status` shows. Owns the HTTP fetch (ureq, rustls,
//! bounded pool, per-request timeout), the parsing of the `wham/usage` answer, the identity
//! analysis, the session cross-check, and the snapshots `usage --record` keeps in the journal
//! for `show TXN` (their SQL is the journal's). Secrets leave this module only as request
//! headers: every message is built here, never taken from the HTTP client (its errors can
//! carry URLs and headers).

mod analysis;
mod fetch;
mod snapshot;

pub use analysis::*;
pub use fetch::*;
pub use snapshot::*;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::model::resolve::{self, Rules};
use crate::model::token;
use crate::model::{str_field, AgentState, ProfileView, State};
use crate::report::status::{self, SessionFilter};
use crate::text::rfc3339_ms;
use crate::txn::journal::{Journal, TxnRow};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub const SCHEMA_VERSION: u32 = 1;
pub const DEFAULT_ENDPOINT: &str = "https://chatgpt.com";
pub const USAGE_PATH: &str = "/backend-api/wham/usage";
/// Snapshots this close to a transaction count as its "before/after" evidence in `show`.
pub const SHOW_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Sessions listed by default, like `status`.
const SESSION_LIMIT: usize = 10;

// ---------------------------------------------------------------------------------------------
// report types (`--json`, schema_version 1)

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct UsageWindow {
    /// The key in the answer: `primary_window`, `secondary_window`, ...
    pub name: String,
    /// By length: `5h`, `day`, `week`, else e.g. `30m`, `2d`; `window` when no length is given.
    pub label: String,
    pub limit_window_seconds: Option<i64>,
    pub used_percent: Option<f64>,
    pub percent_left: Option<f64>,
    /// Epoch seconds: the answer's `reset_at`, else now + `reset_after_seconds`.
    pub reset_at: Option<i64>,
    pub reset_at_rfc3339: Option<String>,
    pub reset_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Limits {
    pub allowed: Option<bool>,
    pub limit_reached: Option<bool>,
    pub windows: Vec<UsageWindow>,
}

/// What the usage endpoint said about the login behind one credential.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Answer {
    pub user_id: Option<String>,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub plan_type: Option<String>,
    pub rate_limit: Option<Limits>,
    pub code_review_rate_limit: Option<Limits>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FetchError {
    /// `no_access_token`, `no_account_id`, `not_codex_oauth`, `unauthorized`, `http_status`,
    /// `timeout`, `connection`, `protocol`, `bad_response`.
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl FetchError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        FetchError { kind, message: message.into(), http_status: None }
    }
    /// Whether a request was made (as opposed to a profile that could not be asked at all).
    pub fn requested(&self) -> bool {
        !matches!(self.kind, "no_access_token" | "no_account_id" | "not_codex_oauth")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredIdentity {
    pub account_id: Option<String>,
    pub email: Option<String>,
    /// From the access token's claims.
    pub user_id: Option<String>,
    pub plan: Option<String>,
    pub access_fp: Option<String>,
    pub token_state: token::TokenState,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileUsage {
    pub id: String,
    pub active_slot: bool,
    pub inherited: bool,
    pub stored: StoredIdentity,
    /// The `ChatGPT-Account-Id` sent, and where it came from (`credential` or `token claim`).
    pub request_account_id: Option<String>,
    pub request_account_source: Option<&'static str>,
    pub ok: bool,
    pub usage: Option<Answer>,
    pub error: Option<FetchError>,
    pub elapsed_ms: Option<u64>,
    /// The answer names another login than the stored credential.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityNote {
    /// `shared_workspace`, `same_login`, `api_mismatch`.
    pub kind: &'static str,
    pub account_id: Option<String>,
    pub profiles: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionUsage {
    pub key: String,
    pub pin: Option<String>,
    pub effective: Option<String>,
    pub effective_source: Option<String>,
    pub usage_source: Option<String>,
    pub differs: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossCheck {
    pub session: String,
    pub usage_source: Option<String>,
    pub effective: Option<String>,
    pub differs: bool,
    /// Two profile ids for one login (same workspace and user): one quota after all.
    pub same_login: bool,
    pub message: String,
    pub usage_source_windows: Option<Vec<UsageWindow>>,
    pub effective_windows: Option<Vec<UsageWindow>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentUsage {
    pub id: String,
    pub provider: String,
    pub rules: Rules,
    pub profiles: Vec<ProfileUsage>,
    pub identity: Vec<IdentityNote>,
    pub sessions: Vec<SessionUsage>,
    pub cross_check: Option<CrossCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotSummary {
    pub id: String,
    pub exists: bool,
    /// The external-repo identity the slot holds, if any.
    pub holds: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub now: String,
    pub endpoint: String,
    pub timeout_seconds: f64,
    pub concurrency: usize,
    pub active_slot: SlotSummary,
    pub agents: Vec<AgentUsage>,
    /// Rows written to the journal with `--record`.
    pub recorded: Option<usize>,
}

impl UsageReport {
    pub fn any_error(&self) -> bool {
        self.agents.iter().flat_map(|a| &a.profiles).any(|p| p.error.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_labelled_by_length() {
        let l = |s| window_label(Some(s));
        assert_eq!((l(18_000), l(86_400), l(604_800)), ("5h".into(), "day".into(), "week".into()));
        assert_eq!((l(1_800), l(7_200), l(172_800), l(45)), ("30m".into(), "2h".into(), "2d".into(), "45s".into()));
        assert_eq!(window_label(None), "window");
    }

    #[test]
    fn answers_parse_leniently_but_must_be_objects() {
        let now_ms = 1_000_000_000_000;
        let a = parse_answer(
            r#"{"plan_type":"plus","rate_limit":{"limit_reached":true,"secondary_window":{"used_percent":120,"limit_window_seconds":604800,"reset_after_seconds":60},"primary_window":{"used_percent":12.5,"limit_window_seconds":18000,"reset_at":1000000900}}}"#,
            now_ms,
        )
        .unwrap();
        let l = a.rate_limit.unwrap();
        assert_eq!(l.limit_reached, Some(true));
        assert_eq!(l.windows[0].name, "primary_window");
        assert_eq!((l.windows[0].percent_left, l.windows[0].reset_at), (Some(87.5), Some(1_000_000_900)));
        // over 100% used is 0% left; reset from now + reset_after_seconds
        assert_eq!((l.windows[1].percent_left, l.windows[1].reset_at), (Some(0.0), Some(1_000_000_060)));
        assert!(a.user_id.is_none() && a.code_review_rate_limit.is_none());
        assert_eq!(parse_answer("<html>", now_ms).unwrap_err().kind, "bad_response");
        assert_eq!(parse_answer("[1]", now_ms).unwrap_err().kind, "bad_response");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert_eq!(check_endpoint("https://chatgpt.com/").unwrap(), "https://chatgpt.com");
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("http://localhost").is_ok());
        assert!(check_endpoint("http://[::1]:9").is_ok());
        for bad in ["http://example.com", "http://127.0.0.1.evil.com", "ftp://x", "chatgpt.com", "https://u:p@h"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_codes_map_to_our_messages() {
        assert_eq!(status_error(401).message, "token expired or revoked (HTTP 401)");
        assert_eq!(status_error(403).kind, "unauthorized");
        assert_eq!((status_error(502).kind, status_error(502).message.as_str()), ("http_status", "HTTP 502"));
    }
}
