//! Fuzz properties shared by the `cargo fuzz` targets (fuzz/fuzz_targets) and the bounded,
//! seeded run in `tests/fuzz_like.rs`. Each check takes raw bytes and panics when an invariant
//! breaks: the JSON loaders never panic and agree with serde_json on valid input; the scanner's
//! edits produce exactly the value a parsed edit would, and their inverse restores every byte;
//! the JWT decoder never panics and never lets a token through its display forms; the
//! sanitizer lets no control character through and keeps lines; duplicate keys are found.
#![allow(dead_code)]

use base64::Engine as _;
use clawauth_core::json::{self, Edit, Style};
use serde_json::{json, Map, Value};

/// Deterministic choices drawn from the input bytes (zeros once exhausted).
pub struct Gen<'a> {
    data: &'a [u8],
    i: usize,
}

impl<'a> Gen<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Gen { data, i: 0 }
    }
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        b
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.byte() as usize * 256 + self.byte() as usize) % n
        }
    }
    pub fn i64(&mut self) -> i64 {
        let mut b = [0u8; 8];
        for x in b.iter_mut() {
            *x = self.byte();
        }
        i64::from_le_bytes(b)
    }
}

const KEYS: &[&str] =
    &["a", "b", "agent:main:main", "authProfileOverride", "x/y", "t~0", "q\"", "é", "\n", "", "updatedAt", "profiles"];

fn key(g: &mut Gen) -> String {
    KEYS[g.below(KEYS.len())].to_string()
}

/// A JSON value that survives JavaScript-style serialization unchanged (no integral floats).
pub fn value(g: &mut Gen, depth: usize) -> Value {
    match g.below(if depth >= 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(g.byte() & 1 == 1),
        2 => json!(g.i64() >> (g.byte() % 64)),
        3 => json!((g.i64() % 1_000_000) as f64 + 0.5),
        4 => json!(["", "x", "\"q\\", "line\nbreak", "ctl\u{1}", "é✓", "agent:main:main"][g.below(7)]),
        5 => json!(u64::MAX - g.byte() as u64),
        6 => Value::Array((0..g.below(4)).map(|_| value(g, depth + 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..g.below(5) {
                m.insert(key(g), value(g, depth + 1));
            }
            Value::Object(m)
        }
    }
}

fn style(g: &mut Gen) -> Style {
    [Style::AUTH_FILE, Style::SESSIONS_FILE, Style::COMPACT, Style { indent: 4, trailing_newline: true }][g.below(4)]
}

/// The JSON loaders: the sessions entry summarizer, the scanner, the whole-file checks. Never a
/// panic; on input serde_json accepts, the same answers.
pub fn check_loaders(data: &[u8]) {
    let _ = clawauth_core::layout::sessions::summarize("k", data);
    let _ = clawauth_core::layout::store::parse_json(std::path::Path::new("fuzz.json"), data);
    let _ = json::index(data);
    let _ = json::Style::detect(data);
    let parsed: Option<Value> = serde_json::from_slice(data).ok();
    let root = json::get_at(data, "");
    match &parsed {
        Some(v) => {
            assert_eq!(root.as_ref().ok().and_then(|x| x.as_ref()), Some(v), "get_at(\"\") disagrees with serde_json");
            if let Value::Object(m) = v {
                let idx = json::index(data).expect("valid JSON indexes");
                for (k, x) in m {
                    let p = format!("/{}", json::escape_token(k));
                    assert_eq!(json::get_at(data, &p).unwrap().as_ref(), Some(x), "get_at {p}");
                    assert_eq!(idx.get(data, &p).unwrap().as_ref(), Some(x), "index.get {p}");
                }
                let s = clawauth_core::layout::sessions::summarize("k", data).expect("a valid object summarizes");
                let num = |k: &str| m.get(k).and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)));
                assert_eq!(s.updated_at, num("updatedAt"));
                if let Some(Value::String(p)) = m.get("authProfileOverride") {
                    assert_eq!(s.pin.as_deref(), Some(p.as_str()));
                }
            }
        }
        None => assert!(root.is_err(), "get_at accepted what serde_json rejects"),
    }
}

/// `sessions.json` read through the streaming reader, from a file.
pub fn check_sessions_file(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sessions.json");
    std::fs::write(&p, data).unwrap();
    let r = clawauth_core::layout::sessions::read_sessions_file(&p);
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(data) {
        let (sessions, _) = r.expect("a valid object of sessions reads");
        let objects = m.values().filter(|v| v.is_object()).count();
        assert!(sessions.len() >= objects.min(1) || objects == 0, "read {} of {objects} entries", sessions.len());
    }
}

