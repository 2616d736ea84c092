//! The architecture's rules, checked on the sources (issue 15): the core never prints, reads
//! stdin or exits; its top-level modules import each other one way only (no circle); no Rust
//! file is longer than 1,000 lines; every module opens with a `//!` line saying what it owns;
//! the committed fixtures carry no SQLite sidecar files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every file under `dir` (recursively) that `keep` accepts.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, keep, out);
        } else if keep(&p) {
            out.push(p);
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    files_under(dir, &|p| p.extension().is_some_and(|x| x == "rs"), out);
}

/// Code without comments: what a `//` line says about `println!` is not a call.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.trim_start() {
            t if t.starts_with("//") => "",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_core_never_prints_reads_stdin_or_exits() {
    let mut files = vec![];
    rust_files(&root().join("core/src"), &mut files);
    assert!(files.len() > 40, "found only {} core sources", files.len());
    let banned =
        ["println!", "print!(", "eprintln!", "eprint!(", "std::io::stdin", "io::stdin()", "process::exit", "dbg!("];
    let mut hits = vec![];
    for f in &files {
        let c = code(&std::fs::read_to_string(f).unwrap());
        for b in banned {
            if c.contains(b) {
                hits.push(format!("{}: {b}", f.display()));
            }
        }
    }
    assert!(hits.is_empty(), "the core writes to the terminal or exits:\n{}", hits.join("\n"));
    let toml = std::fs::read_to_string(root().join("core/Cargo.toml")).unwrap();
    assert!(!toml.contains("clap"), "core/Cargo.toml depends on clap");
}

/// The top-level module a core file belongs to (`layout` for `core/src/layout/load.rs`).
fn module_of(src: &Path, f: &Path) -> String {
    let rel = f.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn core_modules_import_one_way_only() {
    let src = root().join("core/src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(&src, f);
        if m == "lib" {
            continue;
        }
        let c = code(&std::fs::read_to_string(f).unwrap());
        let e = deps.entry(m.clone()).or_default();
        for (i, _) in c.match_indices("crate::") {
            let name: String = c[i + 7..].chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_').collect();
            if !name.is_empty() && name != m && name != "outln" {
                e.insert(name);
            }
        }
    }
    // the layers of the README's map must be there and point the documented way
    for (from, to) in [("layout", "model"), ("report", "model"), ("workflow", "txn"), ("report", "workflow")] {
        assert!(deps[from].contains(to), "{from} no longer uses {to}: the map in the README is stale");
    }
    // depth-first search for a circle
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut c = path[at..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in deps.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, deps, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        if let Some(c) = visit(m, &deps, &mut vec![], &mut done) {
            panic!("an import circle in core: {}\n{deps:#?}", c.join(" -> "));
        }
    }
}

#[test]
fn every_rust_file_is_short_and_says_what_it_owns() {
    let root = root();
    let mut files = vec![];
    for d in ["core/src", "core/tests", "cli/src", "cli/tests", "fixture/src", "fuzz/fuzz_targets"] {
        if root.join(d).is_dir() {
            rust_files(&root.join(d), &mut files);
        }
    }
    let mut long = vec![];
    let mut undocumented = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let n = text.lines().count();
        if n > 1000 {
            long.push(format!("{} ({n} lines)", f.display()));
        }
        let is_src = !f.components().any(|c| c.as_os_str() == "tests" || c.as_os_str() == "fuzz_targets");
        if is_src && !text.starts_with("//!") {
            undocumented.push(f.display().to_string());
        }
    }
    assert!(long.is_empty(), "longer than 1,000 lines:\n{}", long.join("\n"));
    assert!(undocumented.is_empty(), "no `//!` line at the top:\n{}", undocumented.join("\n"));
}

/// The committed fixtures are copied by every test that writes: a `-wal`/`-shm`/`-journal`
/// file beside one of their databases (left by any SQLite reader of the fixture itself, even
/// Python's `mode=ro`) is copied too, and the crash matrices then fail with "left beside the
/// databases" for a cause that is not clawauth's. Said here, where the cause is.
#[test]
fn committed_fixtures_carry_no_sqlite_sidecars() {
    let sidecar = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with("-journal")
    };
    let mut left = vec![];
    files_under(&root().join("fixtures"), &sidecar, &mut left);
    assert!(
        left.is_empty(),
        "SQLite sidecars in the committed fixtures (a reader of the fixture left them; delete them, \
         and read fixtures through a copy or with immutable=1): {left:?}"
    );
}
