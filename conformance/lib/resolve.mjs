// resolve.mjs — asks a real OpenClaw release, in-process, what it makes of a state dir.
//
//   node resolve.mjs PKG_DIR STATE_DIR [--agent ID] [--provider P] [--model M] [--harness H]
//                    [--new] [--session KEY]
//       Single mode: OpenClaw's own session resolver for every stored session (or one) of
//       STATE_DIR.  STATE_DIR must already be a throw-away copy (oc-resolve.sh makes one).
//
//   node resolve.mjs PKG_DIR --batch JOBS_FILE|- [--out FILE]
//       Batch mode: JOBS is a JSON array of
//         {"id"?: any, "stateDir": DIR, "agent"?: "main", "sessionKeys"?: [KEY...],
//          "newSession"?: false, "provider"?: P, "model"?: M, "harness"?: H,
//          "queries"?: ["resolve","authList","orderGet","status","resolvedOrder","load"]}
//       Each job runs on its own fresh copy of stateDir (made here, deleted at exit), with
//       OPENCLAW_STATE_DIR pointed at that copy, and yields
//         resolve       = the resolver answers (as in single mode)
//         authList      = what `models auth list --json` prints
//         orderGet      = what `models auth order get --provider P --json` prints
//         status        = from `models status --json`: .auth.oauth.providers[].effectiveProfiles
//                         (profile ids per provider) and .auth.unusableProfiles
//         resolvedOrder = resolveAuthProfileOrder({cfg, store, provider}) called directly
//         load          = every session loaded the way a turn loads it (session-load.mjs):
//                         {via, sessions: {KEY: {accepted, error?, pin}}, rows?: {KEY:
//                         {entry_valid, rowCheck}}, pendingBefore?}; runs last on the copy
//       The CLI command functions (modelsAuthListCommand, ...) are imported from the
//       package's dist chunks and called with a capturing runtime; when one cannot be
//       found or imported, that query falls back to spawning the CLI on the same copy
//       ("via": "cli").  Output: JSON {version, provider, resolver, jobs: [...]}.
//
// Run through ../oc-resolve.sh / ../oc-batch.sh: they give a clean env and a throw-away HOME.
// Functions are located by NAME inside the hashed dist chunks (chunk names change with
// every release):
//   >= 2026.8 (2026.9.6): resolveSessionAuthSelection(params) -> {profileId, source, ...}
//   <= 2026.7.x (4.5, 5.28, 7.35): resolveSessionAuthProfileOverride(params) -> profileId | undefined
// Sessions come from agents/<id>/sessions/sessions.json when present, else from the agent
// database's session_nodes table (2026.7.2+ SQLite layout).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { makeSessionLoader } from "./session-load.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const pkg = argv[0] && path.resolve(argv[0]);
const batchFile = opt("--batch", undefined);
if (!pkg || (!batchFile && !argv[1])) {
  console.error("usage: resolve.mjs PKG_DIR STATE_DIR [--agent ID] [--provider P] [--model M] [--harness H] [--new] [--session KEY]");
  console.error("       resolve.mjs PKG_DIR --batch JOBS_FILE|- [--out FILE]");
  process.exit(2);
}
const dist = path.join(pkg, "dist");
const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;

// ---- locating functions by name in the hashed dist chunks ---------------------------
const distFiles = fs.readdirSync(dist).filter((f) => /\.m?js$/.test(f)).sort();
const sources = new Map();
const src = (f) => {
  if (!sources.has(f)) sources.set(f, fs.readFileSync(path.join(dist, f), "utf8"));
  return sources.get(f);
};
function exportedAs(f, fnName) {
  const m = src(f).match(/export \{([^}]*)\};?\s*$/m);
  if (!m) return null;
  for (const part of m[1].split(",")) {
    const p = part.trim();
    const mm = p.match(/^(\S+) as (\S+)$/);
    if (mm && mm[1] === fnName) return mm[2];
    if (p === fnName) return fnName;
  }
  return null;
}
function findExport(fnName) {
  // 1st choice: the chunk that defines `function NAME(` and exports it.
  for (const f of distFiles) {
    if (!src(f).includes(`function ${fnName}(`)) continue;
    const alias = exportedAs(f, fnName);
    if (alias) return { file: path.join(dist, f), chunk: f, alias, name: fnName };
  }
  // 2nd: a chunk that exports a binding of that name defined another way (2026.9.6:
  // `const { ensureAuthProfileStore, ... } = nativePluginBindings.authStore;` in store-runtime-*.mjs).
  for (const f of distFiles) {
    const s = src(f);
    if (!s.includes(fnName)) continue;
    if (!new RegExp(`(const|let|var)\\s*\\{[^}]*\\b${fnName}\\b[^}]*\\}\\s*=`).test(s)) continue;
    const alias = exportedAs(f, fnName);
    if (alias) return { file: path.join(dist, f), chunk: f, alias, name: fnName };
  }
  return null;
}
async function importFn(fnName) {
  const e = findExport(fnName);
  if (!e) return null;
  const fn = (await import(pathToFileURL(e.file).href))[e.alias];
  return typeof fn === "function" ? { ...e, fn } : null;
}
// openai-codex was retired as a provider id in 2026.5.30 (doctor renames it to openai).
const codexRetired = distFiles.some((f) => src(f).includes("LEGACY_OPENAI_CODEX_PROVIDER_ID"));
const defaultProvider = codexRetired ? "openai" : "openai-codex";
sources.clear();

