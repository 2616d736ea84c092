// db-info.mjs DIR [--rows]
//
// Read-only summary of every SQLite database (*.sqlite) under DIR: PRAGMA user_version,
// journal_mode, page_size, the schema_meta rows, and the row count of each table.  With --rows also
// the auth rows (auth_profile_store/auth_profile_state, config_machine_state auth keys,
// session_nodes keys), tokens redacted.  Prints JSON.  Run with Node >= 24 (node:sqlite).
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

const dir = process.argv[2];
const withRows = process.argv.includes("--rows");
if (!dir) {
  console.error("usage: db-info.mjs DIR [--rows]");
  process.exit(2);
}
const redact = (json) =>
  json.replace(/"(access|refresh|idToken|key|token)":"[^"]*"/g, (_m, k) => `"${k}":"<redacted>"`);

function walk(d, out = []) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && e.name.endsWith(".sqlite")) out.push(p);
  }
  return out;
}

function headerJournalMode(file) {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(20);
    fs.readSync(fd, b, 0, 20, 0);
    return b[18] === 2 && b[19] === 2 ? "wal" : "delete";
  } finally {
    fs.closeSync(fd);
  }
}

const result = {};
for (const file of walk(dir).sort()) {
  // A read-only open of a WAL database still creates -wal/-shm beside it.  When there is no
  // WAL content, open it immutable instead, so inspecting a fixture leaves no files behind.
  const wal = `${file}-wal`;
  const walEmpty = !fs.existsSync(wal) || fs.statSync(wal).size === 0;
  let target = file;
  if (walEmpty) {
    target = pathToFileURL(path.resolve(file));
    target.searchParams.set("mode", "ro");
    target.searchParams.set("immutable", "1");
  }
  const db = new DatabaseSync(target, { readOnly: true });
  try {
    const info = {
      bytes: fs.statSync(file).size,
      user_version: db.prepare("PRAGMA user_version").get().user_version,
      // from the file header (bytes 18/19 = 2 for WAL): an immutable open always says "delete"
      journal_mode: headerJournalMode(file),
      page_size: db.prepare("PRAGMA page_size").get().page_size,
    };
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    if (tables.includes("schema_meta")) info.schema_meta = db.prepare("SELECT * FROM schema_meta").all().map((r) => ({ ...r }));
    info.tables = Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) AS n FROM "${t}"`).get().n]));
    if (withRows) {
      const rows = {};
      const all = (sql) =>
        db.prepare(sql).all().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "string" ? redact(v) : v])));
      for (const t of ["auth_profile_store", "auth_profile_state"]) if (tables.includes(t)) rows[t] = all(`SELECT * FROM ${t}`);
      if (tables.includes("config_machine_state"))
        rows.config_machine_state = all("SELECT * FROM config_machine_state WHERE state_key LIKE 'auth%' ORDER BY state_key");
      if (tables.includes("session_nodes")) rows.session_nodes = all("SELECT session_key, entry_json FROM session_nodes ORDER BY session_key");
      info.rows = rows;
    }
    result[path.relative(dir, file)] = info;
  } finally {
    db.close();
  }
}
console.log(JSON.stringify(result, null, 2));
