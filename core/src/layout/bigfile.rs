//! A JSON object file too large to hold in memory (a `sessions.json` of 100k chats): indexed by
//! one streaming pass over its top-level members (keys kept, values located by offset, never
//! parsed), values read back by offset, and edits turned into splices — the re-serialized bytes
//! of the few spans that change — for a writer to stream into a copy (`txn::docio`). Memory is
//! the index (tens of bytes per member) plus one read buffer, whatever the file's size.
//!
//! An index is kept per process and reused while the file is provably the one indexed: same
//! device and inode (the index holds the file open, so its inode cannot be reused), size, and
//! modification and change times. OpenClaw replaces these files by rename, which changes the
//! inode; an in-place write changes the times.

use crate::json::{self, Edit, Style, Unit};
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// `sessions.json` files at least this large are streamed rather than read whole.
pub const STREAM_MIN: u64 = 8 << 20;
static THRESHOLD: AtomicU64 = AtomicU64::new(STREAM_MIN);

/// Take the streaming threshold from `CLAWAUTH_STREAM_MIN_BYTES` (tests run the streaming path
/// on small fixtures with it), else [`STREAM_MIN`].
pub fn configure(ctx: &crate::context::Context) {
    let n = ctx.var("CLAWAUTH_STREAM_MIN_BYTES").and_then(|v| v.parse().ok()).unwrap_or(STREAM_MIN);
    THRESHOLD.store(n, Ordering::Relaxed);
}

/// Whether the file at `path`, of `len` bytes, is read by streaming.
pub fn streams(path: &Path, len: u64) -> bool {
    path.file_name().is_some_and(|n| n == "sessions.json") && len >= THRESHOLD.load(Ordering::Relaxed)
}

const CHUNK: usize = 4 << 20;
/// Bytes kept from the head of the file, enough for [`Style::detect_head`].
const HEAD: usize = 4096 + 64;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Identity {
    pub fn of(m: &std::fs::Metadata) -> Self {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
    /// The same inode (not necessarily unchanged).
    pub fn same_file(&self, o: &Identity) -> bool {
        self.dev == o.dev && self.ino == o.ino
    }
}

#[derive(Debug, Clone)]
struct Member {
    /// The key's raw bytes between its quotes, in `BigFile::keys`.
    key: Range<usize>,
    escaped: bool,
    value: Range<u64>,
    /// 1-based line of the value's first byte.
    line: u64,
}

/// A streamed index of a large JSON object file.
#[derive(Debug)]
pub struct BigFile {
    pub path: PathBuf,
    /// The file as indexed, held open: every later read and copy is of these bytes.
    pub file: File,
    pub id: Identity,
    pub len: u64,
    pub root: Range<u64>,
    members: Vec<Member>,
    keys: Vec<u8>,
    head: Vec<u8>,
    last_byte: Option<u8>,
}

/// One replaced span: `span` of the file becomes `bytes`. `before` is what the span held when
/// planned (re-checked before the copy is put in place); `unit` is the re-serialized region.
#[derive(Debug, Clone)]
pub struct Splice {
    pub span: Range<u64>,
    pub bytes: Vec<u8>,
    pub before: Vec<u8>,
    pub unit: Unit,
    /// 1-based line of the span's first byte.
    pub line: u64,
}

static CACHE: Mutex<Vec<Arc<BigFile>>> = Mutex::new(Vec::new());

/// The index of the large file at `path` (`Ok(None)`: it does not stream — missing, small, not
/// a plain object in a form this scanner takes, or not valid — and the caller reads it whole,
/// which reports what is wrong exactly as for any file). Reused while the file is unchanged.
pub fn open(path: &Path) -> crate::error::Result<Option<Arc<BigFile>>> {
    let cap = crate::layout::store::cap_for(path);
    let Some((f, len)) = crate::layout::store::open_checked(path, cap)? else { return Ok(None) };
    if !streams(path, len) {
        return Ok(None);
    }
    let meta = f.metadata().map_err(|e| crate::error::Error::io(path, e))?;
    let id = Identity::of(&meta);
    {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = cache.iter().find(|b| b.path == path && b.id == id) {
            // the indexed descriptor must still see the same inode unchanged
            if b.file.metadata().map(|m| Identity::of(&m) == id).unwrap_or(false) {
                return Ok(Some(b.clone()));
            }
        }
    }
    let Some(big) = scan(path, f, id, CHUNK) else { return Ok(None) };
    let big = Arc::new(big);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|b| b.path != path);
    if cache.len() >= 4 {
        cache.remove(0);
    }
    cache.push(big.clone());
    Ok(Some(big))
}

