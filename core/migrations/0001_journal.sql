-- clawauth journal, schema 1. Never edit a landed migration; add the next number instead.
CREATE TABLE txn (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('apply', 'undo', 'recover')),
    workflow     TEXT NOT NULL,
    summary      TEXT NOT NULL,
    argv         TEXT NOT NULL,              -- JSON array
    user         TEXT NOT NULL,
    host         TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    state_dir    TEXT NOT NULL,
    agent        TEXT,
    created_at   TEXT NOT NULL,              -- UTC RFC 3339
    started_at   TEXT,
    ended_at     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('planned', 'applying', 'applied', 'failed', 'rolled back')),
    reverts_txn  INTEGER REFERENCES txn(id),
    forced       INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    notes        TEXT NOT NULL DEFAULT '[]'  -- JSON array: blast radius and other plan notes
);
CREATE INDEX txn_status ON txn(status) WHERE status IN ('planned', 'applying');

CREATE TABLE step (
    txn_id   INTEGER NOT NULL REFERENCES txn(id),
    step_no  INTEGER NOT NULL,
    location TEXT NOT NULL,                   -- JSON (store::Location)
    title    TEXT NOT NULL,
    PRIMARY KEY (txn_id, step_no)
);

-- One compare-and-swap per row. NULL before/after means "absent"; otherwise JSON text.
-- These rows can hold credentials: the journal file is 0600 in a 0700 directory.
CREATE TABLE change (
    txn_id    INTEGER NOT NULL,
    step_no   INTEGER NOT NULL,
    change_no INTEGER NOT NULL,
    pointer   TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    position  INTEGER,                        -- a removed key's index in its object, for undo
    PRIMARY KEY (txn_id, step_no, change_no)
);

-- Full pre-image of small documents (a huge sessions.json is covered by the value-level
-- before/after above, so journal growth does not depend on its size).
CREATE TABLE snapshot (
    txn_id  INTEGER NOT NULL,
    step_no INTEGER NOT NULL,
    existed INTEGER NOT NULL,
    sha256  TEXT,
    mode    INTEGER,
    size    INTEGER,
    content BLOB,
    PRIMARY KEY (txn_id, step_no)
);
