-- clawauth journal, schema 2: live usage snapshots (`clawauth usage --record`), so `show TXN`
-- can put a repair next to the quota it moved. Never edit a landed migration.
-- No secrets here: windows are percentages and reset times, never tokens.
CREATE TABLE usage_snapshot (
    id         INTEGER PRIMARY KEY,
    taken_at   TEXT NOT NULL,              -- UTC RFC 3339, same format as txn.created_at
    profile_id TEXT NOT NULL,
    account_id TEXT,                       -- from the answer, else the stored credential
    user_id    TEXT,
    windows    TEXT,                       -- JSON: {email, plan_type, limit_reached, windows, code_review}; NULL on error
    error      TEXT                        -- why no answer (our own message, never the client's)
);
CREATE INDEX usage_snapshot_taken_at ON usage_snapshot(taken_at);
