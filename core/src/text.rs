//! Text helpers every layer shares: timestamps (parse, RFC 3339, "in 3h" / "5m ago"),
//! shortening long strings for one-line display, and paths shown relative to the state dir.

use std::path::Path;

/// `p` as a person recognises it: relative to `base` (the state dir) when inside it, else whole.
pub fn rel(base: &Path, p: &Path) -> String {
    p.strip_prefix(base).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string())
}

pub fn parse_time_ms(s: &str) -> Option<i64> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Some(n);
    }
    chrono::DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.timestamp_millis())
}

/// UTC RFC 3339 with second precision, e.g. `2026-05-01T12:00:00Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("@{ms}ms"))
}

/// A short, human "in 3h" / "5m ago" relative to now.
pub fn relative(ms: i64, now_ms: i64) -> String {
    let d = (ms - now_ms) / 1000;
    let a = d.unsigned_abs();
    let s = if a < 90 {
        format!("{a}s")
    } else if a < 90 * 60 {
        format!("{}m", a / 60)
    } else if a < 48 * 3600 {
        format!("{}h", a / 3600)
    } else if a < 3 * 365 * 86400 {
        format!("{}d", a / 86400)
    } else {
        format!("{}y", a / (365 * 86400))
    };
    if d >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

/// At most `max` characters, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// `s` in at most `max` characters, its middle cut, two thirds kept from the start
/// (`auth-profiles.json.mig…0-0000-uuid`): both ends of a file name or an id say more than
/// either alone.
pub fn shorten_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 3 {
        return s.to_string();
    }
    let head = (max - 1) * 2 / 3;
    let tail = max - 1 - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// A duration as whole or fractional seconds: `5s`, `2.5s`.
pub fn secs(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}
