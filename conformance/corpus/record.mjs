// record.mjs — records what OpenClaw's OWN session resolver answers for many generated
// scenarios, so `tests/resolver_corpus.rs` can hold clawauth's reproduction (src/resolve.rs)
// to it without OpenClaw installed.
//
//   node record.mjs --cache CACHE --out DIR [--versions 4.5,5.28,9.6] [--seed N] [--scenarios N]
//
// CACHE is a dir made by the oracle's setup.sh (node/ + openclaw/<version>/). Run it through
// record.sh, which gives it a clean environment and a throw-away HOME (OpenClaw overlays
// credentials it finds under HOME, e.g. ~/.codex/auth.json).
//
// Scenarios are generated from a seeded PRNG, so a re-record only changes timestamps (the
// real resolver reads Date.now(); every window is >= 1 h away from `now`, so recording
// latency cannot flip an answer). Each version runs in its own child process: the releases
// keep process-global caches and read OPENCLAW_STATE_DIR.
//
// State is materialized the way each release reads it:
//   4.5   agents/main/agent/auth-profiles.json with inline order/lastGood/usageStats
//   5.28  auth-profiles.json {version, profiles} + auth-state.json {version, order, lastGood, usageStats}
//   9.6   a layout-D dir made ONCE by `doctor --fix` from a JSON dir, then for each scenario the
//         rows config_machine_state `authProfiles.store` / `authProfiles.state` are rewritten
//         in place (compact JSON, as 9.6 writes them). Sessions are passed to the resolver as
//         params (it takes sessionEntry/sessionStore directly), never persisted (storePath unset).
// Every scenario carries a canary in lastGood (never used for selection); before asking the
// resolver we check the release actually loaded THIS scenario's state, not a cached one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { registerHooks } from "node:module";

// Any stable release: `--versions 4.5,4.7,9.2` (short M.D form) or `2026.4.7`. Default: every
// release installed in CACHE. The storage layout, provider id and gated scenario features
// follow the release (see rel()/layoutOf()).
const short = (v) => String(v).trim().replace(/^2026\./, "");
const full = (v) => `2026.${short(v)}`;
const rel = (v) => short(v).split(".").map(Number);
const cmp = (a, b) => { const [x, y] = [rel(a), rel(b)]; return x[0] - y[0] || x[1] - y[1]; };
const atLeast = (v, w) => cmp(v, w) >= 0;
// A <= 4.5 < B <= 6.1 < C <= 7.35 < D
const layoutOf = (v) => (!atLeast(v, "4.7") ? "A" : !atLeast(v, "6.5") ? "B" : !atLeast(v, "8.1") ? "C" : "D");
const isD = (v) => layoutOf(v) === "D";
// the three original corpora keep their seeds and size; every other release gets a smaller
// file in the per-scenario format (sessions nested, scenario fields not repeated per case)
const LEGACY = { "4.5": 45, "5.28": 528, "9.6": 96 };
const seedTag = (v) => LEGACY[v] ?? rel(v)[0] * 100 + rel(v)[1];
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const cache = opt("--cache");
const seed = Number(opt("--seed", "20260528"));
const nScenariosOpt = opt("--scenarios");
const nScenariosFor = (v) => Number(nScenariosOpt ?? (LEGACY[v] ? "110" : "40"));
if (!cache) {
  console.error("usage: record.mjs --cache CACHE --out DIR [--versions 4.5,5.28,9.6] [--seed N] [--scenarios N]");
  process.exit(2);
}
const nodeBin = process.execPath;
const pkgDir = (v) => path.join(cache, "openclaw", full(v), "node_modules", "openclaw");

// ---------------------------------------------------------------- deterministic generator

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const HOUR = 3600_000;

function makeGen(rng) {
  const g = {
    f: rng,
    int: (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1)),
    chance: (p) => rng() < p,
    pick: (xs) => xs[Math.floor(rng() * xs.length)],
    shuffle: (xs) => {
      const a = [...xs];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    },
    // weighted choice: [[weight, value], ...]
    w: (pairs) => {
      const total = pairs.reduce((s, [p]) => s + p, 0);
      let x = rng() * total;
      for (const [p, v] of pairs) {
        if ((x -= p) < 0) return v;
      }
      return pairs[pairs.length - 1][1];
    },
  };
  return g;
}

