-- Tenants and API keys are written to every database (src/store/replicated.ts);
-- the sweep compares each shard's copy with the control database's and mends
-- what differs (src/tenants/replica-repair.ts). Each replicated write stamps
-- the rows it changes, with the same values in every database:
-- `replica_digest` chains a random token per write onto the row's digest
-- (so two copies with equal digests went through the same writes in the same
-- order), and `replica_updated_at` is the write's time (Unix ms), by which a
-- repair leaves alone a row a write may still be reaching.
ALTER TABLE tenants ADD COLUMN replica_digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN replica_updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN replica_digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN replica_updated_at INTEGER NOT NULL DEFAULT 0;

-- Copies made before this migration may differ unnoticed: a random digest per
-- row and database makes every shard's copy differ from the control
-- database's, so the first sweeps copy the control database's rows once.
UPDATE tenants SET replica_digest = abs(random() % 2147483647);
UPDATE api_keys SET replica_digest = abs(random() % 2147483647);

-- Where a shard's repair goes on at the next sweep (one row; NULL: from the
-- start), so a repair bounded per sweep still reaches every row.
CREATE TABLE replica_repair (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  -- 'tenants' or 'api_keys'; rows after `after_id` are compared next.
  table_name TEXT,
  after_id TEXT
);
INSERT INTO replica_repair (id) VALUES (0);
