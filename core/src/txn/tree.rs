//! Whole-tree snapshots of a state dir for `clawauth migrate`: every file, directory and
//! symlink with its path, size, mode and sha256, and each file's bytes in a content-addressed
//! store beside the journal (`<journal>.objects/<aa>/<sha256>`), so an OpenClaw upgrade can be
//! undone byte for byte: files OpenClaw created are removed, files it moved or rewrote come back.
//!
//! Objects are always **copies**, never hard links. A hard link shares the inode with the live
//! file, so any in-place write would silently change the snapshot, and OpenClaw writes in place
//! more than once: SQLite databases (and their `-wal`) are edited in place by design, layout-A
//! releases rewrote `auth-profiles.json` in place, and nothing proves which JSON files a given
//! release replaces by rename. A reflink would be safe but the bytes are already in memory (they
//! were just hashed), so writing them is what guarantees the object is what was hashed. Objects
//! are de-duplicated by hash across migrations and re-verified before any restore.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A socket, FIFO or device: recorded, never read, never restored or removed.
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "file" => Kind::File,
            "dir" => Kind::Dir,
            "symlink" => Kind::Symlink,
            "other" => Kind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub size: Option<u64>,
    pub mode: u32,
    pub sha256: Option<String>,
    pub target: Option<String>,
}

/// Relative path -> entry, sorted.
pub type Tree = BTreeMap<String, Entry>;

/// Files larger than this are refused (a state dir holds stores and transcripts, not media).
pub const FILE_CAP: u64 = 2 << 30;

/// The content store of a journal: `<journal path>.objects`, 0700.
pub fn store_dir(journal: &Path) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(".objects");
    PathBuf::from(s)
}

pub fn object_path(store: &Path, sha: &str) -> PathBuf {
    store.join(&sha[..2.min(sha.len())]).join(sha)
}

/// A path SQLite rebuilds on every open (the shared-memory index of a WAL database): a reader
/// changes it without changing any data, so it never counts as "state written since".
pub fn volatile(rel: &str) -> bool {
    rel.ends_with("-shm")
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn mkdir_private(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(dir, e))
}

