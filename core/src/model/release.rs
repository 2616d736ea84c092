//! OpenClaw releases and the selection behaviours each one implies (issue 19). The rule model in
//! `resolve` is one implementation whose behaviours are switched by release ranges; this module
//! holds the ranges, so the matrix (`docs/releases.md`) and the code cannot disagree.

use serde::{Serialize, Serializer};
use std::fmt;

/// A stable OpenClaw release, `2026.M.D`. Ordered by (year, month, day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Release {
    pub const fn new(month: u8, day: u8) -> Release {
        Release { year: 2026, month, day }
    }

    /// `2026.5.2`, `5.2`, `4.5`, `v2026.9.6`, `2026.5.3-1` (the npm build suffix is dropped).
    pub fn parse(s: &str) -> Option<Release> {
        let s = s.trim().trim_start_matches('v');
        let s = s.split(['-', '+', ' ']).next().unwrap_or(s);
        let parts: Vec<&str> = s.split('.').collect();
        let num = |x: &str| x.parse::<u16>().ok();
        let (year, month, day) = match parts.as_slice() {
            [y, m, d] => (num(y)?, num(m)?, num(d)?),
            [m, d] => (2026, num(m)?, num(d)?),
            _ => return None,
        };
        if !(1..=12).contains(&month) || !(1..=99).contains(&day) || year < 2026 {
            return None;
        }
        Some(Release { year, month: month as u8, day: day as u8 })
    }

    /// `4.5`-style short form (year 2026).
    pub fn short(self) -> String {
        if self.year == 2026 {
            format!("{}.{}", self.month, self.day)
        } else {
            self.to_string()
        }
    }

    /// The storage layout this release writes.
    pub fn layout(self) -> char {
        if self < Release::new(4, 7) {
            'A'
        } else if self < Release::new(6, 5) {
            'B'
        } else if self < Release::new(8, 1) {
            'C'
        } else {
            'D'
        }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.year, self.month, self.day)
    }
}

impl Serialize for Release {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.short())
    }
}

/// The newest release that writes each layout (the guess when a state dir has no evidence).
pub const NEWEST_OF_LAYOUT: &[(char, Release)] =
    &[('A', Release::new(4, 5)), ('B', Release::new(6, 1)), ('C', Release::new(7, 35)), ('D', Release::new(9, 6))];

pub fn newest_of_layout(layout: char) -> Release {
    NEWEST_OF_LAYOUT.iter().find(|(l, _)| *l == layout).map(|(_, r)| *r).unwrap_or(Release::new(9, 6))
}

/// One named behaviour switch: on for releases in `[from, until)`.
pub struct Switch {
    pub key: &'static str,
    pub from: Release,
    /// first release without it (`None`: still on in the newest release)
    pub until: Option<Release>,
    pub describe: &'static str,
}

impl Switch {
    pub fn on(&self, r: Release) -> bool {
        r >= self.from && self.until.map_or(true, |u| r < u)
    }
    /// `2026.4.7+`, `2026.5.4 – 2026.7.35`, `<= 2026.9.5`.
    pub fn range(&self) -> String {
        match (self.from == RELEASES[0], self.until) {
            (true, Some(u)) => format!("<= {}", last_before(u)),
            (false, Some(u)) => format!("{} – {}", self.from, last_before(u)),
            (_, None) => format!("{}+", self.from),
        }
    }
}

/// The last stable release before `u` (`2026.7.35` before 8.1).
fn last_before(u: Release) -> String {
    RELEASES.iter().rev().find(|r| **r < u).map(|r| r.to_string()).unwrap_or_else(|| format!("< {u}"))
}

const fn r(m: u8, d: u8) -> Release {
    Release::new(m, d)
}

