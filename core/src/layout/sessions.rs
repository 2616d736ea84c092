//! Reading sessions fast and in bounded memory. `sessions.json` is one flat object that real
//! installs grow to tens of megabytes; it is streamed in chunks, each entry's byte span found
//! by the scanner and only the fields clawauth needs deserialized. Nothing builds a full
//! `serde_json::Value` of the file.

use crate::error::{Error, Result};
use crate::json;
use crate::model::Session;
use rusqlite::OptionalExtension;
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
fn summarize_keyed(key: String, bytes: &[u8]) -> std::result::Result<Session, (String, String)> {
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

/// What an agent database's `session_nodes` table holds: the sessions, warnings, and the
/// rows OpenClaw would refuse to run.
#[derive(Debug, Default)]
pub struct Nodes {
    pub sessions: Vec<Session>,
    pub warnings: Vec<String>,
    pub invalid: Vec<crate::model::InvalidRow>,
}

/// The validity column to read: releases before the flag have none to check (`1`).
fn validity_expr(db: &crate::layout::store::RoDb) -> Result<&'static str> {
    let has_flag = db
        .conn
        .query_row("SELECT count(*) FROM pragma_table_info('session_nodes') WHERE name = 'entry_valid'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| Error::sqlite(&db.path, e))?
        > 0;
    Ok(if has_flag { "entry_valid" } else { "1" })
}

/// Whether OpenClaw would refuse a row: its flag is 0 when it changed since OpenClaw last
/// validated it (its triggers reset the flag); -1 is OpenClaw's own placeholder for a retired
/// row, valid as it is.
fn check_row(db: &crate::layout::store::RoDb, out: &mut Nodes, key: &str, json: &[u8], valid: i64) -> Result<()> {
    if valid == 0 {
        let problem = match crate::layout::session_row::read(&db.conn, &db.path, key)? {
            Some(r) => crate::layout::session_row::check(&r, json, r.updated_at).err(),
            None => Some("the row vanished while reading".into()),
        };
        out.invalid.push(crate::model::InvalidRow { db: db.path.clone(), key: key.to_string(), problem });
    }
    Ok(())
}

/// One row's summary, or the warning that says why OpenClaw's JSON.parse would not read it.
fn summarize_row(db_path: &Path, key: String, json: &[u8]) -> std::result::Result<Session, String> {
    summarize_keyed(key, json).map_err(|(key, e)| format!("{}#session_nodes[{key}]: {e}; skipped", db_path.display()))
}

/// Add one row to `out`: whether OpenClaw would refuse it, and its summary (or a warning).
fn take_row(db: &crate::layout::store::RoDb, out: &mut Nodes, key: String, json: &[u8], valid: i64) -> Result<()> {
    check_row(db, out, &key, json, valid)?;
    match summarize_row(&db.path, key, json) {
        Ok(s) => out.sessions.push(s),
        Err(w) => out.warnings.push(w),
    }
    Ok(())
}

/// Rows copied out of SQLite to be summarized on either thread of `read_session_nodes`.
struct Batch {
    seq: usize,
    keys: Vec<String>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// Rows per batch: large enough that handing one over costs nothing beside summarizing it,
/// small enough that both threads stay busy to the end.
const BATCH_ROWS: usize = 512;

/// What one thread of `read_session_nodes` summarized: sessions, warnings by batch, and the
/// emptied batch, whose buffers the reading thread fills again.
#[derive(Default)]
struct Summaries {
    sessions: Vec<Session>,
    warnings: Vec<(usize, String)>,
    spare: Option<Batch>,
}

impl Batch {
    /// Batch `seq`, in the buffers of an emptied one when there is one.
    fn new(seq: usize, spare: Option<Batch>) -> Batch {
        match spare {
            Some(b) => Batch { seq, ..b },
            None => Batch {
                seq,
                keys: Vec::with_capacity(BATCH_ROWS),
                bytes: Vec::with_capacity(BATCH_ROWS << 10),
                ends: Vec::with_capacity(BATCH_ROWS),
            },
        }
    }

    /// Summarize the rows into `out`; the batch is left empty, its buffers kept.
    fn summarize_into(&mut self, db_path: &Path, out: &mut Summaries) {
        let mut start = 0;
        for (key, end) in self.keys.drain(..).zip(self.ends.drain(..)) {
            match summarize_row(db_path, key, &self.bytes[start..end]) {
                Ok(s) => out.sessions.push(s),
                Err(w) => out.warnings.push((self.seq, w)),
            }
            start = end;
        }
        self.bytes.clear();
    }
}

/// Sessions from an agent database's `session_nodes` table.
///
/// SQLite hands rows out on this thread; summarizing them costs several times more, so rows
/// are copied out in batches and a second thread summarizes every batch it is free to take
/// (a bounded hand-off: when it is busy, this thread summarizes the batch itself). Both
/// threads stay busy on a large table; a small one never starts the second. Summaries are
/// sorted by key and warnings kept in row order, so the result is the same as one thread's.
pub fn read_session_nodes(db: &crate::layout::store::RoDb) -> Result<Nodes> {
    use std::sync::mpsc::{sync_channel, TrySendError};
    let mut out = Nodes::default();
    if !db.has_table("session_nodes")? {
        return Ok(out);
    }
    let flag = validity_expr(db)?;
    // in the table's own (rowid) order: `ORDER BY session_key` walks the key index and looks
    // every row up, visiting each table page once per row on it; sorted in memory instead
    let mut stmt = db
        .conn
        .prepare(&format!("SELECT session_key, entry_json, {flag} FROM session_nodes"))
        .map_err(|e| Error::sqlite(&db.path, e))?;
    let mut rows = stmt.query([]).map_err(|e| Error::sqlite(&db.path, e))?;
    let sq = |e: rusqlite::Error| Error::sqlite(&db.path, e);
    let path = db.path.as_path();
    let mut mine = Summaries::default();
    // the other thread's summaries come back batch by batch and are moved into this thread's
    // vector at once: its small buffers are reused for its next batches, and this one grows in
    // place where the allocator can (large blocks are remapped, not copied), so the peak stays
    // near one copy of the summaries
    let (back_tx, back) = std::sync::mpsc::channel::<Summaries>();
    let mut spares: Vec<Batch> = vec![];
    let absorb = |mine: &mut Summaries, t: Summaries, spares: &mut Vec<Batch>| {
        mine.sessions.extend(t.sessions);
        mine.warnings.extend(t.warnings);
        spares.extend(t.spare);
    };
    std::thread::scope(|sc| -> Result<()> {
        let mut helper = None;
        let mut batch = Batch::new(0, None);
        loop {
            let row = rows.next().map_err(sq)?;
            if let Some(r) = row {
                let key = r.get::<_, String>(0).map_err(sq)?;
                // borrowed, not copied; UTF-8 is checked as `String` would (a row that is not fails)
                let json = r.get_ref(1).map_err(sq)?.as_str().map_err(|e| Error::sqlite(&db.path, e))?.as_bytes();
                let valid = r.get::<_, i64>(2).map_err(sq)?;
                check_row(db, &mut out, &key, json, valid)?;
                batch.bytes.extend_from_slice(json);
                batch.ends.push(batch.bytes.len());
                batch.keys.push(key);
                if batch.keys.len() < BATCH_ROWS {
                    continue;
                }
            }
            let last = row.is_none();
            let seq = batch.seq;
            while let Ok(t) = back.try_recv() {
                absorb(&mut mine, t, &mut spares);
            }
            let mut full = std::mem::replace(&mut batch, Batch::new(seq + 1, spares.pop()));
            if last {
                full.summarize_into(path, &mut mine);
                break;
            }
            let (tx, _) = helper.get_or_insert_with(|| {
                let (tx, rx) = sync_channel::<Batch>(1);
                let back_tx = back_tx.clone();
                let h = sc.spawn(move || {
                    for mut b in rx {
                        let mut t = Summaries { sessions: Vec::with_capacity(b.keys.len()), ..Default::default() };
                        b.summarize_into(path, &mut t);
                        t.spare = Some(b);
                        if back_tx.send(t).is_err() {
                            break;
                        }
                    }
                });
                (tx, h)
            });
            match tx.try_send(full) {
                Ok(()) => {}
                Err(TrySendError::Full(mut b)) | Err(TrySendError::Disconnected(mut b)) => {
                    b.summarize_into(path, &mut mine);
                    spares.push(b);
                }
            }
        }
        if let Some((tx, h)) = helper {
            drop(tx);
            h.join().expect("a summarizing thread does not panic");
        }
        Ok(())
    })?;
    drop(back_tx);
    for t in back {
        absorb(&mut mine, t, &mut spares);
    }
    // stable: a batch's warnings stay in row order
    mine.warnings.sort_by_key(|w| w.0);
    out.warnings.extend(mine.warnings.into_iter().map(|w| w.1));
    out.sessions = mine.sessions;
    out.sessions.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The keys of `session_nodes` equal to `key` up to ASCII case (`eq_ignore_ascii_case`, as
/// `workflow::session_keys` matches them: a chat under a legacy lower-cased key beside its exact
/// key), in key order. Found by walking the primary-key index one letter at a time, each case
/// of a letter kept only while some key starts with the prefix so far: about two index probes
/// per letter, however many rows the table holds.
pub fn case_variants(db: &crate::layout::store::RoDb, key: &str) -> Result<Vec<String>> {
    let sq = |e: rusqlite::Error| Error::sqlite(&db.path, format!("session_nodes: {e}"));
    let mut exact = db.conn.prepare("SELECT 1 FROM session_nodes WHERE session_key = ?1").map_err(sq)?;
    let mut prefix = db
        .conn
        .prepare("SELECT 1 FROM session_nodes WHERE session_key >= ?1 AND session_key < ?2 LIMIT 1")
        .map_err(sq)?;
    let k = key.as_bytes();
    let mut out = vec![];
    // prefixes some key starts with; each ends at a char boundary of `key` (after an ASCII letter)
    let mut todo: Vec<Vec<u8>> = vec![vec![]];
    while let Some(mut p) = todo.pop() {
        while p.len() < k.len() && !k[p.len()].is_ascii_alphabetic() {
            p.push(k[p.len()]);
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("cut at an ASCII byte of a str");
        if p.len() == k.len() {
            if exact.exists([text(&p)]).map_err(sq)? {
                out.push(text(&p));
            }
            continue;
        }
        let c = k[p.len()];
        let mut cases = vec![c.to_ascii_lowercase(), c.to_ascii_uppercase()];
        cases.dedup();
        for c in cases {
            let mut lo = p.clone();
            lo.push(c);
            // every key starting with `lo` sorts in [lo, lo with its last byte + 1): BINARY
            // collation compares bytes, and a letter + 1 is still ASCII
            let mut hi = lo.clone();
            *hi.last_mut().expect("non-empty") += 1;
            if prefix.exists([text(&lo), text(&hi)]).map_err(sq)? {
                todo.push(lo);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The rows of one chat (its key up to ASCII case, `case_variants`), read by key: what a
/// one-session repair needs, in time independent of the number of sessions. `None` when no
/// key matches a readable entry: the caller reads the store whole, for the error that says how
/// many sessions it holds.
pub fn read_session_nodes_by_key(db: &crate::layout::store::RoDb, key: &str) -> Result<Option<Nodes>> {
    let mut out = Nodes::default();
    if !db.has_table("session_nodes")? {
        return Ok(None);
    }
    let flag = validity_expr(db)?;
    let keys = case_variants(db, key)?;
    if keys.is_empty() {
        return Ok(None);
    }
    let mut stmt = db
        .conn
        .prepare(&format!("SELECT entry_json, {flag} FROM session_nodes WHERE session_key = ?1"))
        .map_err(|e| Error::sqlite(&db.path, e))?;
    for k in keys {
        let row = stmt
            .query_row([&k], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .optional()
            .map_err(|e| Error::sqlite(&db.path, e))?;
        // a row deleted between the probe and this read is as absent as in a full read
        if let Some((json, valid)) = row {
            take_row(db, &mut out, k, json.as_bytes(), valid)?;
        }
    }
    Ok((!out.sessions.is_empty()).then_some(out))
}

/// Whether any session of `session_nodes` carries a `user-link` pin, as a full read would
/// summarize it. SQLite's own scan keeps only rows that can hold the value (the literal, or an
/// escape that could spell it); those few are summarized exactly as `read_session_nodes` does.
pub fn any_user_link(db: &crate::layout::store::RoDb) -> Result<bool> {
    if !db.has_table("session_nodes")? {
        return Ok(false);
    }
    let mut stmt = db
        .conn
        .prepare(
            "SELECT session_key, entry_json FROM session_nodes \
             WHERE instr(entry_json, 'user-link') > 0 OR instr(entry_json, char(92)) > 0",
        )
        .map_err(|e| Error::sqlite(&db.path, e))?;
    let mut rows = stmt.query([]).map_err(|e| Error::sqlite(&db.path, e))?;
    while let Some(r) = rows.next().map_err(|e| Error::sqlite(&db.path, e))? {
        let (key, json): (String, String) =
            (r.get(0).map_err(|e| Error::sqlite(&db.path, e))?, r.get(1).map_err(|e| Error::sqlite(&db.path, e))?);
        if summarize(&key, json.as_bytes()).is_ok_and(|s| s.pin_source.as_deref() == Some("user-link")) {
            return Ok(true);
        }
    }
    Ok(false)
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

    /// A `session_nodes` table (the columns the readers use) holding `rows` (key, entry).
    fn nodes_db(dir: &Path, rows: &[(&str, &str)]) -> crate::layout::store::RoDb {
        let p = dir.join("agent.sqlite");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, entry_json TEXT NOT NULL, \
             entry_valid INTEGER NOT NULL DEFAULT 1)",
        )
        .unwrap();
        let t = c.unchecked_transaction().unwrap();
        for (k, e) in rows {
            t.execute("INSERT INTO session_nodes (session_key, entry_json) VALUES (?1, ?2)", [k, e]).unwrap();
        }
        t.commit().unwrap();
        drop(c);
        crate::layout::store::open_ro(&p).unwrap()
    }

    #[test]
    fn case_variants_are_exactly_the_keys_equal_up_to_ascii_case() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys: Vec<String> = vec![
            "agent:main:telegram:direct:Ab1",
            "agent:main:telegram:direct:ab1",
            "Agent:Main:Telegram:Direct:AB1",
            "agent:main:telegram:direct:ab",
            "agent:main:telegram:direct:ab10",
            "agent:main:telegram:direct:ab[",
            "agent:main:telegram:direct:aC1",
            "agent:main:télégram:x",
            "agent:main:TéLégram:x",
            "agent:main:tÉlégram:x",
            "agent:main:main",
            "1234",
            "",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        // and a crowd of near misses sharing long prefixes
        for i in 0..2_000 {
            keys.push(format!("agent:main:telegram:direct:{}{i}", if i % 2 == 0 { "A" } else { "a" }));
        }
        let rows: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "{}")).collect();
        let db = nodes_db(dir.path(), &rows);
        let mut probes: Vec<String> = keys.iter().take(13).cloned().collect();
        probes.extend(
            ["AGENT:MAIN:TELEGRAM:DIRECT:AB1", "agent:main:TÉLÉGRAM:X", "agent:main:telegram:direct:a7", "nope"]
                .map(String::from),
        );
        for q in probes {
            let mut want: Vec<String> = keys.iter().filter(|k| k.eq_ignore_ascii_case(&q)).cloned().collect();
            want.sort();
            assert_eq!(case_variants(&db, &q).unwrap(), want, "variants of {q:?}");
        }
        assert_eq!(case_variants(&db, "agent:main:telegram:direct:ab1").unwrap().len(), 3);
        assert_eq!(
            case_variants(&db, "agent:main:télégram:X").unwrap(),
            vec!["agent:main:TéLégram:x", "agent:main:télégram:x"]
        );
    }

    #[test]
    fn one_chat_is_read_by_key_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = nodes_db(
            dir.path(),
            &[
                (
                    "agent:main:a",
                    r#"{"sessionId":"s1","updatedAt":1,"authProfileOverride":"p","authProfileOverrideSource":"user"}"#,
                ),
                ("agent:main:A", r#"{"sessionId":"s2","updatedAt":2}"#),
                ("agent:main:b", "not json"),
            ],
        );
        let n = read_session_nodes_by_key(&db, "AGENT:MAIN:A").unwrap().unwrap();
        let keys: Vec<&str> = n.sessions.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["agent:main:A", "agent:main:a"]);
        assert_eq!(n.sessions[1].pin.as_deref(), Some("p"));
        assert_eq!(n.sessions[1].pin_source.as_deref(), Some("user"));
        // the broken row of another chat is never read (a full read warns about it)
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        assert_eq!(read_session_nodes(&db).unwrap().warnings.len(), 1);
        assert!(read_session_nodes_by_key(&db, "agent:main:c").unwrap().is_none());
        // a chat whose one row cannot be read is no chat: the caller reads the store whole
        assert!(read_session_nodes_by_key(&db, "agent:main:b").unwrap().is_none());
    }

    #[test]
    fn a_large_table_read_on_two_threads_is_what_one_row_at_a_time_reads() {
        let dir = tempfile::tempdir().unwrap();
        // many batches; keys in the reverse of row order; broken rows scattered through them
        let n = 20 * BATCH_ROWS + 7;
        let keys: Vec<String> = (0..n).rev().map(|i| format!("agent:main:telegram:direct:{i:06}")).collect();
        let entries: Vec<String> = (0..n)
            .map(|i| match i % 613 {
                5 => "{\"updatedAt\": 1,".to_string(),
                9 => "[]".to_string(),
                _ => format!(
                    r#"{{"sessionId":"s{i}","updatedAt":{i},"chatType":"direct","authProfileOverride":{},"blob":"{}"}}"#,
                    if i % 7 == 0 { r#""openai:p""# } else { "null" },
                    "x".repeat(i % 900)
                ),
            })
            .collect();
        let rows: Vec<(&str, &str)> = keys.iter().zip(&entries).map(|(k, e)| (k.as_str(), e.as_str())).collect();
        let db = nodes_db(dir.path(), &rows);
        let got = read_session_nodes(&db).unwrap();
        let (mut want, mut warned) = (vec![], vec![]);
        for (k, e) in &rows {
            match summarize_row(&db.path, k.to_string(), e.as_bytes()) {
                Ok(s) => want.push(s),
                Err(w) => warned.push(w),
            }
        }
        want.sort_by(|a, b| a.key.cmp(&b.key));
        assert!(warned.len() >= 30, "{}", warned.len());
        assert_eq!(got.warnings, warned, "warnings in row order");
        assert_eq!(got.sessions.len(), want.len());
        for (g, w) in got.sessions.iter().zip(&want) {
            assert_eq!(format!("{g:?}"), format!("{w:?}"));
        }
        assert_eq!(
            got.sessions.iter().filter(|s| s.pin.is_some()).count(),
            want.iter().filter(|s| s.pin.is_some()).count()
        );
    }

    #[test]
    fn a_user_link_pin_is_found_as_a_full_read_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let pin = |src: &str| {
            format!(r#"{{"sessionId":"s","updatedAt":1,"authProfileOverride":"p","authProfileOverrideSource":{src}}}"#)
        };
        for (entries, want) in [
            (vec![pin(r#""user""#), pin(r#""auto""#)], false),
            // named elsewhere, not as the pin's source
            (vec![pin(r#""user""#), r#"{"sessionId":"s","updatedAt":1,"label":"user-link"}"#.into()], false),
            (vec![pin(r#""user""#), pin(r#""user-link""#)], true),
            // spelled with an escape: JSON.parse reads user-link
            (vec![pin(r#""user\u002dlink""#)], true),
            (vec![pin(r#""user\u002dlinked""#)], false),
        ] {
            let d = tempfile::tempdir_in(dir.path()).unwrap();
            let keys: Vec<String> = (0..entries.len()).map(|i| format!("k{i}")).collect();
            let rows: Vec<(&str, &str)> = keys.iter().zip(&entries).map(|(k, e)| (k.as_str(), e.as_str())).collect();
            let db = nodes_db(d.path(), &rows);
            let full =
                read_session_nodes(&db).unwrap().sessions.iter().any(|s| s.pin_source.as_deref() == Some("user-link"));
            assert_eq!(full, want, "{entries:?}");
            assert_eq!(any_user_link(&db).unwrap(), want, "{entries:?}");
        }
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
