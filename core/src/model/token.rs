//! Codex token handling: decode a JWT's payload claims (no signature check — we only read what
//! the token says about itself), classify its state, and render any secret as a fingerprint.
//! `fingerprint` is the only way a secret may reach output, logs, diffs or the journal listing.

use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// OpenClaw refreshes a token when fewer than 5 minutes remain.
pub const EXPIRING_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Field names that hold secrets anywhere in OpenClaw's credential JSON.
pub const SECRET_KEYS: &[&str] = &[
    "access",
    "refresh",
    "idToken",
    "id_token",
    "key",
    "apiKey",
    "token",
    "access_token",
    "refresh_token",
    "accessToken",
    "refreshToken",
];

pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// `eyJ…#1a2b3c4d`: the first three characters (a JWT always starts `eyJ`, so nothing is
/// revealed) and the first 8 hex digits of the secret's SHA-256. Short secrets show no prefix.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex8 = hex::encode(&digest[..4]);
    if secret.len() >= 24 && secret.starts_with("eyJ") {
        format!("eyJ…#{hex8}")
    } else {
        format!("…#{hex8}")
    }
}

/// Full SHA-256 of a secret, for comparing copies without holding them (repo vs slot).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Claims {
    /// `exp` in epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Decode the payload of a JWT. `None` when the string is not `header.payload.signature` with
/// a base64url JSON object as payload.
pub fn decode_claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || p.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let obj = v.as_object()?;
    let auth = obj.get("https://api.openai.com/auth");
    let profile = obj.get("https://api.openai.com/profile");
    let s = |v: Option<&Value>, k: &str| v.and_then(|v| v.get(k)).and_then(Value::as_str).map(str::to_owned);
    Some(Claims {
        exp: obj.get("exp").and_then(|e| e.as_i64().or_else(|| e.as_f64().map(|f| f as i64))),
        account_id: s(auth, "chatgpt_account_id"),
        user_id: s(auth, "chatgpt_user_id").or_else(|| s(auth, "user_id")),
        plan: s(auth, "chatgpt_plan_type"),
        email: s(profile, "email").or_else(|| s(Some(&v), "email")),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Valid,
    /// fewer than 5 minutes left: OpenClaw will refresh on next use.
    Expiring,
    Expired,
    NotAJwt,
    Missing,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Valid => "valid",
            TokenState::Expiring => "expiring",
            TokenState::Expired => "expired",
            TokenState::NotAJwt => "not a JWT",
            TokenState::Missing => "missing",
        }
    }
}

/// Classify an access token. The JWT's own `exp` decides; when it has none, the credential's
/// stored `expires` (ms) does.
pub fn classify(access: Option<&str>, expires_ms: Option<i64>, now_ms: i64) -> TokenState {
    let Some(tok) = access.filter(|t| !t.is_empty()) else {
        return TokenState::Missing;
    };
    let Some(claims) = decode_claims(tok) else {
        return TokenState::NotAJwt;
    };
    let exp_ms = claims.exp.map(|s| s.saturating_mul(1000)).or(expires_ms);
    match exp_ms {
        Some(e) if e <= now_ms => TokenState::Expired,
        Some(e) if e.saturating_sub(now_ms) < EXPIRING_WINDOW_MS => TokenState::Expiring,
        _ => TokenState::Valid,
    }
}

/// A secret as it may be shown to a person: fingerprint plus the non-secret claims of a JWT.
pub fn describe_secret(secret: &str) -> String {
    let fp = fingerprint(secret);
    match decode_claims(secret) {
        Some(c) => {
            let mut parts = vec![];
            if let Some(e) = c.exp {
                parts.push(format!("exp {}", crate::text::rfc3339_ms(e.saturating_mul(1000))));
            }
            if let Some(a) = &c.account_id {
                parts.push(format!("acct {a}"));
            }
            if let Some(m) = &c.email {
                parts.push(m.clone());
            }
            if parts.is_empty() {
                fp
            } else {
                format!("{fp} ({})", parts.join(", "))
            }
        }
        None => fp,
    }
}

/// A deep copy of `v` in which every secret-named string is replaced by `describe_secret`.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let nv = match v {
                        Value::String(s) if is_secret_key(k) => Value::String(describe_secret(s)),
                        other => redact(other),
                    };
                    (k.clone(), nv)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Redact a value that sits at `pointer`: if the pointer's last segment names a secret field,
/// the value itself is the secret.
pub fn redact_at(pointer: &str, v: &Value) -> Value {
    let last = pointer.rsplit('/').next().unwrap_or("");
    match v {
        Value::String(s) if is_secret_key(&crate::json::unescape_token(last)) => Value::String(describe_secret(s)),
        other => redact(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", e.encode(r#"{"alg":"RS256"}"#), e.encode(payload))
    }

    #[test]
    fn decodes_codex_claims() {
        let t = jwt(
            r#"{"exp":4102444800,"https://api.openai.com/auth":{"chatgpt_account_id":"acct-1","chatgpt_plan_type":"pro","chatgpt_user_id":"user-1"},"https://api.openai.com/profile":{"email":"a@example.com"}}"#,
        );
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.exp, Some(4102444800));
        assert_eq!(c.account_id.as_deref(), Some("acct-1"));
        assert_eq!(c.user_id.as_deref(), Some("user-1"));
        assert_eq!(c.plan.as_deref(), Some("pro"));
        assert_eq!(c.email.as_deref(), Some("a@example.com"));
    }

    #[test]
    fn classifies() {
        let now = 1_800_000_000_000;
        let valid = jwt(r#"{"exp":4102444800}"#);
        let expiring = jwt(&format!(r#"{{"exp":{}}}"#, now / 1000 + 60));
        let expired = jwt(r#"{"exp":1000}"#);
        assert_eq!(classify(Some(&valid), None, now), TokenState::Valid);
        assert_eq!(classify(Some(&expiring), None, now), TokenState::Expiring);
        assert_eq!(classify(Some(&expired), None, now), TokenState::Expired);
        assert_eq!(classify(Some("opaque"), None, now), TokenState::NotAJwt);
        assert_eq!(classify(Some("a.b.c"), None, now), TokenState::NotAJwt);
        assert_eq!(classify(None, None, now), TokenState::Missing);
        assert_eq!(classify(Some(""), None, now), TokenState::Missing);
    }

    #[test]
    fn fingerprint_never_contains_the_secret() {
        let t = jwt(r#"{"exp":4102444800}"#);
        let fp = fingerprint(&t);
        assert!(fp.starts_with("eyJ…#"));
        assert_eq!(fp.len(), "eyJ…#".len() + 8);
        assert!(!fp.contains(&t[3..12]));
        assert_eq!(fingerprint("fake-refresh-x").len(), "…#".len() + 8);
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }

    #[test]
    fn redact_replaces_every_secret_field() {
        let v: Value =
            serde_json::json!({"p": {"access": "SECRET-ACCESS-123", "refresh": "SECRET-REFRESH", "email": "x"}});
        let s = redact(&v).to_string();
        assert!(!s.contains("SECRET"));
        assert!(s.contains("\"email\":\"x\""));
        assert!(!redact_at("/profiles/a/refresh", &Value::String("SECRET".into())).to_string().contains("SECRET"));
    }
}
