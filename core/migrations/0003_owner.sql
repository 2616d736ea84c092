-- clawauth journal, schema 3: the process that owns each transaction, so `recover` touches an
-- `applying` transaction only when its owner is provably gone; and an application_id so
-- clawauth knows its journal from any other SQLite database. Never edit a landed migration.
ALTER TABLE txn ADD COLUMN owner_pid INTEGER;
ALTER TABLE txn ADD COLUMN owner_start INTEGER;   -- clock ticks since boot (/proc/PID/stat)
ALTER TABLE txn ADD COLUMN owner_host TEXT;
ALTER TABLE txn ADD COLUMN owner_boot TEXT;       -- /proc/sys/kernel/random/boot_id
-- the order in which transactions began writing (a saved plan is applied after later ids)
ALTER TABLE txn ADD COLUMN claim_seq INTEGER;
PRAGMA application_id = 1131168117;               -- 0x436c4175, "ClAu"