const selection = await importFn("resolveSessionAuthSelection");
const legacy = selection ? null : await importFn("resolveSessionAuthProfileOverride");
const resolver = selection ?? legacy;
if (!resolver) {
  console.error(`resolve.mjs: no session resolver export found in openclaw@${version}`);
  process.exit(5);
}

// ---- config / sessions ----------------------------------------------------------------
const requireFromPkg = createRequire(path.join(pkg, "package.json"));
function readConfig(stateDir) {
  const p = path.join(stateDir, "openclaw.json");
  let text;
  try {
    text = fs.readFileSync(p, "utf8");
  } catch {
    return {};
  }
  try {
    return JSON.parse(text);
  } catch {
    try {
      return requireFromPkg("json5").parse(text); // OpenClaw's config is JSON5
    } catch {
      return {};
    }
  }
}

async function readSessions(stateDir, agentId) {
  const agentDir = path.join(stateDir, "agents", agentId, "agent");
  const sessionsJson = path.join(stateDir, "agents", agentId, "sessions", "sessions.json");
  if (fs.existsSync(sessionsJson)) {
    return { store: JSON.parse(fs.readFileSync(sessionsJson, "utf8")), source: path.relative(stateDir, sessionsJson) };
  }
  const dbPath = path.join(agentDir, "openclaw-agent.sqlite");
  if (!fs.existsSync(dbPath)) return { store: {}, source: null };
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_nodes'").get();
    if (!hasTable) return { store: {}, source: null };
    const rows = db.prepare("SELECT session_key, entry_json FROM session_nodes ORDER BY session_key").all();
    return {
      store: Object.fromEntries(rows.map((r) => [r.session_key, JSON.parse(r.entry_json)])),
      source: `${path.relative(stateDir, dbPath)}#session_nodes`,
    };
  } finally {
    db.close();
  }
}

const pinFields = (e) => ({
  authProfileOverride: e.authProfileOverride,
  authProfileOverrideSource: e.authProfileOverrideSource,
  authProfileOverrideCompactionCount: e.authProfileOverrideCompactionCount,
});

async function resolveSessions({ stateDir, agentId, provider, model, harness, isNewSession, onlyKeys, persist }) {
  const agentDir = path.join(stateDir, "agents", agentId, "agent");
  const { store: sessionStore, source: sessionSource } = await readSessions(stateDir, agentId);
  // persist: let OpenClaw write its choices back to sessions.json itself (JSON sessions only)
  const sessionsJson = path.join(stateDir, "agents", agentId, "sessions", "sessions.json");
  const storePath = persist && fs.existsSync(sessionsJson) ? sessionsJson : undefined;
  const cfg = readConfig(stateDir);
  const sessions = {};
  for (const [sessionKey, sessionEntry] of Object.entries(sessionStore)) {
    if (onlyKeys && !onlyKeys.includes(sessionKey)) continue;
    const before = pinFields(sessionEntry);
    const modelId = sessionEntry.model ?? model;
    try {
      const params = {
        agentId, cfg, provider, modelId, harnessRuntime: harness, agentDir,
        sessionEntry, sessionStore, sessionKey, storePath, isNewSession,
      };
      const r = await resolver.fn(params);
      const profileId = selection ? r?.profileId : r;
      sessions[sessionKey] = {
        profileId: profileId ?? null,
        source: selection ? (r?.source ?? null) : profileId ? (sessionEntry.authProfileOverrideSource ?? null) : null,
        before,
        after: pinFields(sessionEntry),
      };
    } catch (err) {
      sessions[sessionKey] = { error: String(err?.message ?? err), before };
    }
  }
  for (const k of onlyKeys ?? []) if (!(k in sessions)) sessions[k] = { error: "no such session" };
  return { resolver: resolver.name, provider, isNewSession, sessionSource, sessions };
}

