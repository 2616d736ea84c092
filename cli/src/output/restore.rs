//! `restore-token --list` as text: the identity, the sources searched, the ranked candidates.

use clawauth_core::text::{relative, shorten_middle};
use clawauth_core::workflow::restore::{verdict_rank, Listing};

/// A source's label (`archive agents/main/agent/auth-profiles.json.migrated-…`) as a short cell:
/// the file name, or the journal transaction, its middle cut to `max` characters.
pub fn short_source(kind: &str, label: &str, max: usize) -> String {
    let rest = label.strip_prefix(kind).map(str::trim_start).unwrap_or(label);
    let short = match kind {
        "journal" => rest.strip_prefix("txn ").map(|r| format!("txn {r}")).unwrap_or_else(|| rest.to_string()),
        // `agent work agents/work/agent/auth-profiles.json` -> `work: auth-profiles.json`
        "agent" => match rest.split_once(' ') {
            Some((id, loc)) => format!("{id}: {}", loc.rsplit('/').next().unwrap_or(loc)),
            None => rest.to_string(),
        },
        _ => rest.rsplit('/').next().unwrap_or(rest).to_string(),
    };
    shorten_middle(&short, max)
}

/// A verdict in one word: `ok`, `current` (the copy there now), or `stale` (refused).
pub fn short_verdict(v: &str) -> &'static str {
    match v {
        "ok" => "ok",
        "current" => "current",
        _ => "stale",
    }
}

/// `--list` as text: the identity, every source searched (one line each), then one short line
/// per candidate, ranked (`*` = the one restore picks), and why a refused one is refused.
pub fn render_listing(l: &Listing, now_ms: i64) -> String {
    let mut out = String::new();
    let (a, u, e) = &l.identity;
    outln!(
        out,
        "{}: account {}, user {}, email {}",
        l.profile,
        a.as_deref().unwrap_or("?"),
        u.as_deref().unwrap_or("?"),
        e.as_deref().unwrap_or("?")
    );
    outln!(out, "searched {} source(s):", l.searched.len());
    for src in &l.searched {
        // past 96 characters its middle is cut, keeping the kind, the directory and the start
        // of the file name (`--json` has the whole label)
        let n = src.chars().count();
        let shown = if n <= 96 {
            src.clone()
        } else {
            let head: String = src.chars().take(60).collect();
            let tail: String = src.chars().skip(n - 35).collect();
            format!("{head}…{tail}")
        };
        outln!(out, "  {shown}");
    }
    if l.candidates.is_empty() {
        outln!(out, "no candidate holds this identity");
    } else {
        outln!(out, "candidates, usable and newest first (* = the copy `restore-token` restores):");
        let mut rows = vec![vec![
            "#".to_string(),
            "VERDICT".into(),
            "SOURCE".into(),
            "REFRESH".into(),
            "EXPIRES".into(),
            "ACCOUNT".into(),
        ]];
        for (i, c) in l.candidates.iter().enumerate() {
            let mark = if Some(i) == l.pick { "*" } else { " " };
            let also = if c.also_in.is_empty() { String::new() } else { format!(" +{}", c.also_in.len()) };
            rows.push(vec![
                format!("{mark}{}", i + 1),
                short_verdict(&c.verdict).into(),
                format!("{:<8} {}{also}", c.kind, short_source(c.kind, &c.source, 30)),
                c.refresh_fp.clone().unwrap_or_else(|| "none".into()),
                c.expires.or(c.token_exp).map(|m| relative(m, now_ms)).unwrap_or_else(|| "?".into()),
                shorten_middle(c.account_id.as_deref().or(c.email.as_deref()).unwrap_or("?"), 20),
            ]);
        }
        out.push_str(&super::table(&rows, "  "));
        for (i, c) in l.candidates.iter().enumerate().filter(|(_, c)| verdict_rank(&c.verdict) == 2) {
            outln!(out, "  {} is stale: {} (restored only with --force)", i + 1, c.verdict);
        }
        if l.candidates.iter().any(|c| !c.also_in.is_empty()) {
            outln!(out, "  +N: the same credential is in N more sources (--json names them)");
        }
    }
    for w in &l.warnings {
        outln!(out, "warning: {w}");
    }
    out
}