/// Put bytes into the store under their hash (a no-op when the object is there already).
pub fn put(store: &Path, sha: &str, bytes: &[u8]) -> Result<()> {
    let obj = object_path(store, sha);
    if std::fs::metadata(&obj).map(|m| m.len() == bytes.len() as u64).unwrap_or(false) {
        return Ok(());
    }
    let dir = obj.parent().unwrap_or(store);
    mkdir_private(store)?;
    mkdir_private(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".obj-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(&obj, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(&obj, e))?;
    tmp.persist(&obj).map_err(|e| Error::io(&obj, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Read an object back, checking it still hashes to its name.
pub fn get(store: &Path, sha: &str) -> Result<Vec<u8>> {
    let obj = object_path(store, sha);
    let b = std::fs::read(&obj).map_err(|e| Error::io(&obj, e))?;
    if sha_hex(&b) != sha {
        return Err(Error::bad(&obj, "snapshot object does not match its sha256 (changed or corrupted)"));
    }
    Ok(b)
}

/// Walk `root` (not following symlinks), skipping the paths in `skip` (the journal, its store,
/// `.clawauth/`). With `store`, every file's bytes are put there.
pub fn scan(root: &Path, skip: &[PathBuf], store: Option<&Path>) -> Result<Tree> {
    let mut out = Tree::new();
    walk(root, root, skip, store, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, skip: &[PathBuf], store: Option<&Path>, out: &mut Tree) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::io(dir, e))?;
    names.sort();
    for p in names {
        if skip.iter().any(|s| p == *s || p.starts_with(s)) {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
        let mode = meta.mode() & 0o7777;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let t = std::fs::read_link(&p).map_err(|e| Error::io(&p, e))?;
            out.insert(
                rel,
                Entry { kind: Kind::Symlink, size: None, mode, sha256: None, target: Some(t.to_string_lossy().into()) },
            );
        } else if ft.is_dir() {
            out.insert(rel, Entry { kind: Kind::Dir, size: None, mode, sha256: None, target: None });
            walk(root, &p, skip, store, out)?;
        } else if ft.is_file() {
            if meta.len() > FILE_CAP {
                return Err(Error::bad(
                    &p,
                    format!("is {} bytes, over the {} byte snapshot cap", meta.len(), FILE_CAP),
                ));
            }
            let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            let sha = sha_hex(&b);
            if let Some(s) = store {
                put(s, &sha, &b)?;
            }
            out.insert(
                rel,
                Entry { kind: Kind::File, size: Some(b.len() as u64), mode, sha256: Some(sha), target: None },
            );
        } else {
            out.insert(rel, Entry { kind: Kind::Other, size: Some(meta.len()), mode, sha256: None, target: None });
        }
    }
    Ok(())
}

/// How two trees differ (paths relative to the state dir).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
    pub fn count(&self) -> usize {
        self.added.len() + self.removed.len() + self.changed.len()
    }
    /// One line per path, capped.
    pub fn lines(&self, cap: usize) -> Vec<String> {
        let all: Vec<String> = self
            .added
            .iter()
            .map(|p| format!("+ {p}"))
            .chain(self.removed.iter().map(|p| format!("- {p}")))
            .chain(self.changed.iter().map(|p| format!("~ {p}")))
            .collect();
        let n = all.len();
        let mut out: Vec<String> = all.into_iter().take(cap).collect();
        if n > cap {
            out.push(format!("… and {} more", n - cap));
        }
        out
    }
}

/// `from` -> `to`. With `data_only`, volatile paths and `other` entries are left out and only
/// content, kind and mode count.
pub fn diff(from: &Tree, to: &Tree, data_only: bool) -> Diff {
    let skip = |p: &str, e: &Entry| data_only && (volatile(p) || e.kind == Kind::Other);
    let mut d = Diff::default();
    for (p, e) in to {
        if skip(p, e) {
            continue;
        }
        match from.get(p) {
            None => d.added.push(p.clone()),
            Some(f) if f != e => d.changed.push(p.clone()),
            _ => {}
        }
    }
    for (p, e) in from {
        if !skip(p, e) && !to.contains_key(p) {
            d.removed.push(p.clone());
        }
    }
    d
}

/// Every object the tree needs is in the store and intact (checked before anything is touched).
pub fn verify_objects(store: &Path, tree: &Tree) -> Result<()> {
    for (p, e) in tree {
        if let (Kind::File, Some(sha)) = (e.kind, &e.sha256) {
            get(store, sha).map_err(|err| Error::Other(format!("snapshot of {p} is not usable: {err}")))?;
        }
    }
    Ok(())
}

fn fsync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().ok_or_else(|| Error::Other(format!("{} has no parent", path.display())))?;
    let mut tmp =
        tempfile::Builder::new().prefix(".clawauth-restore-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    fsync_dir(dir);
    Ok(())
}

fn remove_any(p: &Path) -> Result<()> {
    let m = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(p, e)),
    };
    if m.is_dir() {
        std::fs::remove_dir_all(p).map_err(|e| Error::io(p, e))
    } else {
        std::fs::remove_file(p).map_err(|e| Error::io(p, e))
    }
}

