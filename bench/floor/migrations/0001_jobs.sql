-- The baseline's table, with what the floor adds: the index a list by status
-- reads, the start, and the callback's outcome.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  input TEXT,
  callback_url TEXT,
  result TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  callback_status TEXT
) WITHOUT ROWID;
CREATE INDEX jobs_by_status ON jobs (status, id);