// The credential table shared by all cases of one version (timestamps relative to baseNow).
function profileTable(v, baseNow) {
  const P = isD(v) ? "openai" : "openai-codex";
  const fut = baseNow + 30 * 24 * HOUR;
  const past = baseNow - 2 * 24 * HOUR;
  const oauth = (who, extra = {}) => ({
    type: "oauth", provider: P, access: `fake-access-${who}`, refresh: `fake-refresh-${who}`,
    expires: fut, email: `${who}@example.com`, accountId: `acct-${who}`, ...extra,
  });
  const t = {
    [`${P}:alice@example.com`]: oauth("alice"),
    [`${P}:bob@example.com`]: oauth("bob", { expires: past }), // expired oauth: still eligible
    [`${P}:carol`]: { type: "oauth", provider: P, refresh: "fake-refresh-carol" }, // refresh only, no expires
    [`${P}:dan@example.com`]: oauth("dan", { displayName: "Dan" }),
    [`${P}:dave-token`]: { type: "token", provider: P, token: "fake-token-dave", expires: fut },
    [`${P}:erin-token`]: { type: "token", provider: P, token: "fake-token-erin", expires: past }, // expired token
    [`${P}:frank-token`]: { type: "token", provider: P, token: "fake-token-frank" }, // no expires
    [`${P}:default`]: { type: "api_key", provider: P, key: "sk-fake-default" },
    [`${P}:empty`]: { type: "oauth", provider: P, access: " ", refresh: "" }, // no material
    [`${P}:upper`]: oauth("upper", { provider: P.toUpperCase() }), // provider normalized at load
    "anthropic:zed": { type: "oauth", provider: "anthropic", access: "fake-access-zed", refresh: "fake-refresh-zed" },
  };
  if (isD(v)) {
    t["openai-codex:legacy"] = oauth("legacy", { provider: "openai-codex" }); // legacy id: wrong provider in 9.6
    t["openai:key2"] = { type: "api_key", provider: "openai", key: "sk-fake-key2" };
  } else {
    t["openai:key"] = { type: "api_key", provider: "openai", key: "sk-fake-openai" }; // joins openai-codex rotation (5.28)
    t["openai:oauth"] = oauth("oai", { provider: "openai" }); // not openai-codex
  }
  return { P, table: t };
}

const MODELS = ["gpt-5.5", "gpt-x"];

