//! The scanner: finds the byte spans of JSON values without parsing them (strings by their
//! quotes, containers by their brackets), so a 100k-session file is walked, not built.

use std::ops::Range;

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

pub(super) type ScanResult<T> = Result<T, ScanError>;

pub(super) fn err<T>(offset: usize, what: &'static str) -> ScanResult<T> {
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
        match find_quote_or_backslash(b, j) {
            None => return err(i, "unterminated string"),
            Some(at) => {
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

/// The first `"` or `\` at or after `j`. Most strings of a session entry are a few bytes
/// long: one 16-byte compare finds their end where a `memchr2` call costs more to set up.
#[inline]
fn find_quote_or_backslash(b: &[u8], mut j: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; each load reads 16 bytes inside `b`
        unsafe {
            let (q, bs) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8));
            while j + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(j) as *const __m128i);
                let m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs))) as u32;
                if m != 0 {
                    return Some(j + m.trailing_zeros() as usize);
                }
                j += 16;
            }
        }
    }
    memchr::memchr2(b'"', b'\\', b.get(j..).unwrap_or_default()).map(|k| j + k)
}

/// Bit `k` of each mask says whether byte `k` of the 64-byte `blk` is `"`, `\`, `open`, `close`.
#[inline]
fn block_masks(blk: &[u8], open: u8, close: u8) -> [u64; 4] {
    debug_assert_eq!(blk.len(), 64);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let mut m = [0u64; 4];
        // SAFETY: SSE2 is part of the x86_64 baseline; the four loads read the 64 bytes of `blk`
        unsafe {
            let want = [b'"', b'\\', open, close].map(|c| _mm_set1_epi8(c as i8));
            for part in 0..4 {
                let v = _mm_loadu_si128(blk.as_ptr().add(16 * part) as *const __m128i);
                for (mask, w) in m.iter_mut().zip(&want) {
                    *mask |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, *w)) as u16 as u64) << (16 * part);
                }
            }
        }
        m
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = [0u64; 4];
        for (k, &c) in blk.iter().enumerate() {
            for (mask, w) in m.iter_mut().zip([b'"', b'\\', open, close]) {
                *mask |= ((c == w) as u64) << k;
            }
        }
        m
    }
}

/// Bit `k` of the result is the parity of the bits `0..=k` of `x`: with `x` the quotes of a
/// block, the bytes from an opening quote up to (not including) its closing one.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Where a container scan stands between bytes: inside a string (from `start`), just after a
/// backslash in one, and how deep in brackets of the kind being counted.
struct Walk {
    depth: usize,
    in_str: bool,
    escaped: bool,
    str_start: usize,
}

impl Walk {
    /// The bytes of `run`, the first at `at`, one by one; `Some(end)` when one closes the container.
    fn bytes(&mut self, at: usize, run: &[u8], open: u8, close: u8) -> Option<usize> {
        run.iter().enumerate().find_map(|(k, &c)| self.step(at + k, c, open, close))
    }

    /// One byte at `at`; `Some(end)` when it closes the container.
    #[inline]
    fn step(&mut self, at: usize, c: u8, open: u8, close: u8) -> Option<usize> {
        if self.escaped {
            self.escaped = false;
        } else if self.in_str {
            match c {
                b'\\' => self.escaped = true,
                b'"' => self.in_str = false,
                _ => {}
            }
        } else if c == b'"' {
            self.in_str = true;
            self.str_start = at;
        } else if c == open {
            self.depth += 1;
        } else if c == close {
            self.depth -= 1;
            if self.depth == 0 {
                return Some(at + 1);
            }
        }
        None
    }
}

/// The end of the object or array whose `open` bracket is at `i`. Braces and brackets balance
/// independently in valid JSON, so the end is found by counting brackets of the one kind
/// outside strings; content is validated when the value is parsed. 64 bytes at a time: the
/// quotes' prefix parity marks the bytes inside strings, and only the brackets outside them
/// are visited. A block holding a backslash (an escape) is walked byte by byte.
fn skip_container(b: &[u8], i: usize, open: u8, close: u8) -> ScanResult<usize> {
    let mut w = Walk { depth: 0, in_str: false, escaped: false, str_start: i };
    let mut pos = i;
    while pos + 64 <= b.len() {
        let blk = &b[pos..pos + 64];
        let [q, bs, o, c] = block_masks(blk, open, close);
        if bs != 0 || w.escaped {
            if let Some(end) = w.bytes(pos, blk, open, close) {
                return Ok(end);
            }
        } else {
            let mut inside = prefix_xor(q);
            if w.in_str {
                inside = !inside;
            }
            let mut s = (o | c) & !inside;
            while s != 0 {
                let k = s.trailing_zeros();
                if o >> k & 1 == 1 {
                    w.depth += 1;
                } else {
                    w.depth -= 1;
                    if w.depth == 0 {
                        return Ok(pos + k as usize + 1);
                    }
                }
                s &= s - 1;
            }
            let ends_inside = inside >> 63 == 1;
            if ends_inside && q != 0 {
                // the block's last quote opened the string it ends in
                w.str_start = pos + 63 - q.leading_zeros() as usize;
            }
            w.in_str = ends_inside;
        }
        pos += 64;
    }
    if let Some(end) = w.bytes(pos, &b[pos..], open, close) {
        return Ok(end);
    }
    if w.in_str {
        err(w.str_start, "unterminated string")
    } else {
        err(i, "unterminated object or array")
    }
}

