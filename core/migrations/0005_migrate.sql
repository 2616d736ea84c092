-- clawauth journal, schema 5: guarded OpenClaw upgrades (`clawauth migrate`). A migration is a
-- txn row (workflow 'migrate') plus one `migration` row and the trees it recorded. Tree entries
-- carry paths, sizes, modes and sha256 only; file contents live in the content-addressed store
-- beside the journal (`objects/<aa>/<sha256>`), never as blobs here. Never edit a landed
-- migration.
CREATE TABLE IF NOT EXISTS migration (
    txn_id        INTEGER PRIMARY KEY REFERENCES txn(id),
    -- before: snapshot taken, OpenClaw not yet run (or run by the operator); migrated: OpenClaw
    -- ran, repairs not yet applied; complete: repairs applied (or none needed); undoing/undone
    phase         TEXT NOT NULL CHECK (phase IN ('before', 'migrated', 'complete', 'undoing', 'undone')),
    store         TEXT NOT NULL,             -- content store directory
    openclaw      TEXT,                      -- what --openclaw named
    release_from  TEXT,                      -- the release whose rules the "before" record used
    release_to    TEXT,                      -- the release that migrated
    layout_from   TEXT,
    layout_to     TEXT,
    record_before TEXT NOT NULL,             -- JSON: per agent, sessions' effective identities, order, lastGood, cooldowns, pins
    record_migrated TEXT,                    -- the same right after OpenClaw's migration
    record_final  TEXT,                      -- the same after clawauth's repairs
    command       TEXT,                      -- JSON array: what ran
    exit_code     INTEGER,
    stdout        TEXT,                      -- sanitized, capped
    stderr        TEXT,
    ran_ms        INTEGER,
    repair_txn    INTEGER REFERENCES txn(id),
    undo_txn      INTEGER REFERENCES txn(id)
);

CREATE TABLE IF NOT EXISTS tree_entry (
    txn_id  INTEGER NOT NULL,
    tree    TEXT NOT NULL CHECK (tree IN ('before', 'migrated', 'final')),
    path    TEXT NOT NULL,                   -- relative to the state dir
    kind    TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink', 'other')),
    size    INTEGER,
    mode    INTEGER,
    sha256  TEXT,
    target  TEXT,                            -- a symlink's target
    PRIMARY KEY (txn_id, tree, path)
);
