//! Reading sessions from an agent database's `session_nodes` table (layout D): all of them
//! on two threads, or one chat's rows by key; each entry summarized as `sessions` does.

use crate::error::{Error, Result};
use crate::layout::sessions::{summarize, summarize_keyed};
use crate::model::Session;
use rusqlite::OptionalExtension;
use std::path::Path;

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
    sort_by_key(&mut out.sessions);
    Ok(out)
}

/// Sort sessions by key (unique in `session_nodes`). A large table's keys are sorted as two
/// halves of indices on two threads and merged, then each session is moved once along the
/// permutation's cycles: comparing 100k keys is most of the cost, and a session is a few
/// hundred bytes that a direct sort would move many times.
fn sort_by_key(sessions: &mut [Session]) {
    let n = sessions.len();
    if n < 1 << 14 || u32::try_from(n).is_err() {
        sessions.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        return;
    }
    let order = {
        let s = &*sessions;
        let key = |i: &u32| s[*i as usize].key.as_str();
        let (mut lo, mut hi): (Vec<u32>, Vec<u32>) = ((0..n as u32 / 2).collect(), (n as u32 / 2..n as u32).collect());
        std::thread::scope(|sc| {
            let h = sc.spawn(|| hi.sort_unstable_by(|a, b| key(a).cmp(key(b))));
            lo.sort_unstable_by(|a, b| key(a).cmp(key(b)));
            h.join().expect("a sorting thread does not panic");
        });
        let mut order = Vec::with_capacity(n);
        let (mut a, mut b) = (lo.into_iter().peekable(), hi.into_iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            order.push(if key(x) <= key(y) { a.next() } else { b.next() }.expect("peeked"));
        }
        order.extend(a.chain(b));
        order
    };
    permute(sessions, order);
}

/// Move the items so that position `k` holds what was at `order[k]`, each item moved once.
fn permute<T>(items: &mut [T], mut order: Vec<u32>) {
    for i in 0..order.len() {
        // follow the cycle through i; each position is marked done (order[j] = j) once filled
        let mut j = i;
        while order[j] as usize != i {
            let k = order[j] as usize;
            items.swap(j, k);
            order[j] = j as u32;
            j = k;
        }
        order[j] = j as u32;
    }
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
    fn a_permutation_moves_each_item_to_its_place() {
        let mut items: Vec<u32> = (0..1000).map(|i| (i * 7919) % 1000).collect();
        let mut order: Vec<u32> = (0..1000).collect();
        order.sort_by_key(|&i| items[i as usize]);
        permute(&mut items, order);
        assert_eq!(items, (0..1000).collect::<Vec<u32>>());
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
}
