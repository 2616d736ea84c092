//! `clawauth status` as text: the state dir, the preference, the slot, then every agent's layers.

use super::table;
use clawauth_core::report::status::*;
use clawauth_core::text::{relative, rfc3339_ms, shorten_middle};
use clawauth_core::txn::status::TxnStatus;

fn list(v: &Option<Vec<String>>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.is_empty() => "[] (empty: no profile is used)".into(),
        Some(v) => v.join(", "),
    }
}

/// The lines a read-only report prints for pending transactions.
pub(super) fn pending_lines(txns: &[PendingTxn]) -> Vec<String> {
    txns.iter()
        .map(|t| match (t.status, &t.stale) {
            (TxnStatus::Applying, _) => format!(
                "transaction {} ({}: {}) was interrupted while applying: run `{}` to finish or roll it back",
                t.id, t.workflow, t.summary, t.command
            ),
            (_, Some(why)) => format!(
                "planned transaction {} ({}) is stale and will not apply ({why}): {}",
                t.id, t.summary, t.command
            ),
            _ => format!("planned transaction {} ({}) is waiting: `{}`", t.id, t.summary, t.command),
        })
        .collect()
}

pub fn render(r: &StatusReport, now: i64) -> String {
    let mut o = String::new();
    outln!(o, "OpenClaw state  {}  (from {})", r.state_dir, r.state_dir_source);
    outln!(o, "config          {}  ({})", r.config.path, if r.config.exists { "read" } else { "absent" });
    let pref = match (&r.preference.profile, r.preference.exists_in_store) {
        (Some(p), Some(true)) => p.clone(),
        (Some(p), _) => format!("{p}  (no such profile!)"),
        (None, _) => "— (no codex_profile_id)".into(),
    };
    outln!(o, "preference      {pref}");
    let slot = &r.active_slot;
    let slot_line = if !slot.exists {
        format!("{} (not present)", slot.id)
    } else if slot.repo_path.is_none() {
        format!("{} (no external repo)", slot.id)
    } else {
        match &slot.matches {
            Some(m) => {
                format!("{} holds repo identity '{m}' (accountId, workspace, access, refresh all match)", slot.id)
            }
            None => format!("{} matches NO repo identity in {}", slot.id, slot.repo_path.clone().unwrap_or_default()),
        }
    };
    outln!(o, "active slot     {slot_line}");
    if let Some(g) = &r.gateway {
        let since = g.since.as_deref().map(|s| format!(", since {s}")).unwrap_or_default();
        let release = g.release.as_deref().map(|r| format!("OpenClaw {r}, ")).unwrap_or_default();
        outln!(
            o,
            "gateway         pid {} on 127.0.0.1:{} ({release}port from {}; found by {}{since})",
            g.pid,
            g.port,
            g.port_source,
            g.found_by
        );
        outln!(o, "                {}", g.writes);
    }
    for l in pending_lines(&r.transactions) {
        outln!(o, "transaction     {l}");
    }
    for w in &r.warnings {
        outln!(o, "warning: {w}");
    }
    for a in &r.agents {
        outln!(o);
        outln!(o, "agent {}{} — layout {}", a.id, if a.default { " (default)" } else { "" }, a.layout.name());
        outln!(o, "  {}", a.layout_description);
        outln!(
            o,
            "  rules: OpenClaw {} (from {}); live Codex provider: {}",
            a.rules.name(),
            a.rules_source,
            a.provider
        );
        if let Some(ro) = &a.read_only_reason {
            outln!(o, "  read-only: {ro}");
        }
        outln!(o, "  files:");
        let rows: Vec<Vec<String>> = a
            .files
            .iter()
            .map(|f| {
                vec![
                    if !f.live {
                        "stranded".into()
                    } else if f.exists {
                        "ok".into()
                    } else {
                        "missing".into()
                    },
                    f.location.clone(),
                    f.role.clone(),
                    f.note.clone().unwrap_or_default(),
                ]
            })
            .collect();
        o.push_str(&table(&rows, "    "));
        for s in &a.schemas {
            outln!(
                o,
                "    schema: {} user_version {}{}",
                s.path.display(),
                s.user_version,
                if s.known { "" } else { " (UNKNOWN)" }
            );
        }
        if !a.restore_sources.is_empty() {
            // one short line per credential: `restore-token --list ID` ranks them for one profile
            outln!(
                o,
                "  restore sources ({}, newest first; `clawauth restore-token --list ID` ranks them):",
                a.restore_sources.len()
            );
            let mut rows =
                vec![vec!["KIND".to_string(), "FILE".into(), "ACCOUNT".into(), "REFRESH".into(), "EXPIRES".into()]];
            for r in &a.restore_sources {
                let file = r.path.rsplit('/').next().unwrap_or(&r.path);
                rows.push(vec![
                    r.kind.to_string(),
                    shorten_middle(file, 34),
                    shorten_middle(r.account_id.as_deref().or(r.email.as_deref()).unwrap_or("?"), 20),
                    r.refresh_fp.clone().unwrap_or_else(|| "none".into()),
                    r.expires.map(|e| relative(e, now)).unwrap_or_else(|| "?".into()),
                ]);
            }
            o.push_str(&table(&rows, "    "));
        } else if !a.archives.is_empty() {
            outln!(o, "  archives (restore sources):");
            for p in &a.archives {
                outln!(o, "    {p}");
            }
        }
        let ord = &a.order;
        outln!(o, "  order ({}):", ord.provider);
        outln!(
            o,
            "    stored     {}{}",
            list(&ord.stored),
            ord.stored_from.as_ref().map(|f| format!("   [{f}]")).unwrap_or_default()
        );
        outln!(o, "    config     {}", list(&ord.configured));
        let eff: Vec<String> = ord
            .effective
            .iter()
            .map(|id| {
                match ord
                    .candidates
                    .iter()
                    .find(|c| &c.id == id)
                    .and_then(|c| c.unusable_until.filter(|_| c.in_cooldown))
                {
                    Some(u) => format!("{id} (unusable until {}, {})", rfc3339_ms(u), relative(u, now)),
                    None => id.clone(),
                }
            })
            .collect();
        outln!(
            o,
            "    effective  {}   [{}]",
            if eff.is_empty() { "— (no eligible profile)".into() } else { eff.join(", ") },
            ord.explicit_source.clone().map(|s| format!("{s} order")).unwrap_or_else(|| ord.base_source.clone()),
        );
        for c in ord.candidates.iter().filter(|c| c.ineligible.is_some()) {
            outln!(o, "    skipped    {}: {}", c.id, c.ineligible.as_ref().unwrap().describe());
        }
        let lg: Vec<String> = a.last_good.iter().map(|(k, v)| format!("{k} → {}", v.as_str().unwrap_or("?"))).collect();
        outln!(o, "  lastGood: {}", if lg.is_empty() { "—".into() } else { lg.join(", ") });
        outln!(o, "  profiles ({}):", a.profiles.len());
        let mut rows = vec![vec![
            "ID".to_string(),
            "TYPE".into(),
            "ACCOUNT".into(),
            "USER".into(),
            "EMAIL (stored / token)".into(),
            "PLAN".into(),
            "EXPIRES".into(),
            "WINDOW".into(),
            "TOKEN".into(),
        ]];
        for p in &a.profiles {
            let v = &p.view;
            let acct = match (&v.account_id, &p.claim_account_id) {
                (Some(s), Some(c)) if s != c => format!("{s} (token: {c}!)"),
                (Some(s), _) => s.clone(),
                (None, Some(c)) => format!("{c} (token)"),
                (None, None) => "—".into(),
            };
            let email = match (&v.email, &p.claim_email) {
                (Some(s), Some(c)) if s != c => format!("{s} / {c}!"),
                (Some(s), _) => s.clone(),
                (None, Some(c)) => format!("— / {c}"),
                (None, None) => "—".into(),
            };
            let window = p
                .window
                .as_ref()
                .map(|w| {
                    format!(
                        "{} {}{}",
                        w.kind,
                        relative(w.until, now),
                        w.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "—".into());
            let mut token_s = v.token_state.as_str().to_string();
            if !v.problems.is_empty() {
                token_s.push_str(&format!(" [{}]", v.problems.join("; ")));
            }
            rows.push(vec![
                format!("{}{}", v.id, if v.inherited { " (from main)" } else { "" }),
                v.kind.clone().unwrap_or_else(|| "?".into()),
                acct,
                p.user_id.clone().unwrap_or_else(|| "—".into()),
                email,
                v.plan.clone().or_else(|| v.claims.as_ref().and_then(|c| c.plan.clone())).unwrap_or_else(|| "—".into()),
                v.expires.map(|e| relative(e, now)).unwrap_or_else(|| "—".into()),
                window,
                token_s,
            ]);
        }
        o.push_str(&table(&rows, "    "));
        outln!(
            o,
            "  sessions: {} total, {} user-facing, {} pinned; showing {}",
            a.sessions_total,
            a.sessions_user_facing,
            a.sessions_pinned,
            a.sessions.len()
        );
        if !a.sessions.is_empty() {
            let mut rows = vec![vec![
                "SESSION".to_string(),
                "PIN".into(),
                "SOURCE".into(),
                "EFFECTIVE".into(),
                "USAGE SHOWN FOR".into(),
                "LABEL".into(),
            ]];
            // reports are made as they are reached (`SessionList`): one pass, the notes' flags
            // gathered on the way
            let (mut dangling, mut inferred) = (false, false);
            for s in a.sessions.iter() {
                dangling |= s.pin_dangling.is_some();
                inferred |= s.pin_source_inferred;
                rows.push(vec![
                    s.key.clone(),
                    match (&s.pin, s.pin_dangling) {
                        (Some(p), Some("retired")) => format!("{p} (MISSING: retired id)"),
                        (Some(p), Some(_)) => format!("{p} (MISSING)"),
                        (Some(p), None) => p.clone(),
                        (None, _) => "—".into(),
                    },
                    s.pin_source
                        .clone()
                        .map(|x| if s.pin_source_inferred { format!("{x}*") } else { x })
                        .unwrap_or_else(|| "—".into()),
                    s.effective
                        .clone()
                        .map(|e| format!("{e} ({})", s.effective_source.clone().unwrap_or_default()))
                        .unwrap_or_else(|| "none".into()),
                    match (&s.usage_source, s.usage_differs) {
                        (Some(u), true) => format!("{u} (differs!)"),
                        (Some(u), false) if s.usage_same_login => format!("{u} (same login)"),
                        (Some(u), false) => u.clone(),
                        (None, _) => "—".into(),
                    },
                    s.label
                        .clone()
                        .map(|l| format!("{l} [{}]", s.label_source.clone().unwrap_or_default()))
                        .unwrap_or_else(|| "—".into()),
                ]);
            }
            o.push_str(&table(&rows, "    "));
            if dangling {
                outln!(
                    o,
                    "    MISSING: the pin names a profile that does not exist; see EFFECTIVE for what OpenClaw does with it (`clawauth resync` moves a retired id to the same identity's live id)"
                );
            }
            if inferred {
                outln!(o, "    * source not stored; inferred the way OpenClaw infers it");
            }
        }
        for w in &a.warnings {
            outln!(o, "  warning: {w}");
        }
    }
    o
}