/// A generated document, edited by pointer: the bytes parse to exactly what editing the parsed
/// value gives, every edited pointer reads back, and the inverse edits (with the positions the
/// engine records) restore the original bytes.
pub fn check_plan_apply(data: &[u8]) {
    let mut g = Gen::new(data);
    let mut root = Map::new();
    for _ in 0..g.below(6) {
        root.insert(key(&mut g), value(&mut g, 1));
    }
    let root = Value::Object(root);
    let doc = json::to_bytes(&root, style(&mut g));
    let st = Style::detect(&doc);
    // distinct pointers, none a prefix of another
    let mut edits: Vec<Edit> = vec![];
    for _ in 0..1 + g.below(3) {
        let mut segs = vec![key(&mut g)];
        if g.byte() % 3 == 0 {
            segs.push(key(&mut g));
        }
        let p: String = segs.iter().map(|s| format!("/{}", json::escape_token(s))).collect();
        if edits.iter().any(|e| {
            e.pointer.starts_with(&format!("{p}/")) || p.starts_with(&format!("{}/", e.pointer)) || e.pointer == p
        }) {
            continue;
        }
        let v = if g.byte() % 4 == 0 { None } else { Some(value(&mut g, 2)) };
        edits.push(Edit::new(p, v));
    }
    let mut expect = root.clone();
    let model: Result<(), String> = edits
        .iter()
        .try_for_each(|e| json::apply_in_value(&mut expect, &json::split_pointer(&e.pointer), e.value.as_ref()));
    let out = json::apply_edits(&doc, st, &edits);
    let out = match (model, out) {
        (Ok(()), Ok(out)) => out,
        (Err(_), Err(_)) => return,
        (m, o) => panic!("model {m:?} vs edit {:?} on {}", o.map(String::from_utf8), String::from_utf8_lossy(&doc)),
    };
    let got: Value = serde_json::from_slice(&out).expect("edited document parses");
    assert_eq!(got, expect, "edited bytes:\n{}", String::from_utf8_lossy(&out));
    for e in &edits {
        if e.value.is_some() {
            assert_eq!(json::get_at(&out, &e.pointer).unwrap(), e.value, "{}", e.pointer);
        }
    }
    // undo: the engine's inverse changes, positions of removed keys recorded beforehand
    let inverse: Vec<Edit> = edits
        .iter()
        .map(|e| {
            let before = json::get_at(&doc, &e.pointer).unwrap();
            let segs = json::split_pointer(&e.pointer);
            let (last, parent) = segs.split_last().unwrap();
            let parent_ptr: String = parent.iter().map(|s| format!("/{}", json::escape_token(s))).collect();
            let position = match json::get_at(&doc, &parent_ptr).unwrap() {
                Some(Value::Object(m)) if before.is_some() && e.value.is_none() => m.keys().position(|k| k == last),
                _ => None,
            };
            Edit { pointer: e.pointer.clone(), value: before, position }
        })
        .collect();
    // a parent created (or a null turned into an object) would stay behind as `{}`: the engine
    // never plans below a missing parent; check undo only when every parent existed
    let created_parent = edits.iter().any(|e| {
        let segs = json::split_pointer(&e.pointer);
        let parent = json::get_at(&doc, &format!("/{}", json::escape_token(&segs[0]))).unwrap();
        segs.len() > 1 && !matches!(parent, Some(Value::Object(_)) | Some(Value::Array(_)))
    });
    if !created_parent {
        let back = json::apply_edits(&out, Style::detect(&out), &inverse).expect("inverse applies");
        let back_v: Value = serde_json::from_slice(&back).unwrap();
        assert_eq!(back_v, root, "undo is not value-identical");
        if Style::detect(&out) == st {
            assert_eq!(
                String::from_utf8_lossy(&back),
                String::from_utf8_lossy(&doc),
                "undo is not byte-identical (edits {edits:?})"
            );
        }
    }
}

/// The JWT decoder on arbitrary strings and on well-formed tokens with arbitrary claims.
pub fn check_jwt(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = clawauth_core::model::token::decode_claims(&s);
    let mut g = Gen::new(data);
    let exp = [json!(g.i64()), json!(g.i64() as f64), json!("soon"), Value::Null][g.below(4)].clone();
    let plan = [json!("plus"), json!(3)][g.below(2)].clone();
    let claims = json!({
        "exp": exp,
        "https://api.openai.com/auth": {"chatgpt_account_id": "acct-x", "chatgpt_plan_type": plan},
        "https://api.openai.com/profile": {"email": "a@b.c"},
    });
    let payload = if g.byte() % 2 == 0 { serde_json::to_vec(&claims).unwrap() } else { data.to_vec() };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tok = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJlLXNpZ25hdHVyZQ", b64.encode(&payload));
    for t in [s.as_ref(), tok.as_str()] {
        let c = clawauth_core::model::token::decode_claims(t);
        let _ = clawauth_core::model::token::classify(Some(t), Some(g.i64()), g.i64());
        let shown = clawauth_core::model::token::describe_secret(t);
        let fp = clawauth_core::model::token::fingerprint(t);
        let red = clawauth_core::model::token::redact(&json!({"access": t, "refresh": t})).to_string();
        for out in [&shown, &fp, &red] {
            if t.len() >= 24 {
                assert!(!out.contains(t), "a token reached its display form");
            }
            if let Some(p) = t.split('.').nth(1).filter(|p| p.len() > 20 && p.is_ascii()) {
                assert!(!out.contains(&p[..20]), "a JWT payload reached its display form");
            }
        }
        if t == tok && payload == serde_json::to_vec(&claims).unwrap() {
            assert!(c.is_some(), "a well-formed JWT did not decode");
        }
    }
}