// ---- single mode --------------------------------------------------------------------
if (!batchFile) {
  const stateDir = path.resolve(argv[1]);
  const out = await resolveSessions({
    stateDir,
    agentId: opt("--agent", "main"),
    provider: opt("--provider", defaultProvider),
    model: opt("--model", "gpt-5.5"),
    harness: opt("--harness", "codex"),
    isNewSession: argv.includes("--new"),
    onlyKeys: opt("--session", undefined) ? [opt("--session")] : undefined,
  });
  console.log(JSON.stringify({ version, ...out }, null, 2));
  process.exit(0);
}

// ---- batch mode ---------------------------------------------------------------------
const ALL_QUERIES = ["resolve", "authList", "orderGet", "status", "resolvedOrder", "load"];
const jobs = JSON.parse(batchFile === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(batchFile, "utf8"));
if (!Array.isArray(jobs)) {
  console.error("resolve.mjs: --batch expects a JSON array of jobs");
  process.exit(2);
}
const outFile = opt("--out", undefined);
// OpenClaw code may print to stdout; keep our stdout for the result only.
const realStdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...a) => console.error(...a);
console.info = (...a) => console.error(...a);
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);

// Import only what the jobs ask for: some chunks are expensive to load (2026.4.5's
// models chunk, home of modelsStatusCommand and modelsAuthOrderGetCommand, loads every
// bundled plugin at import time: ~12 s).
const wanted = new Set(jobs.flatMap((j) => j?.queries ?? ALL_QUERIES));
const load = async (q, fnName) => (wanted.has(q) ? importFn(fnName).catch(() => null) : null);
const cmd = {
  authList: await load("authList", "modelsAuthListCommand"), // absent in 2026.4.x (no `models auth list`)
  orderGet: await load("orderGet", "modelsAuthOrderGetCommand"),
  status: await load("status", "modelsStatusCommand"),
};
const ensureStore = await load("resolvedOrder", "ensureAuthProfileStore");
const resolveOrder = await load("resolvedOrder", "resolveAuthProfileOrder");
const sessionLoader = wanted.has("load") ? await makeSessionLoader(importFn).catch(() => null) : null;

class CapturedExit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}
function captureRuntime() {
  const rt = { json: undefined, stdout: [], log: [], err: [] };
  rt.runtime = {
    log: (...a) => rt.log.push(a.join(" ")),
    error: (...a) => rt.err.push(a.join(" ")),
    writeStdout: (s) => rt.stdout.push(String(s)),
    writeJson: (v) => {
      rt.json = JSON.parse(JSON.stringify(v)); // drop undefined exactly as the CLI's JSON output does
    },
    exit: (code) => {
      throw new CapturedExit(code);
    },
  };
  return rt;
}
function parseJsonOutput(rt) {
  if (rt.json !== undefined) return rt.json;
  for (const chunk of [rt.stdout.join(""), rt.log.join("\n")]) {
    const t = chunk.trim();
    if (t.startsWith("{")) return JSON.parse(t);
  }
  return undefined;
}

const NODE = process.execPath;
const CLI = path.join(pkg, "openclaw.mjs");
function runCli(stateCopy, args) {
  const r = spawnSync(NODE, [CLI, ...args], {
    env: { ...process.env, OPENCLAW_STATE_DIR: stateCopy },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 300_000,
  });
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { exitCode: r.status, json, stderr: r.stderr.split("\n").filter((l) => l && !/Gateway service state|ExperimentalWarning|trace-warnings/.test(l)).slice(-5) };
}

async function runCommand(which, opts, cliArgs, stateCopy) {
  const c = cmd[which];
  if (c) {
    const rt = captureRuntime();
    try {
      await c.fn(opts, rt.runtime);
      return { via: c.name, exitCode: 0, json: parseJsonOutput(rt) };
    } catch (err) {
      if (err instanceof CapturedExit) return { via: c.name, exitCode: err.code, json: parseJsonOutput(rt), stderr: rt.err.slice(-5) };
      return { via: c.name, exitCode: 1, error: String(err?.message ?? err) };
    }
  }
  if (which === "authList" && !cliSupportsAuthList) return { via: null, unsupported: `openclaw@${version} has no 'models auth list'` };
  return { via: "cli", ...runCli(stateCopy, cliArgs) };
}
const cliSupportsAuthList = Boolean(cmd.authList) || !/^2026\.4\./.test(version);