/// `i` points at the first byte of a value; returns the index just past it. Containers are
/// skipped structurally (brackets and strings only); their contents are validated when parsed.
pub fn skip_value(b: &[u8], i: usize) -> ScanResult<usize> {
    match b.get(i) {
        None => err(i, "unexpected end of input"),
        Some(b'"') => skip_string(b, i),
        Some(b'{') => skip_container(b, i, b'{', b'}'),
        Some(b'[') => skip_container(b, i, b'[', b']'),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner as it was before it worked in blocks: `memchr` jumps from token to token.
    fn reference_skip_string(b: &[u8], i: usize) -> ScanResult<usize> {
        let mut j = i + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &b[j.min(b.len())..]) {
                None => return err(i, "unterminated string"),
                Some(k) if b[j + k] == b'\\' => {
                    j += k + 2;
                    if j > b.len() {
                        return err(i, "unterminated string");
                    }
                }
                Some(k) => return Ok(j + k + 1),
            }
        }
    }

    fn reference_skip_container(b: &[u8], i: usize, open: u8, close: u8) -> ScanResult<usize> {
        let mut depth = 0usize;
        let mut j = i;
        while let Some(k) = memchr::memchr3(b'"', open, close, &b[j..]) {
            let at = j + k;
            match b[at] {
                b'"' => {
                    j = reference_skip_string(b, at)?;
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

    use clawauth_fixture::Rng;

    /// Random JSON-ish text rich in what the scanner must get right: quotes, runs of
    /// backslashes, brackets of both kinds inside and outside strings, long and short strings.
    fn value(g: &mut Rng, depth: u32, out: &mut Vec<u8>) {
        match if depth > 5 { g.below(3) } else { g.below(6) } {
            0 => out.extend_from_slice(b"12.5e3"),
            1 | 2 => {
                out.push(b'"');
                let long = g.below(4) == 0;
                for _ in 0..g.below(if long { 150 } else { 12 }) {
                    match g.below(12) {
                        0 => out.extend_from_slice(b"\\\""),
                        1 => out.extend_from_slice(&b"\\\\\\\\\\\\"[..2 * (1 + g.below(3))]),
                        2 => out.extend_from_slice(b"{[}]"),
                        3 => out.extend_from_slice("é".as_bytes()),
                        _ => out.push(b'a' + g.below(26) as u8),
                    }
                }
                out.push(b'"');
            }
            3 | 4 => {
                out.push(b'{');
                for n in 0..g.below(6) {
                    if n > 0 {
                        out.push(b',');
                    }
                    value(g, 5, out); // a key: always a string at depth > 5
                    out.extend_from_slice(b": ");
                    value(g, depth + 1, out);
                }
                out.push(b'}');
            }
            _ => {
                out.push(b'[');
                for n in 0..g.below(6) {
                    if n > 0 {
                        out.extend_from_slice(b", ");
                    }
                    value(g, depth + 1, out);
                }
                out.push(b']');
            }
        }
    }

    #[test]
    fn block_scanning_finds_what_token_jumps_find() {
        let mut checked = 0;
        for seed in 1..3000u64 {
            let mut g = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            // a random lead-in moves the value across every 64-byte block boundary
            let mut b = vec![b' '; g.below(64)];
            let at = b.len();
            value(&mut g, 0, &mut b);
            let whole = b.len();
            b.extend_from_slice(b" , \"tail\" }");
            // whole, and cut short anywhere (unterminated strings and containers)
            for cut in [b.len(), whole, at + g.below(whole - at + 1)] {
                let s = &b[..cut];
                let (open, close) = match s.get(at) {
                    Some(b'{') => (b'{', b'}'),
                    Some(b'[') => (b'[', b']'),
                    _ => continue,
                };
                assert_eq!(
                    skip_container(s, at, open, close),
                    reference_skip_container(s, at, open, close),
                    "seed {seed}, cut {cut}: {}",
                    String::from_utf8_lossy(s)
                );
                checked += 1;
            }
            for (i, _) in b.iter().enumerate().filter(|(_, &c)| c == b'"') {
                assert_eq!(skip_string(&b, i), reference_skip_string(&b, i), "seed {seed}, string at {i}");
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn prefix_parity_marks_the_bytes_inside_strings() {
        // quotes at 2 and 5, 60 and 63: inside are 2..5 and 60..63
        let q = (1u64 << 2) | (1 << 5) | (1 << 60) | (1 << 63);
        assert_eq!(prefix_xor(q), (0b111 << 2) | (0b111 << 60));
        assert_eq!(prefix_xor(1), u64::MAX);
    }
}