function genScenario(g, v, P, table, baseNow, idx) {
  const allIds = Object.keys(table);
  const mine = allIds.filter((id) => id.startsWith(`${P}:`));
  const ghost = `${P}:ghost`;
  // profiles present in the store: at least one usable oauth of the provider
  let ids = g.shuffle(allIds).slice(0, g.int(2, 7));
  if (!ids.includes(`${P}:alice@example.com`) && !ids.includes(`${P}:dan@example.com`)) ids.push(g.pick([`${P}:alice@example.com`, `${P}:dan@example.com`]));
  ids = g.shuffle(ids);
  const present = ids;
  const ofProv = present.filter((id) => mine.includes(id) || (!isD(v) && id === "openai:key") || (isD(v) && id === "openai:key2"));

  const orderList = () => {
    if (g.chance(0.05)) return [];
    const base = g.shuffle(ofProv.length ? ofProv : present);
    let l = base.slice(0, g.int(1, base.length));
    if (g.chance(0.15)) l.splice(g.int(0, l.length), 0, ghost);
    if (g.chance(0.1)) l.push(g.pick(present));
    if (g.chance(0.08)) l.push(g.pick(["anthropic:zed", isD(v) ? "openai-codex:legacy" : "openai:oauth"]));
    if (g.chance(0.05) && l.length) l[0] = ` ${l[0]} `;
    if (g.chance(0.03)) l = [ghost]; // every listed id missing: falls back to the store
    return l;
  };
  const provKey = () => (g.chance(0.1) ? P.replace(/^o/, "O").replace("-c", "-C") : P);

  const mode = g.w([[40, "stored"], [22, "config"], [10, "both"], [28, "none"], ...(layoutOf(v) === "B" || layoutOf(v) === "C" ? [[8, "alias"]] : [])]);
  let order;
  const config = {};
  if (mode === "stored" || mode === "both") order = { [provKey()]: orderList() };
  if (mode === "config" || mode === "both") config.auth = { order: { [provKey()]: orderList() } };
  // the explicit list in effect, for pins late in it (rotation / rate-limit retry-back)
  const explicit = (order && Object.values(order)[0]) || (config.auth?.order && Object.values(config.auth.order)[0]) || [];
  if (mode === "alias") {
    if (g.chance(0.5)) order = { openai: orderList() };
    else config.auth = { order: { openai: orderList() } };
  }
  if (order && g.chance(0.1)) order.anthropic = ["anthropic:zed"];
  if (g.chance(0.3)) {
    config.auth ??= {};
    const profiles = {};
    const pool = g.shuffle([...present, ...(g.chance(0.2) ? [ghost] : [])]);
    for (const id of pool.slice(0, g.int(1, pool.length))) {
      const cred = table[id];
      const typ = cred?.type ?? "oauth";
      const e = { provider: g.chance(0.9) ? (cred?.provider ?? P).toLowerCase() : g.pick(["anthropic", P]) };
      const m = g.w([[75, typ], [10, typ === "oauth" ? "token" : "oauth"], [7, "api_key"], [8, undefined]]);
      if (m !== undefined) e.mode = m;
      if (g.chance(0.3)) e.email = `cfg-${id.split(":")[1]}`;
      if (g.chance(0.15)) e.displayName = "Configured";
      profiles[id] = e;
    }
    config.auth.profiles = profiles;
  }

  const usageStats = {};
  const used = new Set();
  const stamp = (lo, hi) => {
    let x;
    do x = baseNow + g.int(lo, hi) * 60_000;
    while (used.has(x));
    used.add(x);
    return x;
  };
  for (const id of g.shuffle([...present, ...(g.chance(0.1) ? [ghost] : [])])) {
    if (g.chance(0.3)) continue;
    const s = {};
    if (g.chance(0.7)) s.lastUsed = stamp(-600, -1);
    const win = g.w([
      [45, "none"], [10, "cooldown-past"], [15, "cooldown"], [10, "cooldown-model"], [6, "blocked"],
      [4, "blocked-past"], [5, "disabled"], [3, "disabled-past"], [2, "string"],
    ]);
    if (win === "cooldown-past") Object.assign(s, { cooldownUntil: stamp(-600, -60), cooldownReason: "rate_limit" });
    if (win === "cooldown") Object.assign(s, { cooldownUntil: stamp(60, 3000), cooldownReason: g.pick(["rate_limit", "auth", "overloaded", "timeout"]) });
    if (win === "cooldown-model") Object.assign(s, { cooldownUntil: stamp(60, 3000), cooldownReason: g.pick(["rate_limit", "rate_limit", "model_not_found", "auth"]), cooldownModel: g.pick(MODELS) });
    if (win === "blocked") {
      Object.assign(s, { blockedUntil: stamp(60, 3000), blockedReason: "subscription_limit", blockedSource: "wham" });
      if (isD(v) && g.chance(0.5)) Object.assign(s, { blockedScope: "model", blockedModel: g.pick(MODELS) });
    }
    if (win === "blocked-past") Object.assign(s, { blockedUntil: stamp(-600, -60), blockedReason: "subscription_limit", blockedSource: "wham" });
    if (win === "disabled") Object.assign(s, { disabledUntil: stamp(60, 3000), disabledReason: "billing" });
    if (win === "disabled-past") Object.assign(s, { disabledUntil: stamp(-600, -60), disabledReason: "billing" });
    if (win === "string") s.cooldownUntil = String(stamp(60, 3000)); // dropped at load: no cooldown
    if (win !== "none" && win !== "string") s.errorCount = g.int(1, 4);
    if (g.chance(isD(v) ? 0.3 : 0.1)) {
      s.failureCounts = { rate_limit: g.int(1, 3) };
      s.errorCount ??= s.failureCounts.rate_limit;
      s.lastFailureAt = stamp(-600, -1);
    }
    if (Object.keys(s).length) usageStats[id] = s;
  }
  // canary: lastGood is never used for selection; 9.6 drops entries naming no existing profile
  const lastGood = { [`canary-${idx}`]: present[0] };
  if (g.chance(0.4)) lastGood[P] = g.pick(present);

  const sessions = [];
  const nSess = g.int(5, 8);
  for (let j = 0; j < nSess; j++) {
    const entry = { sessionId: `00000000-0000-4000-8000-${String(idx * 100 + j).padStart(12, "0")}`, updatedAt: baseNow - (j + 1) * 60_000 };
    const model = g.w([[50, "gpt-5.5"], [20, "gpt-x"], [30, undefined]]);
    if (model) Object.assign(entry, { modelProvider: "openai", model });
    if (g.chance(0.7)) entry.compactionCount = g.int(0, 3);
    const cc = entry.compactionCount ?? 0;
    const kind = g.w([
      [18, "none"], [20, "user"], [22, "auto"], [4, "auto-nocount"], [7, "nosrc-count"], [7, "nosrc"],
      [7, "dangling"], [4, "wrongprov"], [8, "auto-late"], [3, "space"], [3, "emptysrc"], ...(isD(v) ? [[3, "user-link"]] : []),
    ]);
    const pid = () => g.pick(g.chance(0.8) && ofProv.length ? ofProv : present);
    const count = () => (g.chance(0.5) ? cc : Math.max(0, cc - g.int(1, 2)));
    if (kind === "user") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideSource: "user" });
    if (kind === "user-link") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideSource: "user-link" });
    if (kind === "auto") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideSource: "auto", authProfileOverrideCompactionCount: count() });
    if (kind === "auto-late") {
      const late = explicit.map((x) => x.trim()).filter((x) => present.includes(x));
      Object.assign(entry, { authProfileOverride: late.length ? late[late.length - 1] : pid(), authProfileOverrideSource: "auto", authProfileOverrideCompactionCount: count() });
    }
    if (kind === "auto-nocount") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideSource: "auto" });
    if (kind === "nosrc-count") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideCompactionCount: count() });
    if (kind === "nosrc") Object.assign(entry, { authProfileOverride: pid() });
    if (kind === "dangling") Object.assign(entry, { authProfileOverride: g.pick([ghost, "anthropic:ghost", "ghost"]), authProfileOverrideSource: g.pick(["user", "auto"]) }, g.chance(0.5) ? { authProfileOverrideCompactionCount: cc } : {});
    if (kind === "wrongprov") Object.assign(entry, { authProfileOverride: g.pick(["anthropic:zed", isD(v) ? "openai-codex:legacy" : "openai:oauth"]), authProfileOverrideSource: g.pick(["user", "auto"]) });
    if (kind === "space") Object.assign(entry, { authProfileOverride: ` ${pid()} `, authProfileOverrideSource: g.pick(["user", "auto"]), authProfileOverrideCompactionCount: cc });
    if (kind === "emptysrc") Object.assign(entry, { authProfileOverride: pid(), authProfileOverrideSource: "" }, g.chance(0.5) ? { authProfileOverrideCompactionCount: cc } : {});
    sessions.push({ key: `agent:main:s${idx}-${j}-${kind}`, entry, newSession: g.chance(0.25) });
  }
  return { name: `s${idx}`, mode, profiles: present, order, lastGood, usageStats, config, sessions };
}