pub const CONFIG_PROFILES_FALLBACK: &str = "config-profiles-fallback";
pub const USER_PIN_OUTSIDE_ORDER_KEPT: &str = "user-pin-outside-order-kept";
pub const UNUSABLE_PIN_REPLACED: &str = "unusable-pin-replaced";
pub const BLOCKED_UNTIL_COUNTS: &str = "blocked-until-counts";
pub const MULTI_PROVIDER_ORDER: &str = "multi-provider-order";
pub const STORED_ORDER_FALLBACK: &str = "stored-order-fallback";
pub const USER_PINS_HARD: &str = "user-pins-hard";
pub const MODEL_SCOPED_ORDER: &str = "model-scoped-order";
pub const RATE_LIMIT_RETRY_BACK: &str = "rate-limit-retry-back";
pub const MISSING_USER_PIN_KEPT: &str = "missing-user-pin-kept";
pub const COMPACTION_ROTATES: &str = "compaction-rotates";

/// The behaviour switches, in the order they appeared.
pub const SWITCHES: &[Switch] = &[
    Switch {
        key: CONFIG_PROFILES_FALLBACK,
        from: r(2, 21),
        until: None,
        describe: "an order naming only missing profiles falls back to the provider's stored profiles when config `auth.profiles` lists some for it (before: no profile)",
    },
    Switch {
        key: USER_PIN_OUTSIDE_ORDER_KEPT,
        from: r(4, 7),
        until: None,
        describe: "a user pin on a profile outside the effective order is kept (before: cleared, first usable picked as auto)",
    },
    Switch {
        key: UNUSABLE_PIN_REPLACED,
        from: r(5, 4),
        until: Some(r(8, 1)),
        describe: "a pin (user or auto) on an unusable profile switches to the first usable one, tagged auto",
    },
    Switch {
        key: BLOCKED_UNTIL_COUNTS,
        from: r(5, 12),
        until: None,
        describe: "`blockedUntil` makes a profile unusable (before: ignored)",
    },
    Switch {
        key: MULTI_PROVIDER_ORDER,
        from: r(5, 12),
        until: Some(r(6, 1)),
        describe: "the openai-codex order also takes `openai` API keys and an `openai` order (accepted provider ids; 6.1 dropped it again, recorded)",
    },
    Switch {
        key: STORED_ORDER_FALLBACK,
        from: r(6, 1),
        until: None,
        describe: "a stored order naming only missing profiles falls back to the stored profiles",
    },
    Switch {
        key: USER_PINS_HARD,
        from: r(8, 1),
        until: None,
        describe: "user pins are never rotated while the profile exists and fits; all unusable -> no profile, auto pin cleared; cooldowns judged per model",
    },
    Switch {
        key: MODEL_SCOPED_ORDER,
        from: r(9, 2),
        until: None,
        describe: "the session resolver orders profiles for the session's model (before: the plain order, cooldowns of any model counted)",
    },
    Switch {
        key: RATE_LIMIT_RETRY_BACK,
        from: r(9, 2),
        until: None,
        describe: "an auto pin under an explicit order moves back to an earlier profile whose rate limit cleared; `user-link` pins act as user",
    },
    Switch {
        key: MISSING_USER_PIN_KEPT,
        from: r(9, 3),
        until: None,
        describe: "a user pin to a profile missing from the store is kept when its id prefix or provider matches",
    },
    Switch {
        key: COMPACTION_ROTATES,
        from: r(1, 29),
        until: Some(r(9, 6)),
        describe: "an auto pin moves to the next usable profile when the session compacted since it was pinned",
    },
];

pub fn switch(key: &str) -> &'static Switch {
    SWITCHES.iter().find(|s| s.key == key).expect("known switch")
}

/// Whether a behaviour is on in a release.
pub fn on(r: Release, key: &str) -> bool {
    switch(key).on(r)
}

/// The rule sets of issue 19 (R1 … R8): name, first release, releases, layouts.
pub const RULE_SETS: &[(&str, Release, &str, &str)] = &[
    ("R1", r(1, 29), "2026.1.29 – 2026.4.5", "A"),
    ("R2", r(4, 7), "2026.4.7 – 2026.5.3", "B"),
    ("R3", r(5, 4), "2026.5.4 – 2026.5.7", "B"),
    ("R4", r(5, 12), "2026.5.12 – 2026.7.35", "B, C"),
    ("R5", r(8, 1), "2026.8.1 – 2026.9.1", "D"),
    ("R6", r(9, 2), "2026.9.2", "D"),
    ("R7", r(9, 3), "2026.9.3 – 2026.9.5", "D"),
    ("R8", r(9, 6), "2026.9.6", "D"),
];

