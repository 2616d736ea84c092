// conformance/suite.mjs — clawauth against real OpenClaw.
//
// usage: node suite.mjs --clawauth BIN --fixture BIN --cache DIR [--versions V,V] [--keep DIR] [--no-lint]
//                       [--only SCENARIO,...]
//
// For every storage layout and every workflow: build a state (JSON layouts fresh from our
// fixture builder with the real clock, so cooldowns are live; SQLite layouts from the
// committed fixtures that real OpenClaw migrated, with a live cooldown put into their rows),
// run clawauth on it, then ask the OpenClaw release that reads that layout — in ONE node
// process per release (oc-batch.sh) — what it sees: `models auth list`, `models auth order
// get`, its resolved order, and its own session resolver for every session. A scenario passes
// a check when OpenClaw reads back exactly what clawauth meant and what clawauth's own
// `status` says. Every session must also be ACCEPTED by OpenClaw's own session loading, the
// way a turn loads it (lib/session-load.mjs: on 2026.9.6 both as a gateway that was already
// running sees the rows and as a fresh process; on 7.35 from sessions.json), and on layout D
// every session_nodes row must have entry_valid = 1 — after every workflow and, in a
// `WORKFLOW+undo` scenario, after its undo. Layout D runs on two base states: `layout-d`
// (made by doctor --fix alone) and `layout-d-gateway` (a real 9.6 gateway started on it).
// Then the other way round: states written by OpenClaw itself (`models auth
// order set|clear`) read by clawauth. `doctor --lint` (CLI, slow) confirms clawauth adds no
// lint finding on a subset. Prints `conformance: N passed, N failed` per version; exits 1 on
// any failure.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.dirname(HERE);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const CLAWAUTH = path.resolve(opt("--clawauth"));
const FIXTURE = path.resolve(opt("--fixture"));
const CACHE = path.resolve(opt("--cache"));
const VERSIONS = (opt("--versions", "2026.4.5,2026.5.28,2026.7.35,2026.9.6")).split(",");
const LINT = !argv.includes("--no-lint");
// --only NAME[,NAME]: run just these scenarios (development)
const ONLY = opt("--only") ? opt("--only").split(",") : null;
const WORK = opt("--keep") ? path.resolve(opt("--keep")) : fs.mkdtempSync(path.join(os.tmpdir(), "clawauth-conformance-"));
fs.mkdirSync(WORK, { recursive: true });

// which releases read which layout, and with which of clawauth's rule sets
const LAYOUTS = {
  A: { versions: ["2026.4.5", "2026.5.28"], provider: "openai-codex" },
  B: { versions: ["2026.5.28"], provider: "openai-codex" },
  C: { versions: ["2026.7.35"], provider: "openai" },
  D: { versions: ["2026.9.6"], provider: "openai" },
};
// base states per layout: fixture suffixes ("" = the doctor-made fixture; "-gateway" = the same
// after a real 2026.9.6 gateway started and stopped on it, fixtures/regen-gateway.sh)
const BASES = { A: [""], B: [""], C: [""], D: ["", "-gateway"] };
const RULES = { "2026.4.5": "4.5", "2026.5.28": "5.28", "2026.7.35": "5.28", "2026.9.6": "9.6" };

const results = {}; // version -> {passed, failed, failures: []}
for (const v of VERSIONS) results[v] = { passed: 0, failed: 0, failures: [] };
const check = (version, scenario, what, ok, detail) => {
  const r = results[version];
  if (!r) return;
  if (ok) r.passed++;
  else {
    r.failed++;
    r.failures.push(`${scenario}: ${what}${detail ? `\n      ${detail}` : ""}`);
  }
};
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const show = (x) => JSON.stringify(x ?? null);

/// id of the last transaction in the scenario's journal (for `undo LAST`)
function lastTxn(state) {
  const r = clawauth(state, ["log", "--json"], { json: true, allowFail: true });
  const ids = (r.out?.transactions ?? []).filter((t) => t.kind === "apply" && t.status === "applied").map((t) => t.id);
  return ids.length ? String(Math.max(...ids)) : null;
}

