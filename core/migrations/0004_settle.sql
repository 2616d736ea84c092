-- clawauth journal, schema 4: what a running gateway made of each transaction — whether it
-- reloaded, and whether the change settled (files and the gateway's own view agreed right after
-- the reload and a few seconds later). JSON (`txn::settle::Settle`); NULL when no gateway ran.
-- Never edit a landed migration.
ALTER TABLE txn ADD COLUMN settle TEXT;
