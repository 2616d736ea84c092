// session-load.mjs — loads every session of a state dir the way a real OpenClaw turn does,
// and reports per session key whether OpenClaw accepts it (with OpenClaw's own error if not).
// Used by resolve.mjs (query "load" of the batch mode, in the same node process as the other
// queries); the functions are found by NAME in the hashed dist chunks (resolve.mjs findExport).
//
// >= 2026.8 (SQLite sessions, agent DB session_nodes), two views, both must accept:
//   live: readSessionEntryRow(database, KEY) — the read every turn reaches (loadSessionEntry ->
//     resolveSessionEntry -> readSessionEntryRow -> assertCanonicalSqliteSessionKeysCurrent +
//     parseReadableSqliteSessionEntryRow) — on a plain read-only handle of the copy, opened
//     BEFORE any OpenClaw open of it.  That is how a gateway that was already running when
//     clawauth wrote sees the rows: it opened (and schema-ensured) the DB long before.  A
//     FRESH OpenClaw open runs ensureSessionEntryValidityProjection, which silently settles
//     every entry_valid = 0 row (1 if parseSqliteSessionEntryRecord accepts it, else -1 =
//     the session is gone), so a cold process alone would hide a missing entry_valid = 1.
//   cold (a gateway (re)start / a CLI turn):
//   loadSessionEntryForAdmission({agentId, sessionKey, readConsistency: "latest", env}) —
//     what a turn's work admission calls (get-reply: beginSessionWorkAdmission ->
//     assertAllowed); its read path (readSessionEntryRow) first runs
//     assertCanonicalSqliteSessionKeysCurrent (validateCanonicalSessionRow over the whole DB
//     on a cold process, or over session_canonical_validation_pending when the DB carries a
//     matching canonical_ready receipt) and then parseReadableSqliteSessionEntryRow; a bad
//     row throws "invalid persisted session row requires repair for KEY; stop the Gateway and
//     run openclaw doctor --fix" for EVERY key of that DB.  The database claim is released.
//   loadSessionEntry({agentId, sessionKey, env}) — what the agent runner re-reads during the
//     turn (same read path, writable owner).
//   rows: per session_nodes row, validateCanonicalSessionRow(row, mainKey) called directly on
//     the row (the same projection canonicalSessionValidationQuery selects), so a failure names
//     the row that is bad; plus entry_valid and the pending-validation queue.
// <= 2026.7.x (sessions.json; 7.35 keeps sessions there even on its SQLite auth layout):
//   getSessionEntry({agentId, sessionKey, env}) -> readSessionEntry -> loadSessionStore, which
//   parses the file, applies its migrations and normalizeSessionStore, and silently DROPS an
//   entry whose shape is invalid (normalizePersistedSessionEntryShape: unsafe sessionId).
//   There is no entry_valid / canonical validation in 7.x.  Accepted = the entry comes back,
//   with the same pin fields as the file holds.
import fs from "node:fs";
import path from "node:path";

const pinFields = (e) => ({
  authProfileOverride: e?.authProfileOverride,
  authProfileOverrideSource: e?.authProfileOverrideSource,
  authProfileOverrideCompactionCount: e?.authProfileOverrideCompactionCount,
});
const errText = (err) => String(err?.message ?? err);

export async function makeSessionLoader(importFn) {
  const admission = await importFn("loadSessionEntryForAdmission").catch(() => null);
  if (admission) {
    const live = await importFn("readSessionEntryRow").catch(() => null);
    const load = await importFn("loadSessionEntry").catch(() => null);
    const validateRow = await importFn("validateCanonicalSessionRow").catch(() => null);
    const closeAll = await importFn("closeOpenClawAgentDatabasesForTest").catch(() => null);
    const fns = { live, admission, load, validateRow, closeAll };
    return { functions: fns, run: (stateDir, agentId, onlyKeys) => loadSqlite(fns, stateDir, agentId, onlyKeys) };
  }
  const getEntry = await importFn("getSessionEntry").catch(() => null);
  const readEntry = getEntry ? null : await importFn("readSessionEntry").catch(() => null);
  if (!getEntry && !readEntry) return null;
  return {
    functions: { getEntry: getEntry ?? readEntry },
    run: (stateDir, agentId, onlyKeys) => loadJson(getEntry, readEntry, stateDir, agentId, onlyKeys),
  };
}

async function sqliteRows(dbPath) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const has = (t) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t);
    if (!has("session_nodes")) return null;
    const rows = db
      .prepare(
        `SELECT n.session_key, n.current_session_id, n.entry_valid, n.fork_source_session_key,
                n.parent_session_key, n.spawned_by, n.entry_json, n.updated_at,
                w.session_id AS retained_window_id
           FROM session_nodes AS n
           LEFT JOIN session_windows AS w ON w.session_id = n.current_session_id AND w.session_key = n.session_key
          ORDER BY n.session_key`,
      )
      .all()
      .map((r) => ({ ...r }));
    const mainKey = has("session_key_contract") ? db.prepare("SELECT main_key FROM session_key_contract WHERE id = 1").get()?.main_key : undefined;
    const pending = has("session_canonical_validation_pending")
      ? db.prepare("SELECT session_key FROM session_canonical_validation_pending ORDER BY session_key").all().map((r) => r.session_key)
      : null;
    return { rows, mainKey: mainKey ?? "main", pending };
  } finally {
    db.close();
  }
}

