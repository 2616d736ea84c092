//! Reading sessions fast and in bounded memory. `sessions.json` is one flat object that real
//! installs grow to tens of megabytes; it is streamed in chunks, each entry's byte span found
//! by the scanner and only the fields clawauth needs deserialized. Nothing builds a full
//! `serde_json::Value` of the file.

use crate::error::{Error, Result};
use crate::json;
use crate::model::Session;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

const CHUNK: usize = 4 << 20;
/// Entries starting further than this from the end of the buffer are read in one pass.
const FAST_MARGIN: usize = 256 << 10;

/// A field's value as the entry holds it: a plain token decoded without serde (a string with
/// no escape, a small non-negative integer, `null`, a boolean), or what serde made of the rest.
enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Null,
    Bool(bool),
    Parsed(Value),
}

impl Field<'_> {
    /// Read the value token `t` of the field `name`; a token serde rejects is the entry's error.
    fn read<'a>(t: &'a [u8], name: &[u8]) -> std::result::Result<Field<'a>, String> {
        if let Some(f) = Field::plain(t) {
            return Ok(f);
        }
        serde_json::from_slice(t).map(Field::Parsed).map_err(|e| format!("`{}`: {e}", String::from_utf8_lossy(name)))
    }

    fn plain(t: &[u8]) -> Option<Field<'_>> {
        match t {
            [b'"', body @ .., b'"'] if !body.iter().any(|&c| c == b'\\' || c == b'"' || c < 0x20) => {
                std::str::from_utf8(body).ok().map(Field::Str)
            }
            b"null" => Some(Field::Null),
            b"true" => Some(Field::Bool(true)),
            b"false" => Some(Field::Bool(false)),
            [b'0'] => Some(Field::Int(0)),
            [b'1'..=b'9', rest @ ..] if rest.len() < 18 && rest.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(t).ok()?.parse::<i64>().ok().map(Field::Int)
            }
            _ => None,
        }
    }

    fn value(&self) -> Value {
        match self {
            Field::Str(s) => Value::String((*s).to_owned()),
            Field::Int(i) => Value::from(*i),
            Field::Null => Value::Null,
            Field::Bool(b) => Value::Bool(*b),
            Field::Parsed(v) => v.clone(),
        }
    }

    /// The string, if the value is one.
    fn text(&self) -> Option<crate::model::Text> {
        match self {
            Field::Str(s) => Some((*s).into()),
            Field::Parsed(Value::String(s)) => Some(s.as_str().into()),
            _ => None,
        }
    }

    /// The number as an integer (a fraction truncated), if the value is one.
    fn int(&self) -> Option<i64> {
        match self {
            Field::Int(i) => Some(*i),
            Field::Parsed(x) => x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)),
            _ => None,
        }
    }

    fn is_i64(&self) -> bool {
        match self {
            Field::Int(_) => true,
            Field::Parsed(v) => v.is_i64(),
            _ => false,
        }
    }
}

#[derive(Default)]
struct RawEntry<'a> {
    updated_at: Option<Field<'a>>,
    chat_type: Option<Field<'a>>,
    channel: Option<Field<'a>>,
    last_channel: Option<Field<'a>>,
    model_provider: Option<Field<'a>>,
    model: Option<Field<'a>>,
    provider_override: Option<Field<'a>>,
    model_override: Option<Field<'a>>,
    pin: Option<Field<'a>>,
    pin_source: Option<Field<'a>>,
    pin_compaction: Option<Field<'a>>,
    compaction_count: Option<Field<'a>>,
    label: Option<Field<'a>>,
    display_name: Option<Field<'a>>,
}

fn text(f: &Option<Field>) -> Option<crate::model::Text> {
    f.as_ref().and_then(Field::text)
}

/// Summarize one entry's JSON. `Err` carries what is wrong with it.
pub fn summarize(key: &str, bytes: &[u8]) -> std::result::Result<Session, String> {
    summarize_keyed(key.to_string(), bytes).map_err(|e| e.1)
}

/// `summarize`, the session taking `key`; `Err` gives the key back with what is wrong.
pub(crate) fn summarize_keyed(key: String, bytes: &[u8]) -> std::result::Result<Session, (String, String)> {
    // JSON.parse accepts whitespace around the value (a session_nodes cell may carry some)
    let start = json::skip_ws(bytes, 0);
    if bytes.get(start) != Some(&b'{') {
        return Err((key, "entry is not an object".into()));
    }
    let (s, end) = summarize_at(key, bytes, start)?;
    if json::skip_ws(bytes, end) != bytes.len() {
        return Err((s.key, "trailing characters after the entry".into()));
    }
    Ok(s)
}

