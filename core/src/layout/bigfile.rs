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
use crate::layout::sessions::{split_at_member, Part};
use serde_json::Value;
use std::fs::File;
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
    /// Whether the bytes `user-link`, or any `\u` escape (which could spell them), occur.
    pub mentions_user_link: bool,
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
    let Some(big) = scan(path, f, id, CHUNK, PARALLEL_MIN) else { return Ok(None) };
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

/// Files at least this large are indexed by two threads, split at a top-level member.
const PARALLEL_MIN: u64 = 16 << 20;

/// The streaming pass. `None` on anything it does not take (the caller reads the file whole).
/// A large file in OpenClaw's own format (`JSON.stringify(store, null, 2)`) is scanned in two
/// halves at once, split at a `,\n  "` near the middle — in that format only a top-level member
/// starts so, since strings hold no raw newline and nested members are indented further — and
/// the first half must end exactly at the split; if anything disagrees it is scanned whole.
fn scan(path: &Path, f: File, id: Identity, chunk: usize, parallel_min: u64) -> Option<BigFile> {
    let len = id.size;
    let whole = || scan_part(&f, 0, len, chunk, Part::Whole);
    let split = if len >= parallel_min { split_at_member(&f, len) } else { None };
    let (head, tail) = match split {
        Some(at) => {
            let (h, t) = std::thread::scope(|sc| {
                let t = sc.spawn(|| scan_part(&f, at + 1, len, chunk, Part::Tail));
                (scan_part(&f, 0, at, chunk, Part::Head), t.join().ok().flatten())
            });
            match (h, t) {
                (Some(h), Some(t)) => (h, Some(t)),
                _ => (whole()?, None),
            }
        }
        None => (whole()?, None),
    };
    let mut out = head;
    if let Some(t) = tail {
        let (shift, lines) = (out.keys.len(), out.newlines);
        out.keys.extend_from_slice(&t.keys);
        out.members.extend(t.members.into_iter().map(|mut m| {
            m.key = m.key.start + shift..m.key.end + shift;
            m.line += lines;
            m
        }));
        out.root_end = t.root_end;
        out.mentions |= t.mentions;
    }
    let mut last = [0u8; 1];
    out.last_byte = (len > 0 && f.read_at(&mut last, len - 1).ok() == Some(1)).then_some(last[0]);
    out.members.shrink_to_fit();
    out.keys.shrink_to_fit();
    Some(BigFile {
        path: path.to_path_buf(),
        file: f,
        id,
        len,
        root: out.root_start?..out.root_end?,
        members: out.members,
        keys: out.keys,
        head: out.head,
        last_byte: out.last_byte,
        mentions_user_link: out.mentions,
    })
}

/// A member's key and value spans in the read buffer.
type KeyValue = (Range<usize>, Range<usize>);

struct Scanned {
    members: Vec<Member>,
    keys: Vec<u8>,
    /// Newlines in the part.
    newlines: u64,
    root_start: Option<u64>,
    root_end: Option<u64>,
    head: Vec<u8>,
    last_byte: Option<u8>,
    mentions: bool,
}

/// What [`BigFile::mentions_user_link`] looks for.
const NEEDLES: [&[u8]; 2] = [b"user-link", b"\\u"];

/// Whether a needle occurs in `region`, or across from `carry` (the bytes just before it);
/// `carry` becomes the last bytes of the two.
fn mentions(carry: &mut Vec<u8>, region: &[u8]) -> bool {
    let keep = NEEDLES.iter().map(|n| n.len()).max().unwrap_or(1) - 1;
    let mut seam = std::mem::take(carry);
    seam.extend_from_slice(&region[..region.len().min(keep)]);
    let hit =
        NEEDLES.iter().any(|n| memchr::memmem::find(region, n).is_some() || memchr::memmem::find(&seam, n).is_some());
    let tail =
        if region.len() >= keep { &region[region.len() - keep..] } else { &seam[seam.len().saturating_sub(keep)..] };
    *carry = tail.to_vec();
    hit
}

