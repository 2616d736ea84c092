//! Lossless JSON: OpenClaw's exact output format (`JSON.stringify(v, null, indent)`), a fast
//! byte-level scanner that finds the span of a value without parsing the rest of the file, and
//! splice-based edits so that a change rewrites only the smallest enclosing object. This is what
//! lets a one-session pin in a 120 MB `sessions.json` touch a few hundred bytes, and an
//! unchanged document round-trip byte for byte.

use serde_json::{Map, Value};
use std::ops::Range;

mod scan;
pub use scan::*;
use scan::{err, ScanResult};

/// How a document is laid out on disk. OpenClaw writes auth files with a 2-space indent and a
/// trailing newline, `sessions.json` with a 2-space indent and none, and SQLite cells compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Style {
    /// Spaces per level; 0 means compact (`JSON.stringify(v)`).
    pub indent: usize,
    pub trailing_newline: bool,
}

impl Style {
    pub const AUTH_FILE: Style = Style { indent: 2, trailing_newline: true };
    pub const SESSIONS_FILE: Style = Style { indent: 2, trailing_newline: false };
    pub const COMPACT: Style = Style { indent: 0, trailing_newline: false };

    /// Read the layout off existing bytes: the indent of the first indented line, and whether
    /// the document ends in a newline.
    pub fn detect(bytes: &[u8]) -> Style {
        Style::detect_head(bytes, bytes.len(), bytes.last() == Some(&b'\n'))
    }

    /// `detect` from the first 4160 bytes of a document of `len` bytes (all of it when
    /// shorter) and whether it ends in a newline.
    pub fn detect_head(bytes: &[u8], len: usize, trailing_newline: bool) -> Style {
        let head = &bytes[..bytes.len().min(4096)];
        let indent = match memchr::memchr(b'\n', head) {
            Some(nl) if nl + 1 < len => {
                let rest = &bytes[nl + 1..bytes.len().min(nl + 64)];
                let n = rest.iter().take_while(|&&b| b == b' ').count();
                if n == 0 && rest.first() == Some(&b'\t') {
                    // tabs are not OpenClaw's; fall back to its default
                    2
                } else if n == 0 && trailing_newline && nl + 1 == len {
                    0
                } else {
                    n
                }
            }
            _ => 0,
        };
        Style { indent, trailing_newline }
    }
}

// ---------------------------------------------------------------------------------------------
// Serialization exactly like JSON.stringify

/// Serialize a whole document in `style`.
pub fn to_bytes(v: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v, style.indent, 0);
    if style.trailing_newline {
        out.push(b'\n');
    }
    out
}

pub fn to_string_compact(v: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v, 0, 0);
    String::from_utf8(out).expect("serializer writes UTF-8")
}

/// Serialize `v` as it appears nested `depth` levels deep (closing bracket indented `depth`).
pub fn write_value(out: &mut Vec<u8>, v: &Value, indent: usize, depth: usize) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            if a.is_empty() {
                out.extend_from_slice(b"[]");
                return;
            }
            out.push(b'[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(b']');
        }
        Value::Object(m) => {
            if m.is_empty() {
                out.extend_from_slice(b"{}");
                return;
            }
            out.push(b'{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                write_string(out, k);
                out.push(b':');
                if indent > 0 {
                    out.push(b' ');
                }
                write_value(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(b'}');
        }
    }
}

fn newline(out: &mut Vec<u8>, indent: usize, depth: usize) {
    if indent > 0 {
        out.push(b'\n');
        out.resize(out.len() + indent * depth, b' ');
    }
}

fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if n.is_i64() || n.is_u64() {
        out.extend_from_slice(n.to_string().as_bytes());
        return;
    }
    let f = n.as_f64().unwrap_or(0.0);
    // JavaScript prints integral doubles below 1e21 without a fraction.
    if f.fract() == 0.0 && f.abs() < 1e21 {
        out.extend_from_slice(format!("{}", f as i128).as_bytes());
    } else {
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{:04x}", b).as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------------
// An index of a document's top-level members

/// The top-level members of a document, found in one scan, so that many lookups in a huge
/// `sessions.json` cost one pass instead of one pass each. Duplicate keys: the last wins, as
/// in `JSON.parse`.
#[derive(Debug, Clone)]
pub struct TopIndex {
    pub root: Range<usize>,
    /// Every top-level member in document order (no key is copied: a 100k-entry
    /// `sessions.json` indexes in one structural pass without 100k allocations).
    pub members: Vec<Member>,
}

pub fn index(b: &[u8]) -> ScanResult<TopIndex> {
    let start = skip_ws(b, 0);
    if b.get(start) != Some(&b'{') {
        return Ok(TopIndex { root: root_span(b)?, members: vec![] });
    }
    let mut it = self::members(b, start)?;
    let mut members = vec![];
    for m in it.by_ref() {
        members.push(m?);
    }
    let end = it.end().ok_or(ScanError { offset: b.len(), what: "unterminated object" })?;
    if skip_ws(b, end) != b.len() {
        return err(end, "trailing characters after the JSON value");
    }
    Ok(TopIndex { root: start..end, members })
}

impl TopIndex {
    /// The value span of top-level key `key`; the last duplicate wins, as in `JSON.parse`.
    pub fn member(&self, b: &[u8], key: &str) -> ScanResult<Option<Range<usize>>> {
        for m in self.members.iter().rev() {
            let raw = &b[m.key.start + 1..m.key.end - 1];
            let hit = if memchr::memchr(b'\\', raw).is_none() { raw == key.as_bytes() } else { m.key_str(b)? == key };
            if hit {
                return Ok(Some(m.value.clone()));
            }
        }
        Ok(None)
    }

    /// Every top-level key, decoded.
    pub fn keys(&self, b: &[u8]) -> ScanResult<Vec<String>> {
        self.members.iter().map(|m| m.key_str(b)).collect()
    }

    /// The span of the value at `segments`, using the index for the first one.
    pub fn find(&self, b: &[u8], segments: &[String]) -> ScanResult<Option<Range<usize>>> {
        match segments.split_first() {
            None => Ok(Some(self.root.clone())),
            Some((first, rest)) if b.get(self.root.start) == Some(&b'{') => match self.member(b, first)? {
                None => Ok(None),
                Some(span) => find_span(b, span, rest),
            },
            Some(_) => find_span(b, self.root.clone(), segments),
        }
    }

    pub fn get(&self, b: &[u8], p: &str) -> Result<Option<Value>, String> {
        match self.find(b, &split_pointer(p)).map_err(|e| e.to_string())? {
            None => Ok(None),
            Some(r) => serde_json::from_slice(&b[r]).map(Some).map_err(|e| e.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON pointers (RFC 6901)

pub fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub fn unescape_token(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

pub fn pointer(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("/{}", escape_token(s))).collect()
}

pub fn split_pointer(p: &str) -> Vec<String> {
    if p.is_empty() {
        return vec![];
    }
    p.strip_prefix('/').unwrap_or(p).split('/').map(unescape_token).collect()
}

/// Find the span of the value at `segments` below the value spanning `span`.
pub fn find_span(b: &[u8], span: Range<usize>, segments: &[String]) -> ScanResult<Option<Range<usize>>> {
    let mut cur = span;
    for seg in segments {
        match b.get(cur.start) {
            Some(b'{') => {
                let mut found = None;
                for m in members(b, cur.start)? {
                    let m = m?;
                    // compare raw key bytes first (no escapes in the common case)
                    let raw = &b[m.key.start + 1..m.key.end - 1];
                    let hit = if memchr::memchr(b'\\', raw).is_none() {
                        raw == seg.as_bytes()
                    } else {
                        m.key_str(b)? == *seg
                    };
                    if hit {
                        // JSON.parse keeps the last duplicate; so do we
                        found = Some(m.value);
                    }
                }
                match found {
                    Some(v) => cur = v,
                    None => return Ok(None),
                }
            }
            Some(b'[') => {
                let Ok(idx) = seg.parse::<usize>() else {
                    return Ok(None);
                };
                match elements(b, cur.start)?.into_iter().nth(idx) {
                    Some(r) => cur = r,
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The value at pointer `p` in document bytes `b`, parsing only that value.
pub fn get_at(b: &[u8], p: &str) -> Result<Option<Value>, String> {
    let root = root_span(b).map_err(|e| e.to_string())?;
    let segs = split_pointer(p);
    match find_span(b, root, &segs).map_err(|e| e.to_string())? {
        None => Ok(None),
        Some(r) => serde_json::from_slice(&b[r]).map(Some).map_err(|e| e.to_string()),
    }
}

/// One value-level edit: the value at `pointer` becomes `value` (`None` = removed). A key that
/// is inserted goes at `position` in its object when given (so that undoing a removal puts the
/// key back where it was, byte for byte), else at the end.
#[derive(Debug, Clone)]
pub struct Edit {
    pub pointer: String,
    pub value: Option<Value>,
    pub position: Option<usize>,
}

impl Edit {
    pub fn new(pointer: impl Into<String>, value: Option<Value>) -> Self {
        Edit { pointer: pointer.into(), value, position: None }
    }
}

/// Apply one edit to a parsed value. Missing intermediate objects are created.
pub fn apply_in_value(root: &mut Value, segments: &[String], new: Option<&Value>) -> Result<(), String> {
    apply_in_value_at(root, segments, new, None)
}

pub fn apply_in_value_at(
    root: &mut Value,
    segments: &[String],
    new: Option<&Value>,
    position: Option<usize>,
) -> Result<(), String> {
    let Some((last, parents)) = segments.split_last() else {
        match new {
            Some(v) => *root = v.clone(),
            None => *root = Value::Null,
        }
        return Ok(());
    };
    let mut cur = root;
    for seg in parents {
        cur = match cur {
            Value::Object(m) => m.entry(seg.clone()).or_insert_with(|| Value::Object(Map::new())),
            Value::Array(a) => {
                let idx: usize = seg.parse().map_err(|_| format!("'{seg}' is not an array index"))?;
                a.get_mut(idx).ok_or_else(|| format!("index {idx} out of range"))?
            }
            _ => return Err(format!("cannot descend into a scalar at '{seg}'")),
        };
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
    }
    match cur {
        Value::Object(m) => {
            match new {
                Some(v) => match position {
                    Some(p) if !m.contains_key(last) => {
                        m.shift_insert(p.min(m.len()), last.clone(), v.clone());
                    }
                    _ => {
                        m.insert(last.clone(), v.clone());
                    }
                },
                None => {
                    m.shift_remove(last);
                }
            }
            Ok(())
        }
        Value::Array(a) => {
            let idx: usize = last.parse().map_err(|_| format!("'{last}' is not an array index"))?;
            match new {
                Some(v) if idx < a.len() => a[idx] = v.clone(),
                Some(v) if idx == a.len() => a.push(v.clone()),
                None if idx < a.len() => {
                    a.remove(idx);
                }
                _ => return Err(format!("index {idx} out of range")),
            }
            Ok(())
        }
        _ => Err(format!("cannot set '{last}' inside a scalar")),
    }
}

/// One re-serialized region of a document: the smallest existing object or array enclosing a
/// group of edits, with its value before and after.
#[derive(Debug, Clone)]
pub struct Unit {
    pub segs: Vec<String>,
    pub span: Range<usize>,
    pub before: Value,
    pub after: Value,
}

/// Group edits (pointer -> new value, `None` = remove) into units.
pub fn units(b: &[u8], edits: &[Edit]) -> Result<Vec<Unit>, String> {
    let idx = index(b).map_err(|e| e.to_string())?;
    units_indexed(b, &idx, edits)
}

pub fn units_indexed(b: &[u8], idx: &TopIndex, edits: &[Edit]) -> Result<Vec<Unit>, String> {
    let root = idx.root.clone();
    struct Pending {
        segs: Vec<String>,
        span: Range<usize>,
        edits: Vec<(Vec<String>, Option<Value>, Option<usize>)>,
    }
    let mut pending: Vec<Pending> = vec![];
    for e in edits {
        let segs = split_pointer(&e.pointer);
        // a top-level key given twice (OpenClaw reads the last): which one is meant is unknowable
        if let (Some(first), Some(b'{')) = (segs.first(), b.get(root.start)) {
            let mut n = 0;
            for m in &idx.members {
                let raw = &b[m.key.start + 1..m.key.end - 1];
                let hit = if memchr::memchr(b'\\', raw).is_none() {
                    raw == first.as_bytes()
                } else {
                    m.key_str(b).map_err(|e| e.to_string())? == *first
                };
                n += usize::from(hit);
            }
            if n > 1 {
                return Err(duplicate_error(first));
            }
        }
        // deepest existing container strictly above the target
        let mut k = segs.len().saturating_sub(1);
        let (span, k) = loop {
            match idx.find(b, &segs[..k]).map_err(|e| e.to_string())? {
                Some(s) if matches!(b.get(s.start), Some(b'{') | Some(b'[')) => break (s, k),
                _ if k == 0 => break (root.clone(), 0),
                _ => k -= 1,
            }
        };
        pending.push(Pending {
            segs: segs[..k].to_vec(),
            span,
            edits: vec![(segs[k..].to_vec(), e.value.clone(), e.position)],
        });
    }
    // merge units nested in others into the outer one
    pending.sort_by_key(|u| u.segs.len());
    let mut merged: Vec<Pending> = vec![];
    'outer: for u in pending {
        for m in merged.iter_mut() {
            if u.segs.starts_with(&m.segs) {
                let extra = u.segs[m.segs.len()..].to_vec();
                for (rel, new, pos) in u.edits {
                    let mut full = extra.clone();
                    full.extend(rel);
                    m.edits.push((full, new, pos));
                }
                continue 'outer;
            }
        }
        merged.push(u);
    }
    merged.sort_by_key(|u| u.span.start);
    merged
        .into_iter()
        .map(|u| {
            if let Some(k) = first_duplicate(b, u.span.clone()).map_err(|e| e.to_string())? {
                return Err(duplicate_error(&k));
            }
            let before: Value = serde_json::from_slice(&b[u.span.clone()]).map_err(|e| e.to_string())?;
            let mut after = before.clone();
            // keys put back at a recorded position (the undo of removals) go last and in
            // ascending position, so several keys removed from one object return to their places
            let mut order: Vec<&(Vec<String>, Option<Value>, Option<usize>)> = u.edits.iter().collect();
            order.sort_by_key(|(_, new, pos)| match (new, pos) {
                (Some(_), Some(p)) => (1, *p),
                _ => (0, 0),
            });
            for (rel, new, pos) in order {
                apply_in_value_at(&mut after, rel, new.as_ref(), *pos)?;
            }
            Ok(Unit { segs: u.segs, span: u.span, before, after })
        })
        .collect()
}

/// Apply edits to document bytes, re-serializing only the smallest existing object that
/// encloses each edit, in the document's own style; every other byte is kept.
pub fn apply_edits(b: &[u8], style: Style, edits: &[Edit]) -> Result<Vec<u8>, String> {
    let idx = index(b).map_err(|e| e.to_string())?;
    apply_edits_indexed(b, &idx, style, edits)
}

pub fn apply_edits_indexed(b: &[u8], idx: &TopIndex, style: Style, edits: &[Edit]) -> Result<Vec<u8>, String> {
    let us = units_indexed(b, idx, edits)?;
    let mut out = Vec::with_capacity(b.len() + 256);
    let mut pos = 0;
    for u in &us {
        out.extend_from_slice(&b[pos..u.span.start]);
        write_value(&mut out, &u.after, style.indent, u.segs.len());
        pos = u.span.end;
    }
    out.extend_from_slice(&b[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stringify_matches_javascript() {
        let v = json!({"a": [1, 2.5, "x\"\n\u{1}"], "b": {}, "c": [], "d": {"e": null, "f": true}, "g": 1.0});
        let s = String::from_utf8(to_bytes(&v, Style::AUTH_FILE)).unwrap();
        let js = "{\n  \"a\": [\n    1,\n    2.5,\n    \"x\\\"\\n\\u0001\"\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"e\": null,\n    \"f\": true\n  },\n  \"g\": 1\n}\n";
        assert_eq!(s, js);
        assert_eq!(to_string_compact(&v), r#"{"a":[1,2.5,"x\"\n\u0001"],"b":{},"c":[],"d":{"e":null,"f":true},"g":1}"#);
    }

    #[test]
    fn detects_style() {
        assert_eq!(Style::detect(b"{\n  \"a\": 1\n}\n"), Style::AUTH_FILE);
        assert_eq!(Style::detect(b"{\n  \"a\": 1\n}"), Style::SESSIONS_FILE);
        assert_eq!(Style::detect(b"{\"a\":1}"), Style::COMPACT);
        assert_eq!(Style::detect(b"{\n    \"a\": 1\n}").indent, 4);
    }

    #[test]
    fn get_at_reads_one_value() {
        let doc = br#"{"a": {"b~/c": [10, {"d": "x"}]}, "e": 1}"#;
        assert_eq!(get_at(doc, "/a/b~0~1c/1/d").unwrap(), Some(json!("x")));
        assert_eq!(get_at(doc, "/e").unwrap(), Some(json!(1)));
        assert_eq!(get_at(doc, "/nope").unwrap(), None);
        assert_eq!(get_at(doc, "").unwrap(), Some(serde_json::from_slice(doc).unwrap()));
    }

    #[test]
    fn edits_touch_only_the_enclosing_object() {
        let v = json!({"s1": {"x": 1, "y": [1, 2]}, "s2": {"x": 2}, "s3": {"x": 3}});
        let orig = to_bytes(&v, Style::SESSIONS_FILE);
        let out = apply_edits(
            &orig,
            Style::SESSIONS_FILE,
            &[Edit::new("/s2/pin", Some(json!("p"))), Edit::new("/s2/x", None)],
        )
        .unwrap();
        let mut expect = v.clone();
        expect["s2"] = json!({"pin": "p"});
        assert_eq!(out, to_bytes(&expect, Style::SESSIONS_FILE));
        // a hand-formatted neighbour stays byte-identical
        let odd = b"{\"s1\":   {\"x\":1},\n  \"s2\": {\n    \"x\": 2\n  }\n}";
        let out = apply_edits(odd, Style::SESSIONS_FILE, &[Edit::new("/s2/x", Some(json!(5)))]).unwrap();
        assert_eq!(out, b"{\"s1\":   {\"x\":1},\n  \"s2\": {\n    \"x\": 5\n  }\n}");
        // creating a missing parent, and removing the last key
        let out = apply_edits(&orig, Style::SESSIONS_FILE, &[Edit::new("/new/a/b", Some(json!(1)))]).unwrap();
        assert_eq!(get_at(&out, "/new/a/b").unwrap(), Some(json!(1)));
        // removing a key and putting it back at its position restores the bytes
        let removed = apply_edits(&orig, Style::SESSIONS_FILE, &[Edit::new("/s2", None)]).unwrap();
        let back = apply_edits(
            &removed,
            Style::SESSIONS_FILE,
            &[Edit { pointer: "/s2".into(), value: Some(json!({"x": 2})), position: Some(1) }],
        )
        .unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth_in_one_pass() {
        let find = |t: &str| first_duplicate(t.as_bytes(), 0..t.len()).unwrap();
        assert_eq!(find(r#"{"a":1,"b":{"c":2,"c":3}}"#), Some("c".into()));
        assert_eq!(find(r#"{"a":1,"\u0061":2}"#), Some("a".into()));
        assert_eq!(find(r#"{"a":[{"x":1},{"x":2}],"b":"a"}"#), None);
        assert_eq!(find(r#"["a","a"]"#), None);
        let deep = format!("{{\"k\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(find(&deep), None);
    }

    #[test]
    fn scanner_rejects_garbage() {
        assert!(root_span(b"{\"a\": ").is_err());
        assert!(root_span(b"{\"a\": 1} x").is_err());
        assert!(get_at(b"{\"a\": \"unterminated}", "/a").is_err());
    }
}