/// Forget the index of `path` (after writing it).
pub fn forget(path: &Path) {
    CACHE.lock().unwrap_or_else(|e| e.into_inner()).retain(|b| b.path != path);
}

/// The streaming pass. `None` on anything it does not take (the caller reads the file whole).
fn scan(path: &Path, f: File, id: Identity, chunk: usize) -> Option<BigFile> {
    let len = id.size;
    let mut src = (&f).take(len);
    let mut buf: Vec<u8> = Vec::with_capacity(chunk);
    let mut eof = false;
    let mut fill = |buf: &mut Vec<u8>, want: usize, eof: &mut bool| -> Option<()> {
        let got = (&mut src).take(want as u64).read_to_end(buf).ok()?;
        if got < want {
            *eof = true;
        }
        Some(())
    };
    fill(&mut buf, chunk.max(HEAD), &mut eof)?;
    let head = buf[..buf.len().min(HEAD)].to_vec();
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return None;
    }
    let start = json::skip_ws(&buf, 0);
    if buf.get(start) != Some(&b'{') {
        return None;
    }
    let mut base: u64 = 0; // file offset of buf[0]
    let mut pos = start + 1;
    // bytes before `checked` (file offsets) are validated UTF-8 with their newlines counted
    let mut checked: u64 = 0;
    let mut line: u64 = 1;
    let check = |buf: &[u8], base: u64, upto: usize, checked: &mut u64, line: &mut u64, last: bool| -> Option<()> {
        let from = (*checked - base) as usize;
        if upto <= from {
            return Some(());
        }
        let region = &buf[from..upto];
        let ok = match std::str::from_utf8(region) {
            Ok(_) => region.len(),
            // a character cut by the chunk's end is checked with the next chunk
            Err(e) if e.error_len().is_none() && !last => e.valid_up_to(),
            Err(_) => return None,
        };
        *line += region[..ok].iter().filter(|&&b| b == b'\n').count() as u64;
        *checked += ok as u64;
        Some(())
    };
    let mut members: Vec<Member> = Vec::new();
    let mut keys: Vec<u8> = Vec::new();
    let mut first = true;
    let end = loop {
        // one member at `pos`; a scan failure short of the end of the file may be the chunk's
        // end: read more and retry
        let step = (|| -> Result<Option<(Range<usize>, Range<usize>)>, ()> {
            let mut i = json::skip_ws(&buf, pos);
            if buf.get(i) == Some(&b'}') {
                return Ok(None);
            }
            if !first {
                if buf.get(i) != Some(&b',') {
                    return Err(());
                }
                i = json::skip_ws(&buf, i + 1);
            }
            if buf.get(i) != Some(&b'"') {
                return Err(());
            }
            let ke = json::skip_string(&buf, i).map_err(|_| ())?;
            let c = json::skip_ws(&buf, ke);
            if buf.get(c) != Some(&b':') {
                return Err(());
            }
            let vs = json::skip_ws(&buf, c + 1);
            let ve = json::skip_value(&buf, vs).map_err(|_| ())?;
            if ve >= buf.len() && !eof {
                return Err(());
            }
            Ok(Some((i..ke, vs..ve)))
        })();
        match step {
            Ok(Some((k, v))) => {
                check(&buf, base, v.start, &mut checked, &mut line, false)?;
                let raw = &buf[k.start + 1..k.end - 1];
                let at = keys.len();
                keys.extend_from_slice(raw);
                members.push(Member {
                    key: at..keys.len(),
                    escaped: memchr::memchr(b'\\', raw).is_some(),
                    value: base + v.start as u64..base + v.end as u64,
                    line,
                });
                pos = v.end;
                first = false;
            }
            Ok(None) => break json::skip_ws(&buf, pos),
            Err(()) if eof => return None,
            Err(()) => {
                check(&buf, base, pos, &mut checked, &mut line, false)?;
                let from = (checked - base) as usize;
                buf.drain(..from);
                base = checked;
                pos -= from;
                let want = chunk.max(buf.len());
                fill(&mut buf, want, &mut eof)?;
            }
        }
    };
    let root = start as u64..base + end as u64 + 1;
    // nothing but whitespace after the closing brace, to the end of the file
    let ws = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let mut rest = end + 1;
    loop {
        if !buf[rest..].iter().all(ws) {
            return None;
        }
        if eof {
            break;
        }
        check(&buf, base, buf.len(), &mut checked, &mut line, false)?;
        let from = (checked - base) as usize;
        buf.drain(..from);
        base = checked;
        rest = 0;
        fill(&mut buf, chunk, &mut eof)?;
    }
    check(&buf, base, buf.len(), &mut checked, &mut line, true)?;
    if checked != len {
        return None;
    }
    let last_byte = buf.last().copied();
    members.shrink_to_fit();
    keys.shrink_to_fit();
    Some(BigFile { path: path.to_path_buf(), file: f, id, len, root, members, keys, head, last_byte })
}