/// Characters that drive a terminal or hide text (issue 17), mixed into generated text.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\u{1b}]0;title\u{7}",
    "\u{1b}]8;;http://x\u{1b}\\",
    "\u{1b}[2J",
    "\u{9b}31m",
    "\u{7}",
    "\0",
    "\u{7f}",
    "\t",
    "\u{202e}",
    "\u{2066}",
    "\u{200b}",
    "\u{feff}",
    "\u{2028}",
    "\r\n",
    "é",
    "✓",
    "\\n",
];

fn hostile_text(g: &mut Gen, data: &[u8]) -> String {
    let mut s = String::new();
    let base = String::from_utf8_lossy(data);
    let mut chars = base.chars();
    for _ in 0..g.below(24) {
        if g.byte() % 2 == 0 {
            s.push_str(HOSTILE[g.below(HOSTILE.len())]);
        } else {
            s.extend(chars.by_ref().take(1 + g.below(6)));
        }
    }
    s
}

fn terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The sanitizer (issue 17): whatever a value holds, a text block keeps exactly its own
/// newlines and no other control or reordering character; a line or a value has none at all; a
/// value is bounded. (The CLI's tables and `outln!` are built on `line`; their own unit tests
/// take the worst case.)
pub fn check_sanitize(data: &[u8]) {
    use clawauth_core::sanitize;
    let mut g = Gen::new(data);
    let s = hostile_text(&mut g, data);
    let block = sanitize::terminal_text(&s);
    assert!(!block.chars().any(|c| c != '\n' && terminal_unsafe(c)), "terminal_text let through: {block:?}");
    assert_eq!(block.matches('\n').count(), s.matches('\n').count(), "terminal_text changed the lines of {s:?}");
    let line = sanitize::line(&s);
    assert!(!line.chars().any(terminal_unsafe), "line let through: {line:?}");
    let max = g.below(64);
    let v = sanitize::value(&s, max);
    assert!(!v.chars().any(terminal_unsafe), "value let through: {v:?}");
    // an escape is at most `\u{10ffff}` (10 characters), plus the length note
    assert!(v.chars().count() <= max * 10 + 32, "value({max}) of {} chars is {} chars", s.chars().count(), v.len());
    // a line made of values stays one line (what `outln!` and every table cell of the CLI rely on)
    let l = sanitize::line(&format!("{s} | {}", s.len())).into_owned();
    assert!(!l.contains('\n'), "line made {l:?}");
}

fn key_spelling(g: &mut Gen, k: &str) -> String {
    let plain = serde_json::to_string(k).unwrap();
    match (g.byte() % 3, k.chars().next()) {
        // the same key spelled with an escape: one key to JSON.parse
        (0, Some(c)) if c.is_ascii_alphanumeric() => format!("\"\\u{:04x}{}", c as u32, &plain[1 + c.len_utf8()..]),
        _ => plain,
    }
}

/// JSON text with objects whose keys may repeat (in any spelling), and whether any does.
fn dup_doc(g: &mut Gen, depth: usize, out: &mut String) -> bool {
    let mut dup = false;
    match g.below(if depth >= 3 { 2 } else { 4 }) {
        0 => out.push_str(&serde_json::to_string(&value(g, 3)).unwrap()),
        1 => out.push_str("\"x\""),
        2 => {
            out.push('[');
            for i in 0..g.below(3) {
                if i > 0 {
                    out.push(',');
                }
                dup |= dup_doc(g, depth + 1, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let mut seen = std::collections::HashSet::new();
            for i in 0..g.below(5) {
                if i > 0 {
                    out.push_str(", ");
                }
                let k = key(g);
                dup |= !seen.insert(k.clone());
                out.push_str(&key_spelling(g, &k));
                out.push_str(": ");
                dup |= dup_doc(g, depth + 1, out);
            }
            out.push('}');
        }
    }
    dup
}

/// Duplicate keys (issue 17): the scanner finds a repeated key in any object at any depth, in
/// any spelling, exactly when there is one; serde_json (like OpenClaw's `JSON.parse`) keeps the
/// last; the loaders never panic on such a document; arbitrary bytes never make it panic.
pub fn check_duplicates(data: &[u8]) {
    let _ = json::first_duplicate(data, 0..data.len());
    let mut g = Gen::new(data);
    let mut doc = String::new();
    let dup = dup_doc(&mut g, 0, &mut doc);
    let b = doc.as_bytes();
    let found = json::first_duplicate(b, 0..b.len()).expect("generated JSON scans");
    assert_eq!(found.is_some(), dup, "first_duplicate {found:?} on {doc}");
    let v: Value = serde_json::from_slice(b).expect("generated JSON parses");
    assert_eq!(json::get_at(b, "").unwrap().as_ref(), Some(&v), "get_at disagrees with serde_json on {doc}");
    check_loaders(b);
}