/// Summarize the entry object starting at `start`; returns it and the index past it (`Err`
/// gives the key back with what is wrong). The fields clawauth reads are the arms of its
/// match; everything else is skipped structurally, never parsed — real entries carry
/// kilobytes of delivery context, origin and skills snapshots.
pub fn summarize_at(key: String, b: &[u8], start: usize) -> std::result::Result<(Session, usize), (String, String)> {
    match read_fields(b, start) {
        Ok((raw, end)) => Ok((from_raw(key, raw), end)),
        Err(e) => Err((key, e)),
    }
}

fn read_fields(b: &[u8], start: usize) -> std::result::Result<(RawEntry<'_>, usize), String> {
    let mut raw = RawEntry::default();
    let mut members = json::members(b, start).map_err(|e| e.to_string())?;
    for m in members.by_ref() {
        let m = m.map_err(|e| e.to_string())?;
        // `"\u0075pdatedAt"` is `updatedAt` to JSON.parse: an escaped spelling must not hide a field
        let mut k = &b[m.key.start + 1..m.key.end - 1];
        let decoded;
        if k.contains(&b'\\') {
            decoded = m.key_str(b).map_err(|e| e.to_string())?;
            k = decoded.as_bytes();
        }
        let slot = match k {
            b"updatedAt" => &mut raw.updated_at,
            b"chatType" => &mut raw.chat_type,
            b"channel" => &mut raw.channel,
            b"lastChannel" => &mut raw.last_channel,
            b"modelProvider" => &mut raw.model_provider,
            b"model" => &mut raw.model,
            b"providerOverride" => &mut raw.provider_override,
            b"modelOverride" => &mut raw.model_override,
            b"authProfileOverride" => &mut raw.pin,
            b"authProfileOverrideSource" => &mut raw.pin_source,
            b"authProfileOverrideCompactionCount" => &mut raw.pin_compaction,
            b"compactionCount" => &mut raw.compaction_count,
            b"label" => &mut raw.label,
            b"displayName" => &mut raw.display_name,
            _ => continue,
        };
        *slot = Some(Field::read(&b[m.value.clone()], k)?);
    }
    let end = members.end().ok_or_else(|| "unterminated entry".to_string())?;
    Ok((raw, end))
}

fn from_raw(key: String, raw: RawEntry) -> Session {
    let rebuildable = raw.pin.is_none()
        && raw.pin_source.is_none()
        && raw.pin_compaction.is_none()
        && raw.updated_at.as_ref().map_or(true, Field::is_i64);
    let value = |f: &Option<Field>| f.as_ref().map(Field::value);
    let stored = (!rebuildable).then(|| {
        Box::new([value(&raw.pin), value(&raw.pin_source), value(&raw.pin_compaction), value(&raw.updated_at)])
    });
    Session {
        user_facing: Session::key_is_user_facing(&key),
        stored,
        key,
        updated_at: raw.updated_at.as_ref().and_then(Field::int),
        compaction_count: raw.compaction_count.as_ref().and_then(Field::int),
        chat_type: text(&raw.chat_type),
        channel: text(&raw.channel).or_else(|| text(&raw.last_channel)),
        model_provider: text(&raw.model_provider),
        model: text(&raw.model),
        provider_override: text(&raw.provider_override),
        model_override: text(&raw.model_override),
        pin: match &raw.pin {
            Some(Field::Null | Field::Parsed(Value::Null)) | None => None,
            Some(f) => Some(f.text().unwrap_or_else(|| f.value().to_string().into())),
        },
        pin_source: text(&raw.pin_source),
        pin_compaction: value(&raw.pin_compaction).filter(|v| !v.is_null()),
        label: text(&raw.display_name).or_else(|| text(&raw.label)),
    }
}