/// Scan bytes `from..to` of `f` as `part` of the top-level object.
fn scan_part(f: &File, from: u64, to: u64, chunk: usize, part: Part) -> Option<Scanned> {
    let mut off = from;
    let mut buf: Vec<u8> = Vec::with_capacity(chunk);
    let mut eof = false;
    let mut fill = |buf: &mut Vec<u8>, want: usize, eof: &mut bool| -> Option<()> {
        let want = want.min((to - off) as usize);
        let old = buf.len();
        buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match f.read_at(&mut buf[old + got..], off + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        buf.truncate(old + got);
        off += got as u64;
        if got < want || off >= to {
            *eof = true;
        }
        Some(())
    };
    fill(&mut buf, chunk.max(HEAD), &mut eof)?;
    let mut out = Scanned {
        members: vec![],
        keys: vec![],
        newlines: 0,
        root_start: None,
        root_end: None,
        head: vec![],
        last_byte: None,
        mentions: false,
    };
    let mut pos = 0;
    if part != Part::Tail {
        out.head = buf[..buf.len().min(HEAD)].to_vec();
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return None;
        }
        let start = json::skip_ws(&buf, 0);
        if buf.get(start) != Some(&b'{') {
            return None;
        }
        out.root_start = Some(start as u64);
        pos = start + 1;
    }
    let mut base: u64 = from; // file offset of buf[0]
                              // bytes before `checked` (file offsets) are validated UTF-8 with their newlines counted
    let mut checked: u64 = from;
    let mut line: u64 = 1;
    let found = std::cell::Cell::new(false);
    let carry = std::cell::RefCell::new(Vec::new());
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
        *line += count_newlines(&region[..ok]) as u64;
        if !found.get() && mentions(&mut carry.borrow_mut(), &region[..ok]) {
            found.set(true);
        }
        *checked += ok as u64;
        Some(())
    };
    let mut first = true;
    let end = loop {
        // one member at `pos`; a scan failure short of the end of the part may be the chunk's
        // end: read more and retry
        let step = (|| -> Result<Option<KeyValue>, ()> {
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
            if ve >= buf.len() && !(eof && part == Part::Head) {
                return Err(());
            }
            Ok(Some((i..ke, vs..ve)))
        })();
        match step {
            Ok(Some((k, v))) => {
                check(&buf, base, v.start, &mut checked, &mut line, false)?;
                let raw = &buf[k.start + 1..k.end - 1];
                let at = out.keys.len();
                out.keys.extend_from_slice(raw);
                out.members.push(Member {
                    key: at..out.keys.len(),
                    escaped: memchr::memchr(b'\\', raw).is_some(),
                    value: base + v.start as u64..base + v.end as u64,
                    line,
                });
                pos = v.end;
                first = false;
            }
            Ok(None) if part == Part::Head => return None,
            Ok(None) => break json::skip_ws(&buf, pos),
            // the head ends exactly at the split
            Err(()) if eof && part == Part::Head && !first && json::skip_ws(&buf, pos) == buf.len() => {
                check(&buf, base, buf.len(), &mut checked, &mut line, true)?;
                out.newlines = line - 1;
                out.mentions = found.get();
                return (checked == to).then_some(out);
            }
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
    out.root_end = Some(base + end as u64 + 1);
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
    if checked != to {
        return None;
    }
    out.newlines = line - 1;
    out.mentions = found.get();
    Some(out)
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

/// Newlines in `b`, counted in byte-wide lanes (vectorized; `filter().count()` is not).
fn count_newlines(b: &[u8]) -> usize {
    let mut n = 0usize;
    for block in b.chunks(255 * 32) {
        let mut acc = [0u8; 32];
        let mut it = block.chunks_exact(32);
        for c in &mut it {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += u8::from(x == b'\n');
            }
        }
        n += acc.iter().map(|&x| x as usize).sum::<usize>();
        n += it.remainder().iter().filter(|&&x| x == b'\n').count();
    }
    n
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
        scanned(bytes, chunk, u64::MAX)
    }

    fn scanned(bytes: &[u8], chunk: usize, parallel_min: u64) -> Option<BigFile> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sessions.json");
        std::fs::write(&p, bytes).unwrap();
        let f = File::open(&p).unwrap();
        let id = Identity::of(&f.metadata().unwrap());
        scan(&p, f, id, chunk, parallel_min)
    }

    #[test]
    fn two_halves_index_as_one_pass() {
        let mut v = serde_json::Map::new();
        for i in 0..300 {
            v.insert(format!("agent:main:s{i}"), json!({"updatedAt": i, "label": "x\ny", "n": {"a": [1, 2]}}));
        }
        let doc = json::to_bytes(&Value::Object(v), Style::SESSIONS_FILE);
        for chunk in [5, 333, 1 << 20] {
            let one = scanned(&doc, chunk, u64::MAX).unwrap();
            let two = scanned(&doc, chunk, 0).unwrap();
            assert_eq!(one.keys, two.keys);
            assert_eq!(format!("{:?}", one.members), format!("{:?}", two.members));
            assert_eq!(
                (one.root.clone(), one.last_byte, one.head.clone()),
                (two.root.clone(), two.last_byte, two.head.clone())
            );
            let e = [Edit::new("/agent:main:s250/label", Some(json!("z")))];
            assert_eq!(spliced(&two, &e).unwrap(), json::apply_edits(&doc, Style::SESSIONS_FILE, &e).unwrap());
        }
        // a split that is not at a top-level member falls back to one pass
        let odd = b"{\n  \"a\": {\n  \"b\": 1, \"c\": {\"d\": 2}\n}, \"e\": 3}";
        assert_eq!(scanned(odd, 4, 0).unwrap().member_count(), 2);
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

    #[test]
    fn user_link_is_seen_across_chunk_boundaries() {
        for chunk in [1, 2, 5, 1 << 20] {
            let seen = |t: &str| big_of(t.as_bytes(), chunk).unwrap().mentions_user_link;
            assert!(seen(r#"{"a": {"authProfileOverrideSource": "user-link"}}"#));
            assert!(seen(r#"{"a": {"s": "user\u002dlink"}}"#));
            assert!(!seen(r#"{"a": {"authProfileOverrideSource": "user"}, "user-lin": {}}"#));
        }
    }
}