async function loadSqlite(fns, stateDir, agentId, onlyKeys) {
  const dbPath = path.join(stateDir, "agents", agentId, "agent", "openclaw-agent.sqlite");
  if (!fs.existsSync(dbPath)) return { via: fns.admission.name, sessionSource: null, sessions: {}, rows: {} };
  // the raw rows first, before OpenClaw opens (and may migrate/repair) the copy
  const raw = await sqliteRows(dbPath);
  if (!raw) return { via: fns.admission.name, sessionSource: null, sessions: {}, rows: {} };
  const rows = {};
  for (const r of raw.rows) {
    let rowCheck = null;
    if (fns.validateRow) {
      try {
        fns.validateRow.fn(r, raw.mainKey);
        rowCheck = "ok";
      } catch (err) {
        rowCheck = errText(err);
      }
    }
    rows[r.session_key] = { entry_valid: r.entry_valid, rowCheck };
  }
  // live view: a plain handle, before OpenClaw's own open settles entry_valid
  const liveErr = {};
  const livePin = {};
  if (fns.live) {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(dbPath, { readOnly: true });
    try {
      const database = { db, agentId, path: dbPath };
      for (const r of raw.rows) {
        try {
          const got = fns.live.fn(database, r.session_key);
          if (!got?.entry) liveErr[r.session_key] = "not found by readSessionEntryRow";
          else livePin[r.session_key] = pinFields(got.entry);
        } catch (err) {
          liveErr[r.session_key] = errText(err);
        }
      }
    } finally {
      db.close();
    }
  }
  const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir };
  const sessions = {};
  for (const r of raw.rows) {
    const sessionKey = r.session_key;
    if (onlyKeys && !onlyKeys.includes(sessionKey)) continue;
    const s = {};
    if (liveErr[sessionKey]) s.liveError = liveErr[sessionKey];
    try {
      const res = fns.admission.fn({ agentId, sessionKey, readConsistency: "latest", env });
      try {
        res?.databaseClaim?.release?.();
      } catch {
        /* released already */
      }
      if (!res?.entry) s.error = "not found by loadSessionEntryForAdmission";
      else s.pin = pinFields(res.entry);
    } catch (err) {
      s.error = errText(err);
    }
    if (!s.error && fns.load) {
      try {
        const e = fns.load.fn({ agentId, sessionKey, env });
        if (!e) s.error = "not found by loadSessionEntry";
        else if (JSON.stringify(pinFields(e)) !== JSON.stringify(s.pin)) s.error = `loadSessionEntry pin ${JSON.stringify(pinFields(e))} != admission pin ${JSON.stringify(s.pin)}`;
      } catch (err) {
        s.error = `loadSessionEntry: ${errText(err)}`;
      }
    }
    if (!s.error && !s.liveError && fns.live && JSON.stringify(livePin[sessionKey]) !== JSON.stringify(s.pin))
      s.error = `live read pin ${JSON.stringify(livePin[sessionKey])} != cold load pin ${JSON.stringify(s.pin)}`;
    if (s.error) s.coldError = s.error;
    delete s.error;
    s.accepted = !s.liveError && !s.coldError;
    if (!s.accepted) s.error = s.liveError ? `running gateway: ${s.liveError}` : `fresh process: ${s.coldError}`;
    sessions[sessionKey] = s;
  }
  for (const k of onlyKeys ?? []) if (!(k in sessions)) sessions[k] = { accepted: false, error: "no such session row" };
  try {
    fns.closeAll?.fn(stateDir);
  } catch {
    /* best effort */
  }
  return {
    via: [fns.live, fns.admission, fns.load].filter(Boolean).map((f) => f.name).join("+"),
    sessionSource: `${path.relative(stateDir, dbPath)}#session_nodes`,
    pendingBefore: raw.pending,
    sessions,
    rows,
  };
}

async function loadJson(getEntry, readEntry, stateDir, agentId, onlyKeys) {
  const storePath = path.join(stateDir, "agents", agentId, "sessions", "sessions.json");
  if (!fs.existsSync(storePath)) return { via: (getEntry ?? readEntry).name, sessionSource: null, sessions: {} };
  const raw = JSON.parse(fs.readFileSync(storePath, "utf8"));
  const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir };
  const sessions = {};
  for (const [sessionKey, entry] of Object.entries(raw)) {
    if (onlyKeys && !onlyKeys.includes(sessionKey)) continue;
    const s = {};
    try {
      const e = getEntry ? getEntry.fn({ agentId, sessionKey, env }) : readEntry.fn(storePath, sessionKey);
      if (!e) s.error = "entry dropped by OpenClaw's session store load";
      else {
        s.pin = pinFields(e);
        if (JSON.stringify(s.pin) !== JSON.stringify(pinFields(entry))) s.error = `pin changed on load: file ${JSON.stringify(pinFields(entry))} loaded ${JSON.stringify(s.pin)}`;
      }
    } catch (err) {
      s.error = errText(err);
    }
    s.accepted = !s.error;
    sessions[sessionKey] = s;
  }
  return { via: (getEntry ?? readEntry).name, sessionSource: path.relative(stateDir, storePath), sessions };
}