/// Stream `sessions.json`. Returns the sessions in file order and per-entry warnings.
///
/// A large file in OpenClaw's own format is read by two threads, split at a top-level member
/// boundary: in `JSON.stringify(store, null, 2)` output, `,\n  "` (a comma, a newline, exactly
/// two spaces, a quote) can only start a top-level member, since strings hold no raw newline
/// and nested members are indented further. Each half must then parse exactly to the split; if
/// anything disagrees, the whole file is read again in one pass, which also gives the precise
/// error.
pub fn read_sessions_file(path: &Path) -> Result<(Vec<Session>, Vec<String>)> {
    if let Some(split) = split_point(path) {
        let tail = std::thread::scope(|sc| {
            let t = sc.spawn(|| scan(path, split + 1, None, Part::Tail));
            let head = scan(path, 0, Some(split), Part::Head);
            (head, t.join())
        });
        if let (Ok((a, mut wa)), Ok(Ok((b, wb)))) = tail {
            // the head's buffer grows in place where the allocator can (large blocks are
            // remapped, not copied), and each of the tail's blocks is freed once moved over:
            // the peak stays near one copy of the summaries
            let mut a = one_block(a);
            a.reserve(b.iter().map(Vec::len).sum());
            for block in b {
                a.extend(block);
            }
            wa.extend(wb);
            return Ok((a, wa));
        }
    }
    scan(path, 0, None, Part::Whole).map(|(s, w)| (one_block(s), w))
}

/// The summaries a scan made, as one vector (a head or whole scan makes one block).
fn one_block(mut blocks: Vec<Vec<Session>>) -> Vec<Session> {
    match blocks.len() {
        1 => blocks.pop().expect("one block"),
        _ => blocks.concat(),
    }
}

/// Sessions per block of a tail scan's summaries (about 2.5 MiB: above the CLI's 1 MiB mmap
/// threshold, so a block freed is memory given back).
const TAIL_BLOCK: usize = 8192;

/// Files smaller than this are read by one thread.
const PARALLEL_MIN: u64 = 16 << 20;

/// The offset of a `,` that ends a top-level member near the middle of a large 2-space
/// pretty-printed file, or `None`.
fn split_point(path: &Path) -> Option<u64> {
    // checked like every read (a FIFO must not block here); `scan` reports what is wrong
    let (f, len) = crate::layout::store::open_checked(path, crate::layout::store::SESSIONS_CAP).ok()??;
    if len < PARALLEL_MIN {
        return None;
    }
    split_at_member(&f, len)
}

/// The offset of a `,` that ends a top-level member near the middle of the `len` bytes of a
/// 2-space pretty-printed object file, or `None` (another format, or none found in the 1 MiB
/// after the middle). A guess each reader of two halves checks: the head must end there.
pub(crate) fn split_at_member(f: &std::fs::File, len: u64) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0u8; 4096];
    let n = f.read_at(&mut head, 0).ok()?;
    if json::Style::detect(&head[..n]).indent != 2 || !head.starts_with(b"{\n  \"") {
        return None;
    }
    let mid = len / 2;
    let mut window = vec![0u8; (1 << 20).min(len.saturating_sub(mid) as usize)];
    let n = f.read_at(&mut window, mid).ok()?;
    let k = memchr::memmem::find(&window[..n], b",\n  \"")?;
    Some(mid + k as u64)
}

/// Which part of a top-level object one reader of a file split in two scans.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// the whole object
    Whole,
    /// from the opening brace up to (not including) a top-level comma
    Head,
    /// from just after a top-level comma to the closing brace
    Tail,
}

