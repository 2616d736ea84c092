//! Shared test harness: fixture state dirs in temp dirs, the real `clawauth` binary run with a
//! pinned clock/user/host and an isolated HOME, and whole-tree hashing.
#![allow(dead_code)]

use clawauth::fixture::{self, Scenario};
use clawauth::model::Layout;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const NOW: &str = "2026-05-01T12:05:00Z";
pub const NOW_MS: i64 = fixture::REF_NOW_MS + 5 * 60_000;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub struct Fx {
    pub tmp: tempfile::TempDir,
    pub state: PathBuf,
    pub home: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Fx {
    pub fn empty() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Fx { tmp, state, home, env: vec![] }
    }

    pub fn scenario(sc: &Scenario, layout: Layout) -> Fx {
        let fx = Fx::empty();
        sc.write(&fx.state, layout).unwrap();
        fx
    }

    pub fn standard(layout: Layout) -> Fx {
        Fx::scenario(&Scenario::standard(fixture::REF_NOW_MS), layout)
    }

    /// Copy a committed fixture dir (fixtures/NAME).
    pub fn committed(name: &str) -> Fx {
        let fx = Fx::empty();
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name), &fx.state);
        fx
    }

    pub fn broken(case: &str) -> Fx {
        let fx = Fx::empty();
        fixture::write_broken(&fx.state, case, fixture::REF_NOW_MS).unwrap();
        fx
    }

    pub fn agent(&self) -> PathBuf {
        self.state.join("agents/main/agent")
    }
    pub fn sessions(&self) -> PathBuf {
        self.state.join("agents/main/sessions/sessions.json")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clawauth"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("CLAWAUTH_NOW", NOW)
            .env("CLAWAUTH_USER", "tester")
            .env("CLAWAUTH_HOST", "testhost")
            .env("NO_COLOR", "1")
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        run(self.cmd(args))
    }

    /// Run and require exit 0.
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        assert_eq!(o.code, 0, "clawauth {args:?} failed:\n{}", o.all());
        o
    }

    /// sha256 of every file below the state dir except clawauth's own journal.
    pub fn hash(&self) -> BTreeMap<String, String> {
        tree_hash(&self.state, &[".clawauth"])
    }
}

pub fn run(mut c: Command) -> Out {
    let o = c.output().expect("run clawauth");
    use std::os::unix::process::ExitStatusExt;
    Out {
        code: o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn tree_hash(root: &Path, skip: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if skip.iter().any(|s| rel == *s || rel.starts_with(&format!("{s}/"))) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("link:{}", std::fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                use std::os::unix::fs::PermissionsExt;
                out.insert(rel.clone() + "/", format!("dir:{:o}", meta.permissions().mode() & 0o7777));
                walk(root, &p, skip, out);
            } else {
                use std::os::unix::fs::PermissionsExt;
                let b = std::fs::read(&p).unwrap();
                out.insert(
                    rel,
                    format!("{}:{:o}", hex::encode(Sha256::digest(&b)), meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    walk(root, root, skip, &mut out);
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Every token-like secret in a scenario's credentials (and the repo), for leak checks.
pub fn secrets_of(state: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut visit = |v: &serde_json::Value| {
        fn rec(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        if let (true, Some(s)) = (clawauth::token::is_secret_key(k), x.as_str()) {
                            if s.len() >= 8 {
                                out.push(s.to_string());
                            }
                        }
                        rec(x, out);
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| rec(x, out)),
                _ => {}
            }
        }
        rec(v, &mut out)
    };
    for p in [state.join("agents/main/agent/auth-profiles.json"), state.join("codex-oauth-profiles.json")] {
        if let Ok(b) = std::fs::read(&p) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) {
                visit(&v);
            }
        }
    }
    out
}

/// Assert no secret (nor a long piece of one) appears in text.
pub fn assert_no_secrets(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret leaked into output: …{}…", &s[..s.len().min(12)]);
        // a JWT's payload part is as secret as the whole
        if let Some(payload) = s.split('.').nth(1) {
            if payload.len() > 20 {
                assert!(!text.contains(&payload[..20]), "a JWT payload leaked into output");
            }
        }
    }
}
