//! `clawauth explain` as text: the numbered steps from the stored pin to the reply's profile.

use clawauth_core::model::resolve::PinWrite;
use clawauth_core::report::explain::*;
use clawauth_core::report::status::Window;
use clawauth_core::text::relative;

const INDENT: &str = "                       ";

fn head(o: &mut String, n: usize, name: &str, text: &str) {
    outln!(o, "{n} {name:<20} {text}");
}

fn sub(o: &mut String, text: &str) {
    outln!(o, "{INDENT}{text}");
}

fn list(v: &Option<Vec<String>>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.is_empty() => "[] (empty)".into(),
        Some(v) => v.join(", "),
    }
}

fn window_text(w: &Window, now: i64) -> String {
    let mut s = format!("{} until {} ({}", w.kind, w.until_rfc3339, relative(w.until, now));
    if let Some(r) = &w.reason {
        s.push_str(&format!(", {r}"));
    }
    if let Some(m) = &w.model {
        s.push_str(&format!(", model {m}"));
    }
    s.push(')');
    s
}

fn reply_line(r: &ReplyStep, had_pin: bool) -> String {
    let who = match &r.profile {
        Some(p) => format!("{p} ({})", r.source.clone().unwrap_or_default()),
        None => "no auth profile".into(),
    };
    let write = match &r.write {
        PinWrite::None => "writes nothing back".to_string(),
        PinWrite::Clear => "clears the stored pin".to_string(),
        PinWrite::SetAuto { profile, compaction_count } if had_pin => {
            format!("rewrites the pin: auto -> {profile} (compaction count {compaction_count})")
        }
        PinWrite::SetAuto { profile, compaction_count } => {
            format!("stores a new auto pin: {profile} (compaction count {compaction_count})")
        }
    };
    format!("{who} — {write}")
}