// ---------------------------------------------------------------- parent: orchestrate

function findOwnPackages() {
  const dir = path.join(cache, "openclaw");
  return (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    .filter((d) => /^2026\.\d+\.\d+$/.test(d) && fs.existsSync(path.join(dir, d, "node_modules", "openclaw", "dist")))
    .map(short)
    .sort(cmp);
}

function cleanEnv(stateDir, home) {
  return {
    PATH: `${path.dirname(nodeBin)}:/usr/bin:/bin`, HOME: home, XDG_CACHE_HOME: path.join(home, ".cache"),
    TMPDIR: process.env.TMPDIR ?? "/tmp", OPENCLAW_STATE_DIR: stateDir, OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1", NO_COLOR: "1", FORCE_COLOR: "0", TERM: "dumb", TZ: "UTC", LANG: "C.UTF-8",
  };
}

// A layout-C/D dir, made the way users get one: that release's doctor --fix on a JSON-era dir.
function makeLayoutSqlite(work, v) {
  const dir = path.join(work, `state-${v}`);
  const agent = path.join(dir, "agents", "main", "agent");
  fs.mkdirSync(agent, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, "agents", "main", "sessions"), { recursive: true, mode: 0o700 });
  const profiles = { "openai-codex:seed@example.com": { type: "oauth", provider: "openai-codex", access: "fake-access-seed", refresh: "fake-refresh-seed", expires: Date.now() + 30 * 24 * HOUR, email: "seed@example.com" } };
  fs.writeFileSync(path.join(agent, "auth-profiles.json"), JSON.stringify({ version: 1, profiles }, null, 2) + "\n", { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "agents", "main", "sessions", "sessions.json"), "{}", { mode: 0o600 });
  const home = path.join(work, "home-doctor");
  fs.mkdirSync(home, { recursive: true });
  console.error(`record: ${v} doctor --fix (layout ${layoutOf(v)} template, ~15-50 s)...`);
  const r = spawnSync(nodeBin, [path.join(pkgDir(v), "openclaw.mjs"), "doctor", "--fix", "--non-interactive"], { env: cleanEnv(dir, home), stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const db = isD(v) ? path.join(dir, "state", "openclaw.sqlite") : path.join(agent, "openclaw-agent.sqlite");
  if (r.status !== 0 || !fs.existsSync(db)) {
    console.error(r.stdout, r.stderr);
    throw new Error(`${v} doctor --fix failed (exit ${r.status})`);
  }
  return dir;
}

async function parent() {
  const outDir = opt("--out");
  if (!outDir) throw new Error("--out DIR required");
  const have = findOwnPackages();
  const want = opt("--versions") ? opt("--versions").split(",").map(short).filter(Boolean) : have;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "clawauth-corpus-"));
  try {
    for (const v of want) {
      if (!have.includes(v)) {
        console.error(`record: openclaw@${full(v)} not in ${cache}, skipping ${v}`);
        continue;
      }
      let stateDir;
      if (layoutOf(v) === "C" || isD(v)) stateDir = makeLayoutSqlite(work, v);
      else {
        stateDir = path.join(work, `state-${v}`);
        fs.mkdirSync(path.join(stateDir, "agents", "main", "agent"), { recursive: true, mode: 0o700 });
      }
      const home = path.join(work, `home-${v}`);
      fs.mkdirSync(home, { recursive: true });
      const outFile = path.join(outDir, `resolver-${v}.json`);
      const r = spawnSync(nodeBin, [fileURLToPath(import.meta.url), "--child", v, "--cache", cache, "--seed", String(seed), "--scenarios", String(nScenariosFor(v)), "--child-out", outFile], { env: cleanEnv(stateDir, home), stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" });
      const noise = /ExperimentalWarning|--trace-warnings|Gateway service state/;
      process.stderr.write(r.stderr.split("\n").filter((l) => l && !noise.test(l)).map((l) => l + "\n").join(""));
      if (r.status !== 0) throw new Error(`recording ${v} failed (exit ${r.status})`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- child: one release

function findExport(dist, fnName) {
  const files = fs.readdirSync(dist).filter((f) => /\.m?js$/.test(f));
  let fallback = null;
  for (const f of files) {
    const src = fs.readFileSync(path.join(dist, f), "utf8");
    if (!src.includes(fnName)) continue;
    const m = src.match(/export \{([^}]*)\};?\s*$/m);
    if (!m) continue;
    for (const part of m[1].split(",")) {
      const p = part.trim();
      const mm = p.match(/^(\S+) as (\S+)$/);
      const hit = mm ? mm[1] === fnName && { file: path.join(dist, f), alias: mm[2] } : p === fnName && { file: path.join(dist, f), alias: fnName };
      if (hit) {
        if (src.includes(`function ${fnName}(`)) return hit;
        fallback ??= hit;
      }
    }
  }
  if (fallback) return fallback;
  // 2026.2.17 - 2.23 bundle the session resolver into their chunks without exporting it: load
  // the smallest chunk that defines it once more, under a query that makes the hook below
  // append an export (its relative imports resolve as for the chunk itself; nothing on disk
  // changes)
  const defining = files
    .map((f) => path.join(dist, f))
    .filter((f) => fs.readFileSync(f, "utf8").includes(`function ${fnName}(`))
    .sort((a, b) => fs.statSync(a).size - fs.statSync(b).size);
  if (!defining.length) return null;
  return { file: defining[0], alias: `__clawauth_${fnName}`, query: `clawauth-export=${fnName}` };
}

// appends `export { NAME as __clawauth_NAME }` to a chunk imported with `?clawauth-export=NAME`
registerHooks({
  load(url, context, nextLoad) {
    const m = url.match(/[?&]clawauth-export=([A-Za-z0-9_$]+)$/);
    const r = nextLoad(url, context);
    if (!m) return r;
    const src = String(r.source);
    return { ...r, format: "module", source: `${src}\nexport { ${m[1]} as __clawauth_${m[1]} };\n` };
  },
});

async function child(v) {
  const outFile = opt("--child-out");
  const stateDir = process.env.OPENCLAW_STATE_DIR;
  const pkg = pkgDir(v);
  const dist = path.join(pkg, "dist");
  const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;
  const load = async (name, optional = false) => {
    const e = findExport(dist, name);
    if (!e) {
      if (optional) return undefined;
      throw new Error(`${name} not exported by openclaw@${version}`);
    }
    const url = pathToFileURL(e.file).href + (e.query ? `?${e.query}` : "");
    if (e.query) console.error(`record: openclaw@${version}: ${name} is not exported; loaded from ${path.basename(e.file)} with an added export`);
    return (await import(url))[e.alias];
  };
  const selection = await load("resolveSessionAuthSelection", true);
  const legacy = selection ? undefined : await load("resolveSessionAuthProfileOverride");
  const resolveAuthProfileOrder = await load("resolveAuthProfileOrder");
  // 9.2+ resolve a session on the order for its model; 8.1 - 9.1 on the plain order (the
  // 8.1 / 9.1 corpora were recorded before this was found: their effectiveOrder is the
  // model-scoped one, which tests/resolver_corpus.rs ignores for those releases)
  const withMetadata = atLeast(v, "9.2") ? await load("resolveAuthProfileOrderWithMetadata", true) : undefined;
  const nScenarios = nScenariosFor(v);
  const lay = layoutOf(v);
  const ensureAuthProfileStore = await load("ensureAuthProfileStore");

  const agentDir = path.join(stateDir, "agents", "main", "agent");
  const baseNow = Date.now();
  const { P, table } = profileTable(v, baseNow);
  const g = makeGen(mulberry32(seed ^ seedTag(v)));

  let db;
  let bump = 0;
  if (lay === "C" || lay === "D") {
    const { DatabaseSync } = await import("node:sqlite");
    db = new DatabaseSync(lay === "D" ? path.join(stateDir, "state", "openclaw.sqlite") : path.join(agentDir, "openclaw-agent.sqlite"));
    db.exec("PRAGMA busy_timeout = 5000");
  }
  const materialize = (sc) => {
    const profiles = Object.fromEntries(sc.profiles.map((id) => [id, table[id]]));
    const state = { version: 1 };
    if (sc.order) state.order = sc.order;
    state.lastGood = sc.lastGood;
    if (Object.keys(sc.usageStats).length) state.usageStats = sc.usageStats;
    if (lay === "C") {
      bump += 1;
      db.exec("BEGIN IMMEDIATE");
      db.prepare("INSERT INTO auth_profile_store(store_key, store_json, updated_at) VALUES('primary', ?, ?) ON CONFLICT(store_key) DO UPDATE SET store_json = excluded.store_json, updated_at = excluded.updated_at").run(JSON.stringify({ version: 1, profiles }), baseNow + bump);
      db.prepare("INSERT INTO auth_profile_state(state_key, state_json, updated_at) VALUES('primary', ?, ?) ON CONFLICT(state_key) DO UPDATE SET state_json = excluded.state_json, updated_at = excluded.updated_at").run(JSON.stringify(state), baseNow + bump);
      db.exec("COMMIT");
      return;
    }
    if (lay === "D") {
      const put = db.prepare("INSERT INTO config_machine_state(state_key, value_json, updated_at_ms) VALUES(?, ?, ?) ON CONFLICT(state_key) DO UPDATE SET value_json = excluded.value_json, updated_at_ms = excluded.updated_at_ms");
      bump += 1;
      db.exec("BEGIN IMMEDIATE");
      put.run("authProfiles.store", JSON.stringify({ version: 1, profiles }), baseNow + bump);
      put.run("authProfiles.state", JSON.stringify(state), baseNow + bump);
      db.exec("COMMIT");
      return;
    }
    const w = (name, value) => {
      const p = path.join(agentDir, name);
      fs.writeFileSync(p, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
      // the JSON releases cache the store by mtime: give every scenario its own
      bump += 1;
      const t = new Date(baseNow - 86400_000 + bump * 1000);
      fs.utimesSync(p, t, t);
    };
    if (lay === "A") w("auth-profiles.json", { ...state, profiles });
    else {
      w("auth-profiles.json", { version: 1, profiles });
      w("auth-state.json", state);
    }
  };

  const cases = [];
  const scenarios = [];
  let errors = 0;
  for (let i = 0; i < nScenarios; i++) {
    const sc = genScenario(g, v, P, table, baseNow, i);
    materialize(sc);
    const loaded = ensureAuthProfileStore(agentDir, { allowKeychainPrompt: false });
    if (!loaded?.lastGood?.[`canary-${i}`]) throw new Error(`${sc.name}: openclaw@${version} did not load this scenario's state (lastGood ${JSON.stringify(loaded?.lastGood)})`);
    const plainOrder = resolveAuthProfileOrder({ cfg: sc.config, store: ensureAuthProfileStore(agentDir, { allowKeychainPrompt: false }), provider: P });
    const scen = { name: sc.name, profiles: sc.profiles, order: sc.order ?? null, lastGood: sc.lastGood, usageStats: sc.usageStats, config: sc.config, sessions: [] };
    scenarios.push(scen);
    for (const s of sc.sessions) {
      const entry = structuredClone(s.entry);
      const sessionStore = { [s.key]: entry };
      let effectiveOrder = plainOrder;
      if (withMetadata) {
        effectiveOrder = withMetadata({ cfg: sc.config, store: ensureAuthProfileStore(agentDir, { allowKeychainPrompt: false }), provider: P, forModel: entry.model }).profileIds;
      }
      const now = Date.now();
      const params = { agentId: "main", cfg: sc.config, provider: P, modelId: entry.model ?? "gpt-5.5", harnessRuntime: "codex", agentDir, sessionEntry: entry, sessionStore, sessionKey: s.key, storePath: undefined, isNewSession: s.newSession };
      let expected;
      try {
        const r = await (selection ?? legacy)(params);
        const profileId = (selection ? r?.profileId : r) ?? null;
        const pick = (k) => (entry[k] === undefined ? null : entry[k]);
        expected = {
          profileId,
          source: selection ? (r?.source ?? null) : profileId ? pick("authProfileOverrideSource") : null,
          after: { authProfileOverride: pick("authProfileOverride"), authProfileOverrideSource: pick("authProfileOverrideSource"), authProfileOverrideCompactionCount: pick("authProfileOverrideCompactionCount") },
          effectiveOrder,
        };
        if (withMetadata && JSON.stringify(plainOrder) !== JSON.stringify(effectiveOrder)) expected.plainOrder = plainOrder;
      } catch (err) {
        errors += 1;
        expected = { error: String(err?.message ?? err), effectiveOrder };
      }
      const c = { name: `${v}/${sc.name}/${s.key.split(":").pop()}${s.newSession ? "/new" : ""}`, rules: v, now, provider: P, profiles: sc.profiles, order: sc.order ?? null, lastGood: sc.lastGood, usageStats: sc.usageStats, config: sc.config, session: { key: s.key, entry: s.entry }, newSession: s.newSession, expected };
      cases.push(c);
      scen.sessions.push({ name: c.name, now, key: s.key, entry: s.entry, newSession: s.newSession, expected });
    }
  }
  // legacy corpora: one flat case per line; the others: one scenario per line, its sessions
  // nested (what a case repeats per session is stored once)
  const [key, rows] = LEGACY[v] ? ["cases", cases] : ["scenarios", scenarios];
  const out = { openclaw: version, rules: v, layout: lay, provider: P, seed, recordedAt: new Date(baseNow).toISOString(), baseNow, note: "generated by conformance/corpus/record.sh; do not edit by hand", profileTable: table, [key]: rows };
  // one row per line: small diffs on re-record, still plain JSON
  const body = `{\n${Object.entries(out).filter(([k]) => k !== key).map(([k, val]) => `  ${JSON.stringify(k)}: ${JSON.stringify(val)},`).join("\n")}\n  ${JSON.stringify(key)}: [\n${rows.map((c) => "    " + JSON.stringify(c)).join(",\n")}\n  ]\n}\n`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, body);
  console.error(`record: openclaw@${version}: ${cases.length} session resolutions (${nScenarios} scenarios, ${errors} threw) -> ${outFile}`);
}

if (argv.includes("--child")) {
  await child(opt("--child"));
  // a chunk loaded for an unexported resolver (2.17 - 2.23) may leave CLI start-up work
  // queued (it parses this process's argv and fails): the recording is written, stop here
  process.exit(0);
}
else await parent();