function clawauth(state, args, { json = false, allowFail = false } = {}) {
  const full = ["--state-dir", state, "--journal", `${state}.journal.db`, ...args];
  const r = spawnSync(CLAWAUTH, full, { encoding: "utf8", env: { PATH: process.env.PATH, HOME: WORK, NO_COLOR: "1" } });
  if (r.status !== 0 && !allowFail) {
    return { ok: false, error: `clawauth ${args.join(" ")} exited ${r.status}: ${(r.stderr || "").trim().slice(0, 400)}` };
  }
  return { ok: r.status === 0, code: r.status, out: json ? JSON.parse(r.stdout) : r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------------
// base states

function liveCooldownSqlite(dir, layout) {
  const until = Date.now() + 2 * 3600 * 1000;
  const bump = (db, sql, sel) => {
    const d = new DatabaseSync(db);
    const row = d.prepare(sel).get();
    const st = JSON.parse(Object.values(row)[0]);
    st.usageStats = st.usageStats || {};
    st.usageStats["openai:alice-team"] = { ...(st.usageStats["openai:alice-team"] || {}), cooldownUntil: until, cooldownReason: "rate_limit" };
    d.prepare(sql).run(JSON.stringify(st));
    d.close();
  };
  if (layout === "C") {
    bump(path.join(dir, "agents/main/agent/openclaw-agent.sqlite"), "UPDATE auth_profile_state SET state_json = ? WHERE state_key = 'primary'", "SELECT state_json FROM auth_profile_state WHERE state_key = 'primary'");
  } else {
    bump(path.join(dir, "state/openclaw.sqlite"), "UPDATE config_machine_state SET value_json = ? WHERE state_key = 'authProfiles.state'", "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.state'");
  }
}

function baseState(layout, router, dest, base = "") {
  fs.rmSync(dest, { recursive: true, force: true });
  if (layout === "A" || layout === "B") {
    const args = [dest, "--layout", layout.toLowerCase(), "--now", "real"];
    if (router) args.push("--router");
    execFileSync(FIXTURE, args);
  } else {
    const name = `layout-${layout.toLowerCase()}${router ? "-router" : ""}${base}`;
    fs.cpSync(path.join(ROOT, "fixtures", name), dest, { recursive: true });
    liveCooldownSqlite(dest, layout);
  }
  execFileSync("chmod", ["-R", "go-rwx", dest]);
}

// ---------------------------------------------------------------------------------------
// scenarios: clawauth workflows, each with what OpenClaw must then read back

function scenarios(layout, router) {
  const P = LAYOUTS[layout].provider;
  const id = { alice: `${P}:alice@example.com`, team: `${P}:alice-team`, bob: `${P}:bob@example.com`, slot: `${P}:default`, renamed: `${P}:alice-personal` };
  const main = "agent:main:main", tg = "agent:main:telegram:direct:1001", dc = "agent:main:discord:channel:2002";
  const list = [
    { name: "base", run: [] },
    { name: "order-set", run: [["order", "set", P, id.bob, id.alice]], expect: { order: [id.bob, id.alice] } },
    { name: "order-set-one", run: [["order", "set", P, id.team]], expect: { order: [id.team] } },
    { name: "order-clear", run: [["order", "clear", P]], expect: { order: null } },
    { name: "order-set-undo", run: [["order", "set", P, id.bob], ["undo", "1"]] },
    { name: "pin-user", run: [["pin", main, id.bob]], expect: { sessions: { [main]: id.bob } } },
    { name: "pin-auto", run: [["pin", dc, id.bob, "--source", "auto"]] },
    { name: "pin-undo", run: [["pin", main, id.bob], ["undo", "1"]] },
    { name: "unpin", run: [["unpin", tg]] },
    { name: "cooldown-clear", run: [["cooldown", "clear", id.team]], expect: { usable: id.team } },
    { name: "profile-remove", run: [["profile", "remove", id.bob]], expect: { absent: id.bob } },
    { name: "profile-rename", run: [["profile", "rename", id.alice, id.renamed]], expect: { absent: id.alice, present: id.renamed } },
    { name: "resync", run: [["resync", "--all"]] },
    { name: "lastgood", run: [["lastgood", "set", P, id.bob]] },
    { name: "doctor-fix", run: [["doctor", "--fix"]] },
    // a broken credential (no token material: OpenClaw skips it) restored from a copy of the
    // same identity: a backup file in the JSON era, OpenClaw's own migration archives in C/D
    {
      name: "restore-token",
      prepare: (dir) => breakCredential(dir, layout, id.bob),
      run: [["restore-token", id.bob, ...(layout === "A" || layout === "B" ? ["--from", "BACKUP"] : [])]],
      expect: { present: id.bob, eligible: id.bob },
    },
  ];
  if (router) {
    list.push(
      { name: "activate", run: [["activate", id.alice, "--session", main]], expect: { sessions: { [main]: id.slot } } },
      { name: "preference", run: [["preference", "set", id.alice]] },
      { name: "merge", run: [["profile", "merge", id.slot, id.bob]], expect: { absent: id.bob } },
    );
  }
  // every single-step workflow once more, followed by the undo of its (last) transaction
  const undos = list
    .filter((sc) => sc.run.length === 1)
    .map((sc) => ({ name: `${sc.name}+undo`, prepare: sc.prepare, run: [...sc.run, ["undo", "LAST"]] }));
  return [...list, ...undos];
}

/// Empty a credential's access and refresh tokens (OpenClaw then skips it as
/// missing_credential); in the JSON era keep a backup copy of the store next to the state dir.
function breakCredential(dir, layout, id) {
  const empty = (store) => {
    store.profiles[id].access = "";
    store.profiles[id].refresh = "";
    return store;
  };
  if (layout === "A" || layout === "B") {
    const f = path.join(dir, "agents/main/agent/auth-profiles.json");
    fs.copyFileSync(f, `${dir}.backup.json`);
    fs.writeFileSync(f, JSON.stringify(empty(JSON.parse(fs.readFileSync(f, "utf8"))), null, 2) + "\n");
    return `${dir}.backup.json`;
  }
  const [db, table, col, keyCol, key] =
    layout === "C"
      ? [path.join(dir, "agents/main/agent/openclaw-agent.sqlite"), "auth_profile_store", "store_json", "store_key", "primary"]
      : [path.join(dir, "state/openclaw.sqlite"), "config_machine_state", "value_json", "state_key", "authProfiles.store"];
  const d = new DatabaseSync(db);
  const row = d.prepare(`SELECT ${col} AS v FROM ${table} WHERE ${keyCol} = ?`).get(key);
  d.prepare(`UPDATE ${table} SET ${col} = ? WHERE ${keyCol} = ?`).run(JSON.stringify(empty(JSON.parse(row.v))), key);
  d.close();
  return null;
}

// ---------------------------------------------------------------------------------------
// OpenClaw in batch

function batch(version, jobs) {
  const jf = path.join(WORK, `jobs-${version}-${Date.now()}.json`);
  fs.writeFileSync(jf, JSON.stringify(jobs));
  const out = execFileSync(path.join(HERE, "oc-batch.sh"), [version, jf], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { ...process.env, CLAWAUTH_OC_CACHE: CACHE },
  });
  return JSON.parse(out);
}

function compare(version, name, ca, oc, expect) {
  const agent = ca.agents[0];
  if (oc.error) {
    check(version, name, "OpenClaw could not read the state", false, oc.error);
    return;
  }
  // profiles (2026.4.5 has no `models auth list`)
  const caIds = agent.profiles.map((p) => p.id).sort();
  if (oc.authList && !oc.authList.unsupported && oc.authList.json) {
    const ocIds = (oc.authList.json.profiles || []).map((p) => p.id).sort();
    check(version, name, "profile ids", same(caIds, ocIds), `clawauth ${show(caIds)} openclaw ${show(ocIds)}`);
  }
  // stored order
  if (oc.orderGet && oc.orderGet.json) {
    const ocOrder = oc.orderGet.json.order ?? null;
    const caOrder = agent.order.stored ?? null;
    check(version, name, "stored order", same(caOrder, ocOrder), `clawauth ${show(caOrder)} openclaw ${show(ocOrder)}`);
    if (expect && "order" in expect) check(version, name, "intended order", same(ocOrder, expect.order), `wanted ${show(expect.order)} openclaw ${show(ocOrder)}`);
  }
  // the runtime's try order
  if (oc.resolvedOrder) {
    check(version, name, "effective order", same(agent.order.effective, oc.resolvedOrder.order), `clawauth ${show(agent.order.effective)} openclaw ${show(oc.resolvedOrder.order)}`);
  }
  if (expect?.usable && oc.status?.unusableProfiles) {
    const unusable = oc.status.unusableProfiles.map((u) => u.profileId ?? u.id ?? u);
    check(version, name, `${expect.usable} usable`, !unusable.includes(expect.usable), `unusable ${show(unusable)}`);
  }
  if (expect?.absent) check(version, name, `${expect.absent} gone`, !caIds.includes(expect.absent) && !(oc.authList?.json?.profiles || []).some((p) => p.id === expect.absent));
  if (expect?.present && oc.authList?.json) check(version, name, `${expect.present} present`, (oc.authList.json.profiles || []).some((p) => p.id === expect.present));
  if (expect?.eligible && oc.resolvedOrder) check(version, name, `${expect.eligible} eligible again`, (oc.resolvedOrder.order || []).includes(expect.eligible), `order ${show(oc.resolvedOrder.order)}`);
  // every session: clawauth's effective profile == OpenClaw's own resolver
  const sessions = oc.resolve?.sessions || {};
  for (const [key, s] of Object.entries(sessions)) {
    const mine = agent.sessions.find((x) => x.key === key);
    if (!mine) {
      check(version, name, `session ${key} known to clawauth`, false);
      continue;
    }
    if (s.error) {
      check(version, name, `session ${key} resolves`, false, s.error);
      continue;
    }
    check(version, name, `session ${key}`, same(mine.effective ?? null, s.profileId ?? null), `clawauth ${show(mine.effective)} openclaw ${show(s.profileId)}`);
  }
  for (const [key, want] of Object.entries(expect?.sessions || {})) {
    check(version, name, `intended pin ${key}`, sessions[key]?.profileId === want, `wanted ${want} openclaw ${show(sessions[key]?.profileId)}`);
  }
}

/// OpenClaw's own session loading (batch query "load", lib/session-load.mjs) accepts every
/// session, returns the pin clawauth says is stored, and (layout D) every row is entry_valid = 1.
function loadChecks(version, name, layout, ca, oc) {
  const load = oc.load;
  if (!load || load.unsupported || load.error) {
    check(version, name, "OpenClaw session loading ran", false, show(load));
    return;
  }
  const agent = ca.agents[0];
  const keys = Object.keys(load.sessions ?? {});
  check(version, name, "OpenClaw loaded every session", keys.length === agent.sessions.length && keys.length > 0, `openclaw ${show(keys)} clawauth ${agent.sessions.length} sessions`);
  for (const [key, s] of Object.entries(load.sessions ?? {})) {
    check(version, name, `OpenClaw accepts session ${key}`, s.accepted === true, s.error);
    if (!s.accepted) continue;
    const mine = agent.sessions.find((x) => x.key === key);
    check(version, name, `OpenClaw loads pin of ${key}`, Boolean(mine) && (s.pin?.authProfileOverride ?? null) === (mine.pin ?? null), `clawauth ${show(mine?.pin)} openclaw ${show(s.pin?.authProfileOverride)}`);
  }
  if (layout === "D") {
    for (const [key, r] of Object.entries(load.rows ?? {})) {
      check(version, name, `entry_valid = 1 for ${key}`, r.entry_valid === 1 && r.rowCheck === "ok", `entry_valid ${r.entry_valid}; validateCanonicalSessionRow: ${r.rowCheck}`);
    }
  }
}

function lintIds(version, dir) {
  const r = spawnSync(path.join(HERE, "oc.sh"), [version, dir, "doctor", "--lint", "--json"], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, CLAWAUTH_OC_CACHE: CACHE },
  });
  try {
    const j = JSON.parse(r.stdout);
    // paths point into oc.sh's throw-away copy: compare them relative to it
    const rel = (p) => String(p ?? "").replace(/[^\s]*clawauth-oc\.[A-Za-z0-9]+\/state/g, "<state>");
    return new Set((j.findings || []).map((f) => `${f.checkId} ${rel(f.path)}`));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// run

const started = Date.now();
let scenarioCount = 0;
for (const [layout, meta] of Object.entries(LAYOUTS)) {
  const versions = meta.versions.filter((v) => VERSIONS.includes(v));
  if (versions.length === 0) continue;
  for (const [router, base] of [false, true].flatMap((r) => BASES[layout].map((b) => [r, b]))) {
    const tag = `${layout}${router ? "-router" : ""}${base}`;
    const built = [];
    for (const sc of scenarios(layout, router).filter((x) => !ONLY || ONLY.includes(x.name))) {
      const dir = path.join(WORK, tag, sc.name);
      baseState(layout, router, dir, base);
      const backup = sc.prepare ? sc.prepare(dir) : null;
      let failed = null;
      for (const args of sc.run) {
        // `undo LAST` after a workflow that found nothing to change (no transaction): nothing to undo
        if (args.includes("LAST") && lastTxn(dir) === null) continue;
        const r = clawauth(dir, [...args.map((a) => (a === "BACKUP" ? backup : a === "LAST" ? lastTxn(dir) : a)), "--yes"]);
        if (!r.ok) {
          failed = r.error;
          break;
        }
      }
      built.push({ sc, dir, failed });
      scenarioCount++;
    }
    // the other way round: states written by OpenClaw's own `models auth order set|clear`
    for (const v of versions.filter((v) => v !== "2026.4.5" && !ONLY)) {
      const P = meta.provider;
      for (const [name, args] of [
        ["oc-order-set", ["models", "auth", "order", "set", "--provider", P, `${P}:bob@example.com`, `${P}:alice-team`]],
        ["oc-order-clear", ["models", "auth", "order", "clear", "--provider", P]],
      ]) {
        const src = path.join(WORK, tag, `${name}-${v}-src`);
        const dir = path.join(WORK, tag, `${name}-${v}`);
        baseState(layout, router, src, base);
        fs.rmSync(dir, { recursive: true, force: true });
        const r = spawnSync(path.join(HERE, "oc.sh"), [v, src, ...args], { encoding: "utf8", env: { ...process.env, CLAWAUTH_OC_CACHE: CACHE, OC_RESULT_DIR: dir } });
        built.push({ sc: { name: `${name}@${v}`, only: v, expect: name === "oc-order-set" ? { order: [`${P}:bob@example.com`, `${P}:alice-team`] } : undefined }, dir, failed: r.status === 0 && fs.existsSync(dir) ? null : `OpenClaw ${args.join(" ")} exited ${r.status}: ${(r.stderr || "").slice(0, 300)}` });
        scenarioCount++;
      }
    }
    // OpenClaw's own session rewrites: its resolver persists its choices (a /new rotates every
    // pin) into sessions.json, and clawauth must read back exactly those pins
    for (const v of versions.filter((v) => (!ONLY || ONLY.includes("oc-session-rewrite")) && (layout === "A" || layout === "B" || layout === "C"))) {
      const src = path.join(WORK, tag, `oc-session-rewrite-${v}-src`);
      const dir = path.join(WORK, tag, `oc-session-rewrite-${v}`);
      baseState(layout, router, src, base);
      const ans = batch(v, [{ id: 0, stateDir: src, newSession: true, persist: true, resultDir: dir, queries: ["resolve"] }]);
      const written = ans.jobs[0].resolve?.sessions ?? {};
      built.push({ sc: { name: `oc-session-rewrite@${v}`, only: v, written }, dir, failed: ans.jobs[0].error ?? null });
      scenarioCount++;
    }
    for (const v of versions) {
      const todo = built.filter((b) => !b.failed && (!b.sc.only || b.sc.only === v));
      for (const b of built.filter((b) => b.failed && (!b.sc.only || b.sc.only === v))) check(v, `${tag}/${b.sc.name}`, "setup", false, b.failed);
      const answers = batch(v, todo.map((b, i) => ({ id: i, stateDir: b.dir })));
      todo.forEach((b, i) => {
        const st = clawauth(b.dir, ["status", "--json", "--all", "--rules", RULES[v]], { json: true, allowFail: true });
        if (!st.ok) {
          check(v, `${tag}/${b.sc.name}`, "clawauth status", false, st.stderr);
          return;
        }
        compare(v, `${tag}/${b.sc.name}`, st.out, answers.jobs[i], b.sc.expect);
        if (layout === "C" || layout === "D") loadChecks(v, `${tag}/${b.sc.name}`, layout, st.out, answers.jobs[i]);
        // pins OpenClaw wrote itself read back field for field
        for (const [key, w] of Object.entries(b.sc.written ?? {})) {
          const mine = st.out.agents[0].sessions.find((x) => x.key === key);
          const want = w.after ?? {};
          check(v, `${tag}/${b.sc.name}`, `pin OpenClaw wrote for ${key}`, Boolean(mine) && (mine.pin ?? null) === (want.authProfileOverride ?? null) && (want.authProfileOverride == null || mine.pin_source === (want.authProfileOverrideSource ?? mine.pin_source)), `clawauth ${show(mine?.pin)}/${show(mine?.pin_source)} openclaw ${show(want)}`);
        }
      });
      if (LINT && v !== "2026.4.5") {
        const base = todo.find((b) => b.sc.name === "base");
        const baseLint = base && lintIds(v, base.dir);
        for (const b of todo.filter((b) => ["order-set", "pin-user", "profile-remove", "resync", "doctor-fix"].includes(b.sc.name))) {
          const l = lintIds(v, b.dir);
          const added = baseLint && l ? [...l].filter((x) => !baseLint.has(x)) : null;
          check(v, `${tag}/${b.sc.name}`, "doctor --lint adds no finding", added !== null && added.length === 0, added ? `new: ${added.join(", ")}` : "lint output unreadable");
        }
      }
    }
  }
}

let failed = 0;
for (const v of VERSIONS) {
  const r = results[v];
  for (const f of r.failures) console.log(`FAIL [${v}] ${f}`);
  failed += r.failed;
}
console.log(`# ${scenarioCount} scenarios in ${((Date.now() - started) / 1000).toFixed(0)} s; work dir ${WORK}`);
for (const v of VERSIONS) {
  console.log(`# OpenClaw ${v}`);
  console.log(`conformance: ${results[v].passed} passed, ${results[v].failed} failed`);
}
if (!opt("--keep")) fs.rmSync(WORK, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