pub fn rule_set(rel: Release) -> &'static str {
    RULE_SETS.iter().rev().find(|(_, from, _, _)| rel >= *from).map(|(n, ..)| *n).unwrap_or("R1")
}

/// Every stable release (1.30 shipped without `dist/`). Used to print ranges and to tell a
/// known release from an unknown one.
pub const RELEASES: &[Release] = &[
    r(1, 29),
    r(1, 30),
    r(2, 1),
    r(2, 2),
    r(2, 3),
    r(2, 9),
    r(2, 12),
    r(2, 17),
    r(2, 19),
    r(2, 21),
    r(2, 22),
    r(2, 23),
    r(2, 24),
    r(2, 25),
    r(2, 26),
    r(3, 1),
    r(3, 2),
    r(3, 7),
    r(3, 8),
    r(3, 11),
    r(3, 13),
    r(3, 22),
    r(3, 23),
    r(3, 24),
    r(3, 28),
    r(3, 31),
    r(4, 1),
    r(4, 2),
    r(4, 5),
    r(4, 7),
    r(4, 8),
    r(4, 9),
    r(4, 10),
    r(4, 11),
    r(4, 12),
    r(4, 14),
    r(4, 15),
    r(4, 20),
    r(4, 21),
    r(4, 22),
    r(4, 23),
    r(4, 24),
    r(4, 25),
    r(4, 26),
    r(4, 27),
    r(4, 29),
    r(5, 2),
    r(5, 3),
    r(5, 4),
    r(5, 5),
    r(5, 6),
    r(5, 7),
    r(5, 12),
    r(5, 18),
    r(5, 19),
    r(5, 20),
    r(5, 22),
    r(5, 26),
    r(5, 27),
    r(5, 28),
    r(6, 1),
    r(6, 5),
    r(6, 6),
    r(6, 8),
    r(6, 9),
    r(6, 10),
    r(6, 11),
    r(6, 33),
    r(6, 34),
    r(6, 35),
    r(7, 1),
    r(7, 33),
    r(7, 34),
    r(7, 35),
    r(8, 1),
    r(8, 2),
    r(9, 1),
    r(9, 2),
    r(9, 3),
    r(9, 4),
    r(9, 5),
    r(9, 6),
];

/// The behaviour lines `explain --rules X` prints for a release.
pub fn describe(rel: Release) -> Vec<String> {
    let mut out = vec![format!(
        "OpenClaw {rel}: rule set {}, layout {}{}",
        rule_set(rel),
        rel.layout(),
        if RELEASES.contains(&rel) { "" } else { " (not a known stable release; nearest rules used)" }
    )];
    for s in SWITCHES {
        out.push(format!("  [{}] {} ({}): {}", if s.on(rel) { "x" } else { " " }, s.key, s.range(), s.describe));
    }
    out
}