impl BigFile {
    fn key_is(&self, m: &Member, key: &str) -> bool {
        let raw = &self.keys[m.key.clone()];
        if m.escaped {
            decode(raw).as_deref() == Some(key)
        } else {
            raw == key.as_bytes()
        }
    }

    fn key_of(&self, m: &Member) -> Option<String> {
        let raw = &self.keys[m.key.clone()];
        if m.escaped {
            decode(raw)
        } else {
            std::str::from_utf8(raw).ok().map(str::to_owned)
        }
    }

    /// How many members, and every key (decoded), in file order.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The members whose key equals `key` up to ASCII case, in file order: (key, value bytes).
    pub fn entries_like(&self, key: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
        let mut out = vec![];
        for m in &self.members {
            let raw = &self.keys[m.key.clone()];
            // an escaped key may decode to anything: decode it to compare
            if !m.escaped && !raw.eq_ignore_ascii_case(key.as_bytes()) {
                continue;
            }
            let Some(k) = self.key_of(m) else { continue };
            if k.eq_ignore_ascii_case(key) {
                out.push((k, self.read(m.value.clone())?));
            }
        }
        Ok(out)
    }

    /// Some key that appears twice (decoded), if any.
    pub fn duplicate_key(&self) -> Option<String> {
        use std::hash::{BuildHasher, Hasher};
        let hasher = std::collections::hash_map::RandomState::new();
        let mut hashes: Vec<(u64, usize)> = Vec::with_capacity(self.members.len());
        for (i, m) in self.members.iter().enumerate() {
            let mut h = hasher.build_hasher();
            match self.key_of(m) {
                Some(k) => h.write(k.as_bytes()),
                None => h.write(&self.keys[m.key.clone()]),
            }
            hashes.push((h.finish(), i));
        }
        hashes.sort_unstable();
        for w in hashes.windows(2) {
            if w[0].0 == w[1].0 {
                let (a, b) = (self.key_of(&self.members[w[0].1]), self.key_of(&self.members[w[1].1]));
                if a.is_some() && a == b {
                    return a;
                }
            }
        }
        None
    }

    /// The last member with `key` (as `JSON.parse` keeps), and how many there are.
    fn member(&self, key: &str) -> (Option<&Member>, usize) {
        let mut found = None;
        let mut n = 0;
        for m in &self.members {
            if self.key_is(m, key) {
                found = Some(m);
                n += 1;
            }
        }
        (found, n)
    }