const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "clawauth-oc-batch."));
process.on("exit", () => fs.rmSync(workRoot, { recursive: true, force: true }));
const results = [];
const t0 = performance.now();
for (let i = 0; i < jobs.length; i++) {
  const job = jobs[i];
  const started = performance.now();
  const agentId = job.agent ?? "main";
  const provider = job.provider ?? defaultProvider;
  const queries = job.queries ?? ALL_QUERIES;
  const res = { id: job.id ?? i, stateDir: job.stateDir, agent: agentId, provider };
  try {
    if (!job.stateDir || !fs.statSync(job.stateDir).isDirectory()) throw new Error(`no state dir ${job.stateDir}`);
    const copy = path.join(workRoot, String(i), "state");
    fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o700 });
    fs.cpSync(job.stateDir, copy, { recursive: true, preserveTimestamps: true });
    process.env.OPENCLAW_STATE_DIR = copy;
    const agentOpt = agentId === "main" ? undefined : agentId;
    if (queries.includes("authList")) {
      res.authList = await runCommand("authList", { json: true, agent: agentOpt }, ["models", "auth", "list", "--json", ...(agentOpt ? ["--agent", agentOpt] : [])], copy);
    }
    if (queries.includes("orderGet")) {
      res.orderGet = await runCommand("orderGet", { json: true, provider, agent: agentOpt }, ["models", "auth", "order", "get", "--provider", provider, "--json", ...(agentOpt ? ["--agent", agentOpt] : [])], copy);
    }
    if (queries.includes("status")) {
      const r = await runCommand("status", { json: true, agent: agentOpt }, ["models", "status", "--json", ...(agentOpt ? ["--agent", agentOpt] : [])], copy);
      const auth = r.json?.auth;
      res.status = {
        via: r.via,
        exitCode: r.exitCode,
        ...(r.error ? { error: r.error } : {}),
        // null where the release has no effectiveProfiles (2026.4.x)
        effectiveProfiles: auth?.oauth?.providers
          ? Object.fromEntries(auth.oauth.providers.map((p) => [p.provider, p.effectiveProfiles ? p.effectiveProfiles.map((x) => x.profileId) : null]))
          : null,
        unusableProfiles: auth?.unusableProfiles ?? null,
        ...(job.fullStatus ? { json: r.json } : {}),
      };
    }
    if (queries.includes("resolvedOrder")) {
      if (ensureStore && resolveOrder) {
        const agentDir = path.join(copy, "agents", agentId, "agent");
        try {
          const store = ensureStore.fn(agentDir, { allowKeychainPrompt: false });
          res.resolvedOrder = { via: "resolveAuthProfileOrder", order: resolveOrder.fn({ cfg: readConfig(copy), store, provider }) };
        } catch (err) {
          res.resolvedOrder = { via: "resolveAuthProfileOrder", error: String(err?.message ?? err) };
        }
      } else {
        res.resolvedOrder = { via: null, unsupported: "resolveAuthProfileOrder/ensureAuthProfileStore not found" };
      }
    }
    if (queries.includes("resolve")) {
      res.resolve = await resolveSessions({
        stateDir: copy,
        agentId,
        provider,
        model: job.model ?? "gpt-5.5",
        harness: job.harness ?? "codex",
        isNewSession: Boolean(job.newSession),
        onlyKeys: job.sessionKeys,
        persist: Boolean(job.persist),
      });
    }
    // last: OpenClaw's own session loading opens the agent DB writable (as a turn does)
    if (queries.includes("load")) {
      if (sessionLoader) {
        try {
          res.load = await sessionLoader.run(copy, agentId, job.sessionKeys);
        } catch (err) {
          res.load = { via: null, error: String(err?.message ?? err) };
        }
      } else {
        res.load = { via: null, unsupported: `openclaw@${version}: no session loading function found` };
      }
    }
    // keep the copy OpenClaw may have written (job.persist), for the caller to read back
    if (job.resultDir) {
      fs.rmSync(job.resultDir, { recursive: true, force: true });
      fs.cpSync(copy, job.resultDir, { recursive: true, preserveTimestamps: true });
    }
  } catch (err) {
    res.error = String(err?.message ?? err);
  }
  res.ms = Math.round(performance.now() - started);
  results.push(res);
}
const payload = JSON.stringify(
  {
    version,
    provider: defaultProvider,
    resolver: resolver.name,
    functions: Object.fromEntries(
      [["resolver", resolver], ["authList", cmd.authList], ["orderGet", cmd.orderGet], ["status", cmd.status], ["ensureAuthProfileStore", ensureStore], ["resolveAuthProfileOrder", resolveOrder],
       ...Object.entries(sessionLoader?.functions ?? {}).map(([k, v]) => [`load.${k}`, v])].map(
        ([k, v]) => [k, v ? `${v.name} (${v.chunk} export ${v.alias})` : null],
      ),
    ),
    totalMs: Math.round(performance.now() - t0),
    jobs: results,
  },
  null,
  2,
);
if (outFile) fs.writeFileSync(outFile, payload + "\n");
else realStdoutWrite(payload + "\n");
process.exit(0);