/// Stream the members of (part of) the top-level object starting at byte `start`, at most
/// `limit` bytes.
///
/// The summaries come in blocks: one for a head or whole scan, `TAIL_BLOCK` sessions each for a
/// tail, so that moving the tail after the head frees as it goes.
fn scan(path: &Path, start: u64, limit: Option<u64>, part: Part) -> Result<(Vec<Vec<Session>>, Vec<String>)> {
    use std::io::{Seek, SeekFrom};
    let Some((mut f, _)) = crate::layout::store::open_checked(path, crate::layout::store::SESSIONS_CAP)? else {
        return Err(Error::NotFound(format!("{} does not exist", path.display())));
    };
    if start > 0 {
        f.seek(SeekFrom::Start(start)).map_err(|e| Error::io(path, e))?;
    }
    // never past the cap, even if the file grows while it is read
    let mut f =
        f.take(limit.unwrap_or(crate::layout::store::SESSIONS_CAP + 1 - start.min(crate::layout::store::SESSIONS_CAP)));
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut eof = false;
    let mut fill = |buf: &mut Vec<u8>, want: usize, eof: &mut bool| -> Result<()> {
        // append without zero-filling first: `take` + `read_to_end` reads straight into spare capacity
        let got = (&mut f).take(want as u64).read_to_end(buf).map_err(|e| Error::io(path, e))?;
        if got < want {
            *eof = true;
        }
        Ok(())
    };
    fill(&mut buf, CHUNK, &mut eof)?;
    let mut pos = 0;
    if part != Part::Tail {
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(Error::bad(path, "starts with a UTF-8 byte-order mark, which OpenClaw's JSON.parse rejects"));
        }
        pos = json::skip_ws(&buf, 0);
        if pos >= buf.len() {
            return Err(Error::bad(path, "is empty"));
        }
        if buf[pos] != b'{' {
            return Err(Error::bad(path, "is not a JSON object (sessions.json maps session keys to entries)"));
        }
        pos += 1;
    }
    let mut consumed = start as usize; // file offset of buf[0]
    let block = if part == Part::Tail { TAIL_BLOCK } else { usize::MAX };
    let mut blocks = vec![];
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut first = true;
    loop {
        // Try to take one member at pos; on a scan failure that may be due to the chunk
        // boundary, read more and retry.
        type Step = Option<(std::result::Result<Session, (String, String)>, usize)>;
        let step = (|| -> std::result::Result<Step, json::ScanError> {
            let mut i = json::skip_ws(&buf, pos);
            if buf.get(i) == Some(&b'}') {
                return Ok(None);
            }
            if !first {
                if buf.get(i) != Some(&b',') {
                    return Err(json::ScanError { offset: i, what: "expected ',' or '}'" });
                }
                i = json::skip_ws(&buf, i + 1);
            }
            if buf.get(i) != Some(&b'"') {
                return Err(json::ScanError { offset: i, what: "expected a string key" });
            }
            let ke = json::skip_string(&buf, i)?;
            let c = json::skip_ws(&buf, ke);
            if buf.get(c) != Some(&b':') {
                return Err(json::ScanError { offset: c, what: "expected ':'" });
            }
            let vs = json::skip_ws(&buf, c + 1);
            let mut key = json::Member { key: i..ke, value: vs..vs }.key_str(&buf)?;
            // One pass over the entry when it surely lies within this chunk; near the chunk's
            // end (or for a malformed entry) find its end first, then summarize it.
            if buf.get(vs) == Some(&b'{') && (eof || buf.len() - vs > FAST_MARGIN) {
                match summarize_at(key, &buf, vs) {
                    Ok((sess, end)) => return Ok(Some((Ok(sess), end))),
                    Err((k, _)) => key = k,
                }
            }
            let ve = json::skip_value(&buf, vs)?;
            if ve >= buf.len() && !(eof && part == Part::Head) {
                // a scalar running into the end of the chunk may continue in the next one
                return Err(json::ScanError { offset: ve, what: "unexpected end of input" });
            }
            Ok(Some((summarize_keyed(key, &buf[vs..ve]), ve)))
        })();
        match step {
            Ok(None) if part == Part::Head => {
                return Err(Error::bad(path, "the object closes before the split point"));
            }
            Ok(None) => {
                let end = json::skip_ws(&buf, pos);
                let after = json::skip_ws(&buf, end + 1);
                if after < buf.len() {
                    return Err(Error::bad(
                        path,
                        format!("trailing characters after the JSON object at byte {}", consumed + after),
                    ));
                }
                if !eof {
                    // more bytes after the closing brace?
                    buf.drain(..end + 1);
                    consumed += end + 1;
                    fill(&mut buf, CHUNK, &mut eof)?;
                    if json::skip_ws(&buf, 0) < buf.len() {
                        return Err(Error::bad(
                            path,
                            format!("trailing characters after the JSON object at byte {consumed}"),
                        ));
                    }
                }
                break;
            }
            Ok(Some((summary, end))) => {
                match summary {
                    Ok(sess) => {
                        if out.len() == block {
                            blocks.push(std::mem::replace(&mut out, Vec::with_capacity(block)));
                        }
                        out.push(sess)
                    }
                    Err((key, e)) => warnings.push(format!("{}: session '{key}': {e}; skipped", path.display())),
                }
                pos = end;
                first = false;
            }
            Err(e) => {
                if eof && part == Part::Head && json::skip_ws(&buf, pos) == buf.len() && !first {
                    // the head ends exactly at the split
                    break;
                }
                if eof {
                    return Err(Error::bad(
                        path,
                        format!("is not valid JSON: {} at byte {}", e.what, consumed + e.offset),
                    ));
                }
                // keep the unfinished member, read more (grow when one entry exceeds a chunk)
                buf.drain(..pos);
                consumed += pos;
                pos = 0;
                let want = CHUNK.max(buf.len());
                fill(&mut buf, want, &mut eof)?;
            }
        }
    }
    blocks.push(out);
    Ok((blocks, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        let mut m = serde_json::Map::new();
        for i in 0..30_000 {
            m.insert(
                format!("agent:main:telegram:direct:{i}"),
                serde_json::json!({"sessionId": format!("s{i}"), "updatedAt": i, "authProfileOverride": if i % 7 == 0 { Value::from("p") } else { Value::Null }, "blob": "x".repeat(i % 300)}),
            );
        }
        std::fs::write(&p, json::to_bytes(&Value::Object(m), json::Style::SESSIONS_FILE)).unwrap();
        let (s, w) = read_sessions_file(&p).unwrap();
        assert!(w.is_empty());
        assert_eq!(s.len(), 30_000);
        assert_eq!(s[29_999].updated_at, Some(29_999));
        assert_eq!(s.iter().filter(|x| x.pin.is_some()).count(), 30_000 / 7 + 1);
    }

    #[test]
    fn large_native_files_are_read_in_two_halves_with_the_same_result() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        let mut m = serde_json::Map::new();
        for i in 0..40_000 {
            // values that look like the split marker inside strings and nested objects
            m.insert(
                format!("agent:main:k{i}"),
                serde_json::json!({"updatedAt": i, "note": ",\n  \"not a member", "nested": {"a": {"b": [i, {"c": "}"}]}}, "blob": "y".repeat(400)}),
            );
        }
        std::fs::write(&p, json::to_bytes(&Value::Object(m), json::Style::SESSIONS_FILE)).unwrap();
        assert!(std::fs::metadata(&p).unwrap().len() > PARALLEL_MIN);
        assert!(split_point(&p).is_some());
        let (s, w) = read_sessions_file(&p).unwrap();
        let (one, w1) = scan(&p, 0, None, Part::Whole).unwrap();
        let one = one_block(one);
        assert!(w.is_empty() && w1.is_empty());
        assert_eq!(s.len(), 40_000);
        let keys: Vec<&String> = s.iter().map(|x| &x.key).collect();
        let keys1: Vec<&String> = one.iter().map(|x| &x.key).collect();
        assert_eq!(keys, keys1);
        assert_eq!(s[39_999].updated_at, Some(39_999));
        // a damaged second half is still reported precisely
        let mut b = std::fs::read(&p).unwrap();
        let at = b.len() * 3 / 4;
        b.truncate(at);
        std::fs::write(&p, &b).unwrap();
        let e = read_sessions_file(&p).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn plain_values_decode_as_serde_does_and_the_rest_falls_back_to_it() {
        // decoded without serde: equal to what serde makes of the same text
        for t in [
            "\"openai\"",
            "\"\"",
            "\"caf\u{e9}\"",
            "null",
            "true",
            "false",
            "0",
            "7",
            "1777631806000",
            "99999999999999999",
        ] {
            let serde: Value = serde_json::from_str(t).unwrap();
            assert_eq!(Field::plain(t.as_bytes()).map(|f| f.value()), Some(serde), "{t}");
        }
        // left to serde: escapes, control bytes, signs, fractions, leading zeros, huge numbers,
        // containers, and text that is not JSON (serde's error names the field)
        for t in
            ["\"a\\nb\"", "\"a\tb\"", "-1", "1.5", "1e3", "01", "123456789012345678901", "{}", "[1]", "nul", "\"open"]
        {
            assert!(Field::plain(t.as_bytes()).is_none(), "{t}");
        }
        assert!(Field::plain(b"\"\xff\"").is_none());
        let e = summarize("k", br#"{"model": 01}"#).unwrap_err();
        assert!(e.starts_with("`model`: "), "{e}");
        let s = summarize("k", br#"{"model":"gpt-5.5","updatedAt":1777631806000,"label":"a\u0041"}"#).unwrap();
        assert_eq!(
            (s.model.as_deref(), s.updated_at, s.label.as_deref()),
            (Some("gpt-5.5"), Some(1777631806000), Some("aA"))
        );
    }

    #[test]
    fn truncated_file_is_an_error_naming_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        std::fs::write(&p, b"{\n  \"a\": {\"x\": 1},\n  \"b\": {\"x\": ").unwrap();
        let e = read_sessions_file(&p).unwrap_err().to_string();
        assert!(e.contains("sessions.json") && e.contains("not valid JSON"), "{e}");
        std::fs::write(&p, b"{\"a\": 1, \"b\": {}}").unwrap();
        let (s, w) = read_sessions_file(&p).unwrap();
        assert_eq!(s.len(), 1);
        assert!(w[0].contains("'a'"), "{w:?}");
    }
}