    /// The bytes of `span` of the indexed file.
    pub fn read(&self, span: Range<u64>) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0u8; (span.end - span.start) as usize];
        self.file.read_exact_at(&mut out, span.start)?;
        Ok(out)
    }

    /// The whole file (for the rare change that rewrites the root object).
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        self.read(0..self.len)
    }

    /// The document's layout, as `Style::detect` reads it off the whole file.
    pub fn style(&self) -> Style {
        Style::detect_head(&self.head, self.len as usize, self.last_byte == Some(b'\n'))
    }

    /// The value at `pointer` (`Err(None)`: the whole document is asked for, which is not
    /// streamed; the caller reads the file whole).
    pub fn get(&self, pointer: &str) -> Result<Option<Value>, Option<String>> {
        let segs = json::split_pointer(pointer);
        let Some((first, rest)) = segs.split_first() else { return Err(None) };
        let (Some(m), _) = self.member(first) else { return Ok(None) };
        let b = self.read(m.value.clone()).map_err(|e| Some(e.to_string()))?;
        match json::find_span(&b, 0..b.len(), rest).map_err(|e| Some(self.at(&e, m.value.start)))? {
            None => Ok(None),
            Some(r) => serde_json::from_slice(&b[r]).map(Some).map_err(|e| Some(e.to_string())),
        }
    }

    fn at(&self, e: &json::ScanError, base: u64) -> String {
        format!("{} at byte {}", e.what, base + e.offset as u64)
    }

    /// The splices that apply `edits`, each re-serializing the smallest existing object that
    /// encloses its edits, as `json::apply_edits_indexed` does on the whole document. `Ok(None)`
    /// when an edit needs the root object re-serialized (a session added or removed): the
    /// caller edits the whole document instead.
    pub fn splices(&self, edits: &[Edit]) -> Result<Option<Vec<Splice>>, String> {
        let style = self.style();
        // edits grouped by their top-level member, in first-seen order
        let mut groups: Vec<(&Member, Vec<Edit>)> = vec![];
        for e in edits {
            let segs = json::split_pointer(&e.pointer);
            if segs.len() < 2 {
                return Ok(None);
            }
            let (m, n) = self.member(&segs[0]);
            if n > 1 {
                return Err(json::duplicate_error(&segs[0]));
            }
            let Some(m) = m else { return Ok(None) };
            let pointer: String = segs[1..].iter().map(|s| format!("/{}", json::escape_token(s))).collect();
            let rel = Edit { pointer, value: e.value.clone(), position: e.position };
            match groups.iter_mut().find(|(g, _)| std::ptr::eq(*g, m)) {
                Some((_, v)) => v.push(rel),
                None => groups.push((m, vec![rel])),
            }
        }
        let mut out = vec![];
        for (m, rel) in groups {
            let b = self.read(m.value.clone()).map_err(|e| e.to_string())?;
            if !matches!(b.first(), Some(b'{') | Some(b'[')) {
                // a scalar entry: the edit would create a container in its place at the root
                return Ok(None);
            }
            let idx = json::index(&b).map_err(|e| self.at(&e, m.value.start))?;
            let key = self.key_of(m).ok_or("invalid key")?;
            for mut u in json::units_indexed(&b, &idx, &rel)? {
                let mut bytes = Vec::new();
                json::write_value(&mut bytes, &u.after, style.indent, u.segs.len() + 1);
                let before = b[u.span.clone()].to_vec();
                let line = m.line + memchr::memchr_iter(b'\n', &b[..u.span.start]).count() as u64;
                let span = m.value.start + u.span.start as u64..m.value.start + u.span.end as u64;
                u.segs.insert(0, key.clone());
                u.span = span.start as usize..span.end as usize;
                out.push(Splice { span, bytes, before, unit: u, line });
            }
        }
        out.sort_by_key(|s| s.span.start);
        Ok(Some(out))
    }

    /// The text between the start of the line holding `at` and `at` (at most 64 KiB of it).
    pub fn line_prefix(&self, at: u64) -> String {
        let from = at.saturating_sub(64 << 10);
        let b = self.read(from..at).unwrap_or_default();
        let start = b.iter().rposition(|&c| c == b'\n').map(|i| i + 1).unwrap_or(0);
        String::from_utf8_lossy(&b[start..]).into_owned()
    }
}

