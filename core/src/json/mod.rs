//! Lossless JSON: OpenClaw's exact output format (`JSON.stringify(v, null, indent)`), a fast
//! byte-level scanner that finds the span of a value without parsing the rest of the file, and
//! splice-based edits so that a change rewrites only the smallest enclosing object. This is what
//! lets a one-session pin in a 120 MB `sessions.json` touch a few hundred bytes, and an
//! unchanged document round-trip byte for byte.

use serde_json::{Map, Value};
use std::ops::Range;

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
// Scanner

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

type ScanResult<T> = Result<T, ScanError>;

fn err<T>(offset: usize, what: &'static str) -> ScanResult<T> {
    Err(ScanError { offset, what })
}

pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// `i` points at an opening quote; returns the index just past the closing quote.
pub fn skip_string(b: &[u8], i: usize) -> ScanResult<usize> {
    let mut j = i + 1;
    loop {
        match memchr::memchr2(b'"', b'\\', &b[j.min(b.len())..]) {
            None => return err(i, "unterminated string"),
            Some(k) => {
                let at = j + k;
                if b[at] == b'\\' {
                    j = at + 2;
                    if j > b.len() {
                        return err(i, "unterminated string");
                    }
                } else {
                    return Ok(at + 1);
                }
            }
        }
    }
}

/// `i` points at the first byte of a value; returns the index just past it. Containers are
/// skipped structurally (brackets and strings only); their contents are validated when parsed.
pub fn skip_value(b: &[u8], i: usize) -> ScanResult<usize> {
    match b.get(i) {
        None => err(i, "unexpected end of input"),
        Some(b'"') => skip_string(b, i),
        Some(&open @ (b'{' | b'[')) => {
            // Braces and brackets balance independently in valid JSON, so the end of an
            // object is found by counting braces alone (and of an array by brackets alone):
            // three-byte memchr jumps instead of a per-byte loop. Content is validated when
            // the value is parsed.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            while let Some(k) = memchr::memchr3(b'"', open, close, &b[j..]) {
                let at = j + k;
                match b[at] {
                    b'"' => {
                        j = skip_string(b, at)?;
                        continue;
                    }
                    c if c == open => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(at + 1);
                        }
                    }
                }
                j = at + 1;
            }
            err(i, "unterminated object or array")
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                j += 1;
            }
            if j == i {
                err(i, "expected a value")
            } else {
                Ok(j)
            }
        }
    }
}

/// One `"key": value` member of an object.
#[derive(Debug, Clone)]
pub struct Member {
    /// The key, including its quotes.
    pub key: Range<usize>,
    pub value: Range<usize>,
}

impl Member {
    pub fn key_str(&self, b: &[u8]) -> ScanResult<String> {
        decode_key(&b[self.key.clone()]).ok_or(ScanError { offset: self.key.start, what: "invalid key" })
    }
}

fn decode_key(raw: &[u8]) -> Option<String> {
    // fast path: no escapes
    let inner = &raw[1..raw.len() - 1];
    if memchr::memchr(b'\\', inner).is_none() {
        return std::str::from_utf8(inner).ok().map(str::to_owned);
    }
    serde_json::from_slice::<String>(raw).ok()
}

/// Iterate the members of the object whose `{` is at `start`.
pub struct Members<'a> {
    b: &'a [u8],
    i: usize,
    done: bool,
    first: bool,
}

pub fn members(b: &[u8], start: usize) -> ScanResult<Members<'_>> {
    if b.get(start) != Some(&b'{') {
        return err(start, "expected an object");
    }
    Ok(Members { b, i: start + 1, done: false, first: true })
}

impl Members<'_> {
    /// After the iterator is exhausted without error: the index just past the closing `}`.
    pub fn end(&self) -> Option<usize> {
        if !self.done {
            return None;
        }
        let i = skip_ws(self.b, self.i);
        (self.b.get(i) == Some(&b'}')).then_some(i + 1)
    }
}

impl Iterator for Members<'_> {
    type Item = ScanResult<Member>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        if b.get(i) == Some(&b'}') {
            self.done = true;
            return None;
        }
        if !self.first {
            if b.get(i) != Some(&b',') {
                self.done = true;
                return Some(err(i, "expected ',' or '}'"));
            }
            i = skip_ws(b, i + 1);
        }
        self.first = false;
        if b.get(i) != Some(&b'"') {
            self.done = true;
            return Some(err(i, "expected a string key"));
        }
        let kend = match skip_string(b, i) {
            Ok(e) => e,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let c = skip_ws(b, kend);
        if b.get(c) != Some(&b':') {
            self.done = true;
            return Some(err(c, "expected ':'"));
        }
        let vs = skip_ws(b, c + 1);
        let ve = match skip_value(b, vs) {
            Ok(e) => e,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        self.i = ve;
        Some(Ok(Member { key: i..kend, value: vs..ve }))
    }
}

/// The first key that appears twice in one object anywhere inside the value spanning `span`
/// (decoded), if any. `JSON.parse` keeps the last of two; a rewrite of that object would keep
/// one of them silently, so callers refuse to rewrite it. Iterative: nesting depth is unbounded.
pub fn first_duplicate(b: &[u8], span: Range<usize>) -> ScanResult<Option<String>> {
    // one forward pass: a stack with the keys seen so far in each open object (`None` for an
    // array); a string followed by `:` is a key of the innermost object
    let mut open: Vec<Option<std::collections::HashSet<Vec<u8>>>> = vec![];
    let mut i = span.start;
    while i < span.end {
        match b[i] {
            b'{' => {
                open.push(Some(Default::default()));
                i += 1;
            }
            b'[' => {
                open.push(None);
                i += 1;
            }
            b'}' | b']' => {
                open.pop();
                i += 1;
            }
            b'"' => {
                let end = skip_string(b, i)?;
                if let Some(Some(keys)) = open.last_mut() {
                    if b.get(skip_ws(b, end)) == Some(&b':') {
                        let m = Member { key: i..end, value: end..end };
                        // escaped spellings of one key are one key to JSON.parse
                        let k = if memchr::memchr(b'\\', &b[i..end]).is_some() {
                            m.key_str(b)?.into_bytes()
                        } else {
                            b[i + 1..end - 1].to_vec()
                        };
                        if !keys.insert(k) {
                            return Ok(Some(m.key_str(b)?));
                        }
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(None)
}

pub(crate) fn duplicate_error(key: &str) -> String {
    format!(
        "the key {key:?} appears twice in an object clawauth would rewrite (OpenClaw's JSON.parse keeps only the \
         last); refusing to write — remove one of them first"
    )
}

/// Elements of the array whose `[` is at `start`.
pub fn elements(b: &[u8], start: usize) -> ScanResult<Vec<Range<usize>>> {
    if b.get(start) != Some(&b'[') {
        return err(start, "expected an array");
    }
    let mut out = vec![];
    let mut i = skip_ws(b, start + 1);
    if b.get(i) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let e = skip_value(b, i)?;
        out.push(i..e);
        i = skip_ws(b, e);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return Ok(out),
            _ => return err(i, "expected ',' or ']'"),
        }
    }
}

/// The span of the document's root value (whitespace around it excluded).
pub fn root_span(b: &[u8]) -> ScanResult<Range<usize>> {
    let s = skip_ws(b, 0);
    let e = skip_value(b, s)?;
    if skip_ws(b, e) != b.len() {
        return err(e, "trailing characters after the JSON value");
    }
    Ok(s..e)
}

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