/// Make the tree under `root` equal to `target` (from `store`): paths not in `target` are
/// removed (deepest first), directories created, files whose bytes or mode differ rewritten
/// atomically, symlinks recreated. Idempotent: a restore interrupted half-way is finished by
/// running it again. Returns what it did, one line per path.
pub fn restore(root: &Path, skip: &[PathBuf], store: &Path, target: &Tree) -> Result<Vec<String>> {
    verify_objects(store, target)?;
    let now = scan(root, skip, None)?;
    let mut done = vec![];
    // 1. remove what the target does not have (or has as another kind), deepest first
    for (p, e) in now.iter().rev() {
        if e.kind == Kind::Other {
            continue;
        }
        let keep = target.get(p).is_some_and(|t| t.kind == e.kind);
        if !keep {
            remove_any(&root.join(p))?;
            done.push(format!("removed {p}"));
        }
    }
    // 2. directories, shallow first (BTreeMap order puts a parent before its children)
    for (p, _) in target.iter().filter(|(_, t)| t.kind == Kind::Dir) {
        let abs = root.join(p);
        if !abs.is_dir() {
            std::fs::create_dir(&abs).map_err(|e| Error::io(&abs, e))?;
            done.push(format!("created {p}/"));
        }
    }
    // 3. files and symlinks
    for (p, t) in target {
        let abs = root.join(p);
        match t.kind {
            Kind::File => {
                let sha = t.sha256.as_deref().unwrap_or_default();
                let cur = now.get(p).filter(|c| c.kind == Kind::File);
                if cur.is_some_and(|c| c.sha256.as_deref() == Some(sha)) {
                    if cur.is_some_and(|c| c.mode != t.mode) {
                        std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(t.mode))
                            .map_err(|e| Error::io(&abs, e))?;
                        done.push(format!("mode {p} {:o}", t.mode));
                    }
                    continue;
                }
                write_atomic(&abs, &get(store, sha)?, t.mode)?;
                done.push(format!("{} {p}", if cur.is_some() { "restored" } else { "put back" }));
            }
            Kind::Symlink => {
                let want = t.target.clone().unwrap_or_default();
                let cur = std::fs::read_link(&abs).ok().map(|x| x.to_string_lossy().into_owned());
                if cur.as_deref() != Some(want.as_str()) {
                    remove_any(&abs)?;
                    std::os::unix::fs::symlink(&want, &abs).map_err(|e| Error::io(&abs, e))?;
                    done.push(format!("relinked {p}"));
                }
            }
            _ => {}
        }
    }
    // 4. directory modes last (a read-only directory would have blocked the writes above)
    for (p, t) in target.iter().filter(|(_, t)| t.kind == Kind::Dir).rev() {
        let abs = root.join(p);
        let cur = std::fs::symlink_metadata(&abs).map(|m| m.mode() & 0o7777).unwrap_or(t.mode);
        if cur != t.mode {
            std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(t.mode)).map_err(|e| Error::io(&abs, e))?;
        }
        fsync_dir(&abs);
    }
    fsync_dir(root);
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_then_restore_is_byte_identical() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("state");
        let store = t.path().join("j.db.objects");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.json"), b"{}\n").unwrap();
        std::fs::write(root.join("top"), b"x").unwrap();
        std::fs::set_permissions(root.join("top"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("top", root.join("link")).unwrap();
        let before = scan(&root, &[], Some(&store)).unwrap();
        // a migration: move, rewrite, create, delete a dir
        std::fs::rename(root.join("a/b/f.json"), root.join("a/f.json.migrated")).unwrap();
        std::fs::remove_dir(root.join("a/b")).unwrap();
        std::fs::write(root.join("top"), b"rewritten").unwrap();
        std::fs::create_dir_all(root.join("state")).unwrap();
        std::fs::write(root.join("state/db.sqlite"), b"db").unwrap();
        let after = scan(&root, &[], None).unwrap();
        let d = diff(&before, &after, true);
        assert!(d.added.contains(&"a/f.json.migrated".to_string()) && d.removed.contains(&"a/b".to_string()));
        restore(&root, &[], &store, &before).unwrap();
        assert_eq!(scan(&root, &[], None).unwrap(), before);
        // idempotent
        assert!(restore(&root, &[], &store, &before).unwrap().is_empty());
    }

    #[test]
    fn a_corrupted_object_is_refused_before_any_write() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("state");
        let store = t.path().join("objects");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("f"), b"one").unwrap();
        let before = scan(&root, &[], Some(&store)).unwrap();
        let sha = before["f"].sha256.clone().unwrap();
        std::fs::write(object_path(&store, &sha), b"two").unwrap();
        std::fs::write(root.join("new"), b"n").unwrap();
        assert!(restore(&root, &[], &store, &before).is_err());
        assert!(root.join("new").exists(), "nothing touched");
    }
}