pub fn render(r: &ExplainReport, now: i64) -> String {
    let mut o = String::new();
    outln!(o, "explain {}", r.session.key);
    let mut facts = vec![format!("agent {}", r.agent), format!("layout {}", r.layout.name())];
    facts.push(format!("OpenClaw {} rules (from {})", r.rules.name(), r.rules_source));
    if r.rules_source == "--rules" {
        // the behaviours the chosen release implies (issue 19)
        let rel = r.rules.release;
        let on: Vec<&str> =
            clawauth_core::model::release::SWITCHES.iter().filter(|s| s.on(rel)).map(|s| s.key).collect();
        facts.push(format!(
            "rule set {} (layout {}): {}",
            clawauth_core::model::release::rule_set(rel),
            rel.layout(),
            if on.is_empty() { "no behaviour switch on".to_string() } else { on.join(", ") }
        ));
    }
    facts.push(format!("provider {}", r.provider));
    if let Some(m) = &r.session.model {
        facts.push(format!("model {m}"));
    }
    outln!(o, "  {}", facts.join(" · "));
    for w in &r.warnings {
        outln!(o, "  warning: {w}");
    }
    for u in &r.unreadable {
        outln!(o, "  CANNOT READ {u}: every step below is traced without it");
    }
    for a in &r.session.aliases {
        outln!(
            o,
            "  alias key {} (same chat, differs by case): pin {}",
            a.key,
            a.pin
                .clone()
                .map(|p| format!("{p} ({})", a.pin_source.clone().unwrap_or("no source".into())))
                .unwrap_or("—".into())
        );
    }
    outln!(o);

    // 1 preference
    let p = &r.preference;
    let pref = match (&p.profile, &p.found_in) {
        (None, _) => format!("none ({} absent)", p.path),
        (Some(id), Some(w)) => format!(
            "{id} (in the {w}{}) — {}",
            p.identity.as_ref().map(|i| format!(": {}", i.short())).unwrap_or_default(),
            match p.matches_next_reply {
                Some(true) => "same identity as the next reply",
                Some(false) => "NOT the identity the next reply uses",
                None => "nothing to compare",
            }
        ),
        (Some(id), None) => format!("{id} — no such profile in the store or the repo"),
    };
    head(&mut o, 1, "stored preference", &pref);
    sub(&mut o, "(the external helper's choice; OpenClaw itself never reads it)");

    // 2 order
    let ord = &r.order;
    let used = match &ord.explicit_source {
        Some(s) => format!("{s} order is used"),
        None => format!("no explicit order: candidates are the {}", ord.base_source),
    };
    head(&mut o, 2, "auth order", &format!("{} ({used})", ord.provider));
    sub(
        &mut o,
        &format!(
            "stored  {}{}",
            list(&ord.stored),
            ord.stored_from.as_ref().map(|f| format!("   [{f}]")).unwrap_or_default()
        ),
    );
    sub(&mut o, &format!("config  {}", list(&ord.configured)));
    if ord.stored_and_config_differ {
        sub(&mut o, "the stored order wins over config auth.order: editing openclaw.json changes nothing");
    }

    // 3 eligibility
    head(&mut o, 3, "eligibility", "(the try order for this session; unusable profiles go last)");
    let width = r.eligibility.iter().map(|e| e.id.chars().count()).max().unwrap_or(0);
    for e in &r.eligibility {
        let pos = e.position.map(|p| format!("{p}.")).unwrap_or_else(|| "-".into());
        let state = if let Some(why) = &e.skipped_because {
            format!("skipped: {why}")
        } else if e.unusable {
            match &e.window {
                Some(w) => format!("unusable: {} — tried last", window_text(w, now)),
                None => "unusable — tried last".into(),
            }
        } else {
            match &e.window {
                Some(w) => format!("usable (the {} does not apply to this session's model)", window_text(w, now)),
                None => "usable".into(),
            }
        };
        sub(&mut o, &format!("{pos:<3} {:<width$}  {state}", e.id));
    }
    if r.order.effective.is_empty() {
        sub(&mut o, "no eligible profile: OpenClaw uses no auth profile");
    }

    // 4 pin
    let pin = match &r.pin.profile {
        None => "none".to_string(),
        Some(id) => {
            let mut s = format!(
                "{id}, source {} ({})",
                r.pin.source.clone().unwrap_or_default(),
                if r.pin.source_inferred { "inferred the way OpenClaw infers it: not stored" } else { "stored" }
            );
            if r.pin.exists == Some(false) {
                s.push_str(" — NO SUCH PROFILE");
            } else if r.pin.unusable == Some(true) {
                s.push_str(" — unusable right now");
            } else if r.pin.in_order == Some(false) {
                s.push_str(" — not in the effective order");
            }
            s
        }
    };
    head(&mut o, 4, "session pin", &pin);
    if let Some(c) = &r.pin.compaction_count {
        sub(
            &mut o,
            &format!("pinned at compaction count {c}; the session is at {}", r.session.compaction_count.unwrap_or(0)),
        );
    }

    // 5 next reply
    let had_pin = r.pin.profile.is_some();
    head(&mut o, 5, "next reply", &reply_line(&r.next_reply, had_pin));
    for s in &r.next_reply.steps {
        sub(&mut o, &format!("· {s}"));
    }
    if let Some(n) = &r.after_new_session {
        head(&mut o, 5, "after /new", &reply_line(n, had_pin));
        for s in &n.steps {
            sub(&mut o, &format!("· {s}"));
        }
    }

    // 6 usage
    let usage = match &r.usage.profile {
        None => "none (no oauth/token profile in the order)".into(),
        Some(u) if r.usage.differs => format!(
            "{u} — DIFFERS from the reply profile: /status shows the quota of {}",
            r.usage.identity.as_ref().map(|i| i.short()).unwrap_or_else(|| u.clone())
        ),
        Some(u) if r.usage.same_login => format!(
            "{u} — another profile id, the same login as the reply profile ({}): the quota shown is the one being spent",
            r.usage.identity.as_ref().map(|i| i.short()).unwrap_or_else(|| u.clone())
        ),
        Some(u) => format!("{u} — same as the reply profile"),
    };
    head(&mut o, 6, "usage source", &usage);

    // 7 label
    let l = &r.label;
    let label = match &l.label {
        None => "none".into(),
        Some(t) => {
            let mut s = format!("{t} — from the {}", l.source.clone().unwrap_or_default());
            match (&l.token_email, l.lies) {
                (Some(e), true) => s.push_str(&format!("; the token says {e}: the label LIES")),
                (Some(e), false) => s.push_str(&format!("; token email {e}")),
                _ => {}
            }
            if !l.follows_next_reply {
                s.push_str("; NOT the profile the next reply uses");
            }
            s
        }
    };
    head(&mut o, 7, "display label", &label);

    // 8 external
    let ext = match &r.external {
        None => "none (no external repo, no active slot)".to_string(),
        Some(x) => {
            let mut s = if !x.slot_exists {
                format!("active slot {} is not in the store", x.slot)
            } else if x.repo_path.is_none() {
                format!("active slot {} (no external repo to compare)", x.slot)
            } else {
                match &x.slot_holds {
                    Some(h) => format!("active slot {} holds repo identity {h}", x.slot),
                    None => format!("active slot {} matches NO repo identity", x.slot),
                }
            };
            if let Some(i) = &x.slot_identity {
                s.push_str(&format!(" ({})", i.short()));
            }
            s
        }
    };
    head(&mut o, 8, "external repo", &ext);
    if let Some(x) = &r.external {
        if let Some(rp) = &x.repo_path {
            sub(&mut o, &format!("repo {rp}"));
        }
        if x.slot_exists {
            sub(
                &mut o,
                if x.next_reply_uses_slot {
                    "the next reply uses the active slot"
                } else {
                    "the next reply does not use the active slot"
                },
            );
        }
        match x.preference_matches_slot {
            Some(true) => sub(&mut o, "the stored preference is the identity in the slot"),
            Some(false) => sub(&mut o, "the stored preference is NOT the identity in the slot"),
            None => {}
        }
    }

    outln!(o);
    let v = &r.verdict;
    match &v.layer {
        None => {
            outln!(o, "verdict: {}", v.text);
        }
        Some(l) => {
            let also = if v.also.is_empty() { String::new() } else { format!(" (also: {})", v.also.join(", ")) };
            outln!(o, "verdict: {l} disagrees — {}{also}", v.text);
        }
    }
    o
}