fn decode(raw: &[u8]) -> Option<String> {
    let mut q = Vec::with_capacity(raw.len() + 2);
    q.push(b'"');
    q.extend_from_slice(raw);
    q.push(b'"');
    serde_json::from_slice::<String>(&q).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn big_of(bytes: &[u8], chunk: usize) -> Option<BigFile> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        std::fs::write(&p, bytes).unwrap();
        let f = File::open(&p).unwrap();
        let id = Identity::of(&f.metadata().unwrap());
        scan(&p, f, id, chunk)
    }

    /// What the streamed splices make of `doc`, as one byte string.
    fn spliced(big: &BigFile, edits: &[Edit]) -> Option<Vec<u8>> {
        let all = big.read_all().unwrap();
        let sp = big.splices(edits).unwrap()?;
        let mut out = vec![];
        let mut at = 0;
        for s in &sp {
            out.extend_from_slice(&all[at..s.span.start as usize]);
            out.extend_from_slice(&s.bytes);
            assert_eq!(&all[s.span.start as usize..s.span.end as usize], &s.before[..]);
            at = s.span.end as usize;
        }
        out.extend_from_slice(&all[at..]);
        Some(out)
    }

    #[test]
    fn splices_equal_whole_document_edits_at_every_chunk_size() {
        let v = json!({
            "agent:main:main": {"updatedAt": 1, "authProfileOverride": "a", "deep": {"x": [1, {"y": "\u{e9}\n"}]}},
            "agent:main:\"odd\"": {"updatedAt": 2},
            "agent:main:é": {"updatedAt": 3, "k": "v"},
            "scalar": 5
        });
        let mut doc = json::to_bytes(&v, Style::SESSIONS_FILE);
        doc.extend_from_slice(b"\n  \n");
        let edits = [
            vec![Edit::new("/agent:main:main/authProfileOverride", Some(json!("b")))],
            vec![Edit::new("/agent:main:main/authProfileOverride", None), Edit::new("/agent:main:é/k", None)],
            vec![Edit::new("/agent:main:main/deep/x/1/y", Some(json!(7)))],
            vec![Edit::new("/agent:main:main/new/a", Some(json!({"b": 1})))],
            vec![Edit { pointer: "/agent:main:\"odd\"/p".into(), value: Some(json!(1)), position: Some(0) }],
        ];
        for chunk in [1, 2, 7, 64, 1 << 20] {
            let big = big_of(&doc, chunk).unwrap_or_else(|| panic!("chunk {chunk}"));
            assert_eq!(big.member_count(), 4);
            assert_eq!(big.get("/agent:main:é/k").unwrap(), Some(json!("v")));
            assert_eq!(big.get("/agent:main:\"odd\"/updatedAt").unwrap(), Some(json!(2)));
            assert_eq!(big.get("/nope/x").unwrap(), None);
            assert_eq!(big.get("").unwrap_err(), None);
            for e in &edits {
                let want = json::apply_edits(&doc, Style::SESSIONS_FILE, e).unwrap();
                assert_eq!(spliced(&big, e).unwrap(), want, "chunk {chunk}, {e:?}");
            }
            // a session added or removed rewrites the root: not streamed
            assert!(spliced(&big, &[Edit::new("/agent:main:new/x", Some(json!(1)))]).is_none());
            assert!(spliced(&big, &[Edit::new("/agent:main:main", None)]).is_none());
            assert!(spliced(&big, &[Edit::new("/scalar/x", Some(json!(1)))]).is_none());
            // lines: the value of the first member starts on line 2
            let sp = big.splices(&edits[0]).unwrap().unwrap();
            assert_eq!(sp[0].line, 2);
            assert_eq!(big.line_prefix(sp[0].span.start), "  \"agent:main:main\": ");
        }
    }

    #[test]
    fn what_does_not_stream_is_left_to_the_whole_read() {
        for bad in [
            &b""[..],
            b"[1, 2]",
            b"\xEF\xBB\xBF{}",
            b"{\"a\": 1} x",
            b"{\"a\": 1",
            b"{\"a\" 1}",
            b"{\"a\": \"\xff\"}",
            b"{\"a\": {\"b\": 1}",
        ] {
            for chunk in [1, 3, 1 << 20] {
                assert!(big_of(bad, chunk).is_none(), "{:?} at chunk {chunk}", String::from_utf8_lossy(bad));
            }
        }
        assert!(big_of(b" {} ", 1).is_some_and(|b| b.member_count() == 0));
        // a character cut by a chunk boundary is not an error
        assert!(big_of("{\"é\": \"ü€\"}".as_bytes(), 1).is_some());
    }

    #[test]
    fn duplicates_and_case_variants() {
        let doc = br#"{"a:B": {"x": 1}, "A:b": {"x": 2}, "c": {}, "\u0063": {}}"#;
        let big = big_of(doc, 5).unwrap();
        assert_eq!(big.duplicate_key().as_deref(), Some("c"));
        let like: Vec<String> = big.entries_like("a:b").unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(like, ["a:B", "A:b"]);
        assert!(big.splices(&[Edit::new("/c/x", Some(json!(1)))]).is_err());
        assert_eq!(big_of(br#"{"a": {}, "b": {}}"#, 2).unwrap().duplicate_key(), None);
    }
}
