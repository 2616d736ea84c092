// sqlite-compact.mjs [--page-size N] DB_FILE...
//
// Makes OpenClaw databases fit to commit as fixtures, in place:
//   1. PRAGMA wal_checkpoint(TRUNCATE): the content of the -wal lands in the main file
//      (OpenClaw keeps whole databases in the WAL; 2026.7.35 left its state DB there);
//   2. deletes rows that hold key material OpenClaw generated for this throw-away
//      install (device identity private key, device/bootstrap tokens, VAPID keys, the
//      gateway's config-revision HMAC key);
//   3. VACUUM (keeps the schema, PRAGMA user_version, schema_meta and journal_mode=wal),
//      then checkpoints again, so the file alone is the whole database.  With
//      --page-size N (fixtures use 1024) the VACUUM also rewrites the file with smaller
//      pages: OpenClaw's schemas are hundreds of mostly empty tables and indexes, one page
//      each at least, so this shrinks a 1.5 MB state DB to ~0.5 MB.  Page size is a
//      physical property only; OpenClaw reads and writes such files normally (verified
//      by regen-sqlite.sh);
//   4. on close SQLite removes the empty -wal/-shm; leftovers of size 0 are removed too.
// Prints one line per database: path, bytes before/after, user_version.
import fs from "node:fs";
import { DatabaseSync } from "node:sqlite";

// config_revision_keys: the HMAC key a 9.6 gateway generates at its first start
const SECRET_TABLES = ["device_identities", "device_auth_tokens", "device_bootstrap_tokens", "web_push_vapid_keys", "config_revision_keys"];
const args = process.argv.slice(2);
let pageSize;
if (args[0] === "--page-size") {
  pageSize = Number(args[1]);
  args.splice(0, 2);
  if (![512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].includes(pageSize)) {
    console.error("sqlite-compact.mjs: --page-size must be a power of two in 512..65536");
    process.exit(2);
  }
}
const files = args;
if (files.length === 0) {
  console.error("usage: sqlite-compact.mjs [--page-size N] DB_FILE...");
  process.exit(2);
}
const size = (p) => (fs.existsSync(p) ? fs.statSync(p).size : 0);
for (const file of files) {
  const before = size(file) + size(`${file}-wal`);
  const db = new DatabaseSync(file);
  let userVersion;
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const cp = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
    if (cp && cp.busy) throw new Error(`${file}: checkpoint busy (is an OpenClaw process still running?)`);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    for (const t of SECRET_TABLES) if (tables.has(t)) db.exec(`DELETE FROM "${t}"`);
    userVersion = db.prepare("PRAGMA user_version").get().user_version;
    const mode = db.prepare("PRAGMA journal_mode").get().journal_mode;
    if (pageSize) {
      // page_size of a WAL database can only change while it is in rollback mode
      db.exec(`PRAGMA journal_mode = DELETE; PRAGMA page_size = ${pageSize}; VACUUM; PRAGMA journal_mode = ${mode};`);
    } else {
      db.exec("VACUUM");
    }
    const modeAfter = db.prepare("PRAGMA journal_mode").get().journal_mode;
    if (modeAfter !== mode) throw new Error(`${file}: journal_mode changed ${mode} -> ${modeAfter}`);
    db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
    const after = db.prepare("PRAGMA user_version").get().user_version;
    if (after !== userVersion) throw new Error(`${file}: user_version changed ${userVersion} -> ${after}`);
    const integrity = db.prepare("PRAGMA integrity_check").get().integrity_check;
    if (integrity !== "ok") throw new Error(`${file}: integrity_check: ${integrity}`);
  } finally {
    db.close();
  }
  for (const side of [`${file}-wal`, `${file}-shm`]) if (fs.existsSync(side) && size(side) === 0) fs.rmSync(side);
  for (const side of [`${file}-wal`]) if (fs.existsSync(side)) throw new Error(`${side} still has content`);
  if (fs.existsSync(`${file}-shm`)) fs.rmSync(`${file}-shm`);
  console.log(`${file}\t${before} -> ${size(file)} bytes\tuser_version ${userVersion}`);
}