/// The release matrix as markdown (`docs/releases.md` holds it; a test keeps them equal).
pub fn matrix_markdown() -> String {
    let mut o = String::new();
    o.push_str("| rules | releases | layout | behaviours on |\n| --- | --- | --- | --- |\n");
    for (i, (name, from, range, layout)) in RULE_SETS.iter().enumerate() {
        // a switch flipping inside the rule set's range (the edge changes) is named with where
        let next = RULE_SETS.get(i + 1).map(|n| n.1);
        let inside = |x: Release| x > *from && next.map_or(true, |n| x < n);
        let on: Vec<String> = SWITCHES
            .iter()
            .filter_map(|s| match (s.on(*from), s.until.filter(|u| inside(*u)), inside(s.from)) {
                (true, Some(u), _) => Some(format!("{} (until {})", s.key, last_before(u))),
                (true, None, _) => Some(s.key.to_string()),
                (false, _, true) => Some(format!("{} (from {})", s.key, s.from)),
                _ => None,
            })
            .collect();
        o.push_str(&format!("| {name} | {range} | {layout} | {} |\n", on.join(", ")));
    }
    o.push_str("\n| behaviour | releases | what it does |\n| --- | --- | --- |\n");
    for s in SWITCHES {
        o.push_str(&format!("| `{}` | {} | {} |\n", s.key, s.range(), s.describe));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/releases.md` holds `matrix_markdown()` between the markers; regenerate with
    /// `CLAWAUTH_UPDATE_DOCS=1 cargo test --lib release`.
    #[test]
    fn docs_matrix_matches_the_rule_table() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/releases.md");
        let text = std::fs::read_to_string(&p).expect("docs/releases.md");
        let (begin, end) =
            ("<!-- matrix:begin (generated from core/src/model/release.rs) -->\n", "<!-- matrix:end -->");
        let i = text.find(begin).expect("begin marker") + begin.len();
        let j = text.find(end).expect("end marker");
        let want = matrix_markdown();
        if std::env::var_os("CLAWAUTH_UPDATE_DOCS").is_some() {
            std::fs::write(&p, format!("{}{want}{}", &text[..i], &text[j..])).unwrap();
            return;
        }
        assert_eq!(&text[i..j], want, "docs/releases.md is stale: CLAWAUTH_UPDATE_DOCS=1 cargo test --lib release");
    }
    #[test]
    fn detection_prefers_the_installed_release_and_bounds_it_by_the_state() {
        let e = |layout, installed, state_db, agent_db| Evidence {
            installed,
            layout,
            state_db,
            agent_db,
            ..Evidence::default()
        };
        let d = detect(&e('A', None, None, None));
        assert_eq!(d.release, Release::new(4, 5));
        assert!(d.evidence.starts_with("guess"), "{}", d.evidence);
        let d = detect(&e('D', None, Some(16), Some(19)));
        assert_eq!(d.release, Release::new(9, 3));
        let d = detect(&e('D', None, Some(17), Some(21)));
        assert_eq!(d.release, Release::new(9, 5));
        let d = detect(&e('A', Some(Release::new(5, 2)), None, None));
        assert_eq!(d.release, Release::new(5, 2));
        assert!(d.evidence.contains("upgrade pending"), "{}", d.evidence);
        let d = detect(&e('D', Some(Release::new(9, 1)), Some(18), Some(23)));
        assert_eq!(d.release, Release::new(9, 1));
        assert!(d.evidence.contains("downgrade"), "{}", d.evidence);
        let mut b = e('B', None, None, None);
        b.blocked_until = true;
        assert_eq!(detect(&b).release, Release::new(6, 1));
        b.user_link = true;
        assert_eq!(detect(&b).release, Release::new(9, 2));
        // 8.1 – 9.2 share user_versions 15/19; app_version tells them apart
        let mut d = e('D', None, Some(15), Some(19));
        assert_eq!(detect(&d).release, Release::new(9, 2), "{}", detect(&d).evidence);
        assert!(detect(&d).evidence.starts_with("guess"), "{}", detect(&d).evidence);
        d.app_version = Some(Release::new(8, 4));
        let got = detect(&d);
        assert_eq!(got.release, Release::new(8, 4));
        assert!(got.evidence.contains("schema_meta app_version 2026.8.4"), "{}", got.evidence);
    }

    #[test]
    fn layout_b_hints_are_lower_bounds() {
        let b = |f: &dyn Fn(&mut Evidence)| {
            let mut e = Evidence { layout: 'B', ..Evidence::default() };
            f(&mut e);
            detect(&e)
        };
        // a state DB beside the JSON store: 6.1 ran, and 6.1 is also the newest layout-B release
        let d = b(&|e| e.state_db_beside = Some(1));
        assert_eq!(d.release, Release::new(6, 1));
        assert!(d.evidence.starts_with("state dir: state/openclaw.sqlite user_version 1"), "{}", d.evidence);
        // an empty (user_version 0) database proves nothing
        assert!(b(&|e| e.state_db_beside = Some(0)).evidence.starts_with("guess"));
        // a 2026.8+ database beside a JSON store: an upgrade not migrated yet
        assert_eq!(b(&|e| e.state_db_beside = Some(18)).release, Release::new(9, 6));
        let d = b(&|e| e.unification_backup = true);
        assert_eq!(d.release, Release::new(6, 1));
        assert!(d.evidence.contains("openai-provider-unification backup"), "{}", d.evidence);
        // lastTouchedVersion below the layout's newest: still a guess, saying what it proves
        let d = b(&|e| e.config_touched = Some(Release::new(5, 20)));
        assert_eq!(d.release, Release::new(6, 1));
        assert!(d.evidence.starts_with("guess") && d.evidence.contains("proves 2026.5.20 or newer"), "{}", d.evidence);
        // above it: the release
        let d = b(&|e| e.config_touched = Some(Release::new(7, 35)));
        assert_eq!(d.release, Release::new(7, 35));
        assert!(d.evidence.contains("meta.lastTouchedVersion 2026.7.35"), "{}", d.evidence);
        // the installed CLI still decides; the hints only bound it
        let d = b(&|e| {
            e.state_db_beside = Some(1);
            e.installed = Some(Release::new(5, 28));
        });
        assert_eq!(d.release, Release::new(5, 28));
        assert!(d.evidence.contains("downgrade") && d.evidence.contains("user_version 1"), "{}", d.evidence);
        // layout A: a config written by 5.3 means 5.3 ran on this state (R2, not R1)
        let mut a = Evidence { layout: 'A', config_touched: Some(Release::new(5, 3)), ..Evidence::default() };
        assert_eq!(detect(&a).release, Release::new(5, 3));
        // in layout D the database stamps come first; an older config changes nothing
        a = Evidence { layout: 'D', state_db: Some(18), agent_db: Some(23), ..Evidence::default() };
        a.config_touched = Some(Release::new(8, 1));
        a.state_db_beside = Some(1);
        assert!(detect(&a).evidence.contains("database user_version state 18"), "{}", detect(&a).evidence);
    }

    #[test]
    fn parses_and_orders() {
        assert_eq!(Release::parse("2026.5.2"), Some(Release::new(5, 2)));
        assert_eq!(Release::parse("4.5"), Some(Release::new(4, 5)));
        assert_eq!(Release::parse("2026.5.3-1"), Some(Release::new(5, 3)));
        assert_eq!(Release::parse("x"), None);
        assert!(Release::new(5, 12) > Release::new(5, 7));
        assert_eq!(Release::new(9, 6).short(), "9.6");
        assert_eq!(Release::new(4, 5).layout(), 'A');
        assert_eq!(rule_set(Release::new(5, 2)), "R2");
        assert_eq!(rule_set(Release::new(9, 4)), "R7");
    }
}

/// What a state dir (and the machine) says about the release that resolves the next turn.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// the installed `openclaw` (`OPENCLAW_BIN --version`, else `openclaw --version`)
    pub installed: Option<Release>,
    /// layout letter of the state dir
    pub layout: char,
    /// `PRAGMA user_version` of `state/openclaw.sqlite` and of the agent's `openclaw-agent.sqlite`
    pub state_db: Option<i64>,
    pub agent_db: Option<i64>,
    /// `schema_meta('primary').app_version`, the newest of the databases: the exact release
    /// that last opened them (restamped even by read-only OpenClaw commands); the only way to
    /// tell 9.2 from 8.1–9.1
    pub app_version: Option<Release>,
    pub blocked_until: bool,
    pub blocked_scope: bool,
    pub user_link: bool,
    /// `PRAGMA user_version` of a `state/openclaw.sqlite` beside a JSON-era agent (layout A or
    /// B): 2026.6.1+ creates it on any command, even a read-only one (1 through 7.x)
    pub state_db_beside: Option<i64>,
    /// an `*.openai-provider-unification.*.bak` beside the agent's store: a 2026.6.1 – 7.x
    /// `doctor --fix` renamed the Codex profiles
    pub unification_backup: bool,
    /// `openclaw.json` `meta.lastTouchedVersion`: the release that last wrote the config
    pub config_touched: Option<Release>,
}

/// What a release stamped outside the auth store, read when the agent is loaded: the inputs of
/// `Evidence` that `AgentState` does not otherwise hold.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// `PRAGMA user_version` of `state/openclaw.sqlite` when it exists
    pub state_db_version: Option<i64>,
    /// `openclaw.json` `meta.lastTouchedVersion`, parsed
    pub config_touched: Option<Release>,
}

/// The oldest release that writes a `state/openclaw.sqlite` with this `user_version`.
fn state_db_floor(v: i64) -> Option<Release> {
    match v {
        i64::MIN..=0 => None,
        15 => Some(r(8, 1)),
        16 => Some(r(9, 3)),
        17 => Some(r(9, 4)),
        18.. => Some(r(9, 6)),
        _ => Some(r(6, 1)),
    }
}

/// The release detected, and how it was decided.
#[derive(Debug, Clone)]
pub struct Detected {
    pub release: Release,
    pub evidence: String,
}

/// The lower bound a state dir proves, with the reason.
pub fn state_lower_bound(e: &Evidence) -> (Release, String) {
    let mut best = (
        match e.layout {
            'A' => r(1, 29),
            'B' => r(4, 7),
            'C' => r(6, 5),
            _ => r(8, 1),
        },
        format!("layout {}", e.layout),
    );
    let mut raise = |rel: Release, why: String| {
        if rel > best.0 {
            best = (rel, why);
        }
    };
    if e.layout == 'D' {
        let by_db = match (e.state_db, e.agent_db) {
            (Some(18), _) | (_, Some(23)) => Some(r(9, 6)),
            (Some(17), Some(21)) | (_, Some(21)) => Some(r(9, 5)),
            (Some(17), _) => Some(r(9, 4)),
            (Some(16), _) => Some(r(9, 3)),
            _ => None,
        };
        if let Some(rel) = by_db {
            raise(
                rel,
                format!(
                    "database user_version state {} / agent {}",
                    e.state_db.map_or("-".into(), |v| v.to_string()),
                    e.agent_db.map_or("-".into(), |v| v.to_string())
                ),
            );
        }
    }
    if let Some(rel) = e.app_version.filter(|_| e.layout == 'D') {
        raise(rel, format!("schema_meta app_version {rel} (the release that last opened the database)"));
    }
    if e.blocked_until && e.layout == 'B' {
        raise(r(5, 12), "blockedUntil in usageStats (written from 2026.5.12)".into());
    }
    if e.blocked_scope {
        raise(r(8, 1), "blockedScope in usageStats (written from 2026.8.1)".into());
    }
    if e.user_link {
        raise(r(9, 2), "a user-link pin (written from 2026.9.2)".into());
    }
    if let Some((v, rel)) = e.state_db_beside.filter(|_| e.layout != 'D').and_then(|v| Some((v, state_db_floor(v)?))) {
        raise(rel, format!("state/openclaw.sqlite user_version {v} beside the JSON store (created from {rel})"));
    }
    if e.unification_backup {
        raise(r(6, 1), "an openai-provider-unification backup (a 2026.6.1 – 7.x doctor ran)".into());
    }
    if let Some(rel) = e.config_touched {
        raise(rel, format!("openclaw.json meta.lastTouchedVersion {rel} (the release that last wrote the config)"));
    }
    best
}

/// The newest release whose databases carry these user_versions (layout D), if known.
fn db_upper_bound(e: &Evidence) -> Option<Release> {
    if e.layout != 'D' {
        return None;
    }
    match (e.state_db, e.agent_db) {
        (Some(15), Some(19)) => Some(r(9, 2)),
        (Some(16), _) => Some(r(9, 3)),
        (Some(17), Some(19)) => Some(r(9, 4)),
        (Some(17), Some(21)) => Some(r(9, 5)),
        _ => None,
    }
}

/// The release that will resolve the next turn: the installed one, checked against the state
/// dir's lower bound; without an installed CLI, the newest release of the layout (raised to the
/// lower bound) — a guess.
pub fn detect(e: &Evidence) -> Detected {
    let (lower, why) = state_lower_bound(e);
    let layout_newest = db_upper_bound(e).map_or(newest_of_layout(e.layout), |u| u.min(newest_of_layout(e.layout)));
    let newest = layout_newest.max(lower);
    match e.installed {
        Some(inst) if inst < lower => Detected {
            release: inst,
            evidence: format!("installed openclaw {inst}; the state dir was written by {lower} or newer ({why}): a downgrade, the installed release is used"),
        },
        Some(inst) if inst.layout() != e.layout && inst > newest => Detected {
            release: inst,
            evidence: format!("installed openclaw {inst}; the state dir shows {why} (written by {lower} – {newest}): upgrade pending, the installed release is used"),
        },
        Some(inst) => Detected { release: inst, evidence: format!("installed openclaw {inst}; state dir agrees ({why})") },
        // a lower bound at or past the newest release of the layout (or of its databases) is
        // the release: nothing older wrote the state, nothing newer writes it this way
        None if (lower >= layout_newest && !why.starts_with("layout "))
            || why.starts_with("database")
            || why.starts_with("schema_meta") =>
        {
            Detected { release: lower, evidence: format!("state dir: {why}; no openclaw installed") }
        }
        None if db_upper_bound(e).is_some() => Detected {
            release: newest,
            evidence: format!(
                "guess: no openclaw installed, no release stamp; newest release with database user_version state {} / agent {}",
                e.state_db.map_or("-".into(), |v| v.to_string()),
                e.agent_db.map_or("-".into(), |v| v.to_string())
            ),
        },
        None if why.starts_with("layout ") => Detected {
            release: newest,
            evidence: format!("guess: no openclaw installed, no release stamp; newest release writing {why}"),
        },
        None => Detected {
            release: newest,
            evidence: format!(
                "guess: no openclaw installed, no release stamp; newest release writing layout {}, the state dir proves {lower} or newer ({why})",
                e.layout
            ),
        },
    }
}

/// The installed OpenClaw release: `CLAWAUTH_OPENCLAW_VERSION` (tests, CI), else
/// `$OPENCLAW_BIN --version`, else `openclaw --version` on PATH. Asked once per process.
pub fn installed() -> Option<Release> {
    static CACHE: std::sync::OnceLock<Option<Release>> = std::sync::OnceLock::new();
    *CACHE.get_or_init(|| {
        if let Ok(v) = std::env::var("CLAWAUTH_OPENCLAW_VERSION") {
            return Release::parse(&v);
        }
        let bin = std::env::var("OPENCLAW_BIN").unwrap_or_else(|_| "openclaw".into());
        let out = std::process::Command::new(bin)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().find_map(Release::parse)
    })
}

/// The rules of one OpenClaw release: one implementation whose behaviours are switched by
/// release ranges (`crate::model::release::SWITCHES`, issue 19). Storage layout and behaviour differ
/// independently: 2026.4.5 and 2026.4.7 share the JSON files' contents but not the pin rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Rules {
    pub release: Release,
}

impl Rules {
    /// OpenClaw 2026.4.5 (layout A, rule set R1).
    pub const V4_5: Rules = Rules { release: Release::new(4, 5) };
    /// OpenClaw 2026.5.28 (layout B, rule set R4).
    pub const V5_28: Rules = Rules { release: Release::new(5, 28) };
    /// OpenClaw 2026.9.6 (layout D, rule set R8).
    pub const V9_6: Rules = Rules { release: Release::new(9, 6) };

    pub const fn of(release: Release) -> Rules {
        Rules { release }
    }
    /// Any release: `2026.5.2`, `5.2`, `4.5`; also the old era names `4`, `5`, `9`.
    pub fn parse(s: &str) -> Option<Rules> {
        match s.trim().trim_start_matches("2026.") {
            "4" => Some(Rules::V4_5),
            "5" => Some(Rules::V5_28),
            "9" => Some(Rules::V9_6),
            other => Release::parse(other).map(Rules::of),
        }
    }
    /// `2026.4.5`.
    pub fn name(self) -> String {
        self.release.to_string()
    }
    pub fn on(self, key: &str) -> bool {
        on(self.release, key)
    }
    /// The SQLite-era resolver (`resolveSessionAuthSelection`, 2026.8.1+).
    pub(crate) fn hard(self) -> bool {
        self.on(USER_PINS_HARD)
    }
    pub(crate) fn multi(self) -> bool {
        self.on(MULTI_PROVIDER_ORDER)
    }
}
