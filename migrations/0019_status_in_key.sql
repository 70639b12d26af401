-- A job's row is keyed by (tenant, status, id), so the row is its own entry
-- of the list by status and jobs_by_tenant_status goes. D1 bills each row
-- and index entry written (not an entry removed): with the index, a job's
-- insert wrote 2 rows and each status change 2 (the row and the entry at its
-- new status); keyed by status, each writes 1 — a change of status moves the
-- row (measured in workerd: an insert 1, an update that moves the row 1).
-- Lists by status read only the jobs of that status, as before. A job is
-- found by id with its tenant and every status (six probes of the key:
-- src/store/jobs.ts). jobs_by_batch and jobs_by_schedule hold the key, so a
-- batch's or schedule's job writes their entry again when its status
-- changes: the same 2 rows a change it wrote before.
CREATE TABLE jobs_new (
  tenant_id TEXT NOT NULL,
  status TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  input TEXT,
  input_key TEXT,
  progress TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  given_back INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  result TEXT,
  result_key TEXT,
  error_code TEXT,
  error_message TEXT,
  callback_url TEXT,
  callback_events TEXT,
  metadata TEXT,
  created_at INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  lease_expires_at INTEGER,
  start_token TEXT,
  expires_at INTEGER,
  retry_of TEXT,
  batch_id TEXT,
  schedule_id TEXT,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, status, id)
) WITHOUT ROWID;
INSERT INTO jobs_new (tenant_id, status, id, type, input, input_key, progress, attempts, given_back, max_attempts,
    timeout_seconds, result, result_key, error_code, error_message, callback_url, callback_events, metadata,
    created_at, run_at, started_at, finished_at, lease_expires_at, start_token, expires_at, retry_of, batch_id,
    schedule_id, version, updated_at)
  SELECT tenant_id, status, id, type, input, input_key, progress, attempts, given_back, max_attempts,
    timeout_seconds, result, result_key, error_code, error_message, callback_url, callback_events, metadata,
    created_at, run_at, started_at, finished_at, lease_expires_at, start_token, expires_at, retry_of, batch_id,
    schedule_id, version, updated_at
  FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_batch ON jobs (tenant_id, batch_id, id DESC) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_by_schedule ON jobs (tenant_id, schedule_id, id DESC) WHERE schedule_id IS NOT NULL;
