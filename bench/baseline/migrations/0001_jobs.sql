CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  input TEXT,
  callback_url TEXT,
  result TEXT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
