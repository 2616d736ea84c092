#!/usr/bin/env python3
"""Build a bench state of N sessions for layout A, B, C or D.

A and B come from the fixture builder (`clawauth-fixture --layout a|b --sessions N`). C and D
start from the committed real-OpenClaw fixtures (fixtures/layout-c, fixtures/layout-d) and get
the builder's bulk sessions added: C in its sessions.json (JSON.stringify(store, null, 2), as
2026.7 writes it), D as session_nodes rows written as OpenClaw's writer leaves them (compact
entry_json, current_session_id = sessionId, updated_at = updatedAt, entry_valid = 1, nothing
queued for re-validation). Pins on `openai-codex:*` ids become `openai:*`, as the SQLite era
names them.

    bench/mkstate.py FIXTURE_BIN LAYOUT N OUT_DIR
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

fix, layout, n, out = sys.argv[1], sys.argv[2].lower(), int(sys.argv[3]), sys.argv[4]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

if layout in ("a", "b"):
    subprocess.run([fix, out, "--layout", layout, "--sessions", str(n)], check=True)
    sys.exit(0)
if layout not in ("c", "d"):
    sys.exit(f"unknown layout {layout}")

with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as t:
    gen = os.path.join(t, "gen")
    subprocess.run([fix, gen, "--layout", "b", "--sessions", str(n)], check=True)
    with open(os.path.join(gen, "agents/main/sessions/sessions.json"), encoding="utf-8") as f:
        bulk = json.load(f)
shutil.copytree(os.path.join(root, "fixtures", f"layout-{layout}"), out, symlinks=True)


def sqlite_era(entry):
    for k in ("authProfileOverride",):
        v = entry.get(k)
        if isinstance(v, str) and v.startswith("openai-codex:"):
            entry[k] = "openai:" + v[len("openai-codex:"):]
    return entry


sessions_dir = os.path.join(out, "agents/main/sessions")
if layout == "c":
    p = os.path.join(sessions_dir, "sessions.json")
    with open(p, encoding="utf-8") as f:
        store = json.load(f)
    for k, v in bulk.items():
        store.setdefault(k, sqlite_era(v))
    with open(p, "w", encoding="utf-8") as f:
        f.write(json.dumps(store, indent=2, ensure_ascii=False))
    sys.exit(0)

db = os.path.join(out, "agents/main/agent/openclaw-agent.sqlite")
# the committed fixture was compacted to 1 KiB pages to stay small (fixtures/README.md); OpenClaw
# creates its databases with SQLite's default 4 KiB pages, and a 1 KiB page sends every ~0.9 KB
# entry_json to an overflow page: back to OpenClaw's page size before the bulk goes in (by the
# bench's Rust tool: python's SQLite is too old to VACUUM OpenClaw's schema)
floor = os.path.join(os.path.dirname(fix), "clawauth-floor")
subprocess.run([floor, "repage", db, "4096"], check=True, stdout=subprocess.DEVNULL)
c = sqlite3.connect(db)
have = {r[0] for r in c.execute("SELECT session_key FROM session_nodes")}
rows = []
for k, v in bulk.items():
    if k in have:
        continue
    v = sqlite_era(v)
    rows.append((k, v["sessionId"], json.dumps(v, separators=(",", ":"), ensure_ascii=False), v["updatedAt"]))
c.executemany(
    "INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at) VALUES (?, ?, ?, ?)", rows
)
# as OpenClaw's writer leaves a row it wrote: valid, and not queued for re-validation
c.execute("CREATE TEMP TABLE bulk (k TEXT PRIMARY KEY)")
c.executemany("INSERT INTO bulk VALUES (?)", [(r[0],) for r in rows])
c.execute("UPDATE session_nodes SET entry_valid = 1 WHERE session_key IN (SELECT k FROM bulk)")
c.execute("DELETE FROM session_canonical_validation_pending WHERE session_key IN (SELECT k FROM bulk)")
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
