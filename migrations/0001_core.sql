-- Core schema: tenants, hashed API keys, jobs, idempotency keys, webhook events.
-- Times are Unix milliseconds. Never edit an applied migration; add a new file.

CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  webhook_secret TEXT NOT NULL,
  -- Set for 24 h after a rotation: callbacks are signed with both secrets.
  previous_webhook_secret TEXT,
  previous_secret_valid_until INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  -- SHA-256 of the plain key; the plain key is shown once and never stored.
  key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

-- The queryable copy of each job. The job's Durable Object (JobTracker) orders
-- every change and writes it here, guarded by `version`.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  -- JSON text when ≤ 64 KiB, else NULL and the input lives in R2 at input_key.
  input TEXT,
  input_key TEXT,
  progress TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
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
  -- When the running attempt's lease ends; the tracker reclaims it after.
  lease_expires_at INTEGER,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_by_tenant_status ON jobs (tenant_id, status, id DESC);
CREATE INDEX jobs_by_tenant_type ON jobs (tenant_id, type, id DESC);
-- The sweep's view: only unfinished jobs are indexed.
CREATE INDEX jobs_unfinished ON jobs (updated_at) WHERE status IN ('scheduled', 'queued', 'running');

CREATE TABLE idempotency_keys (
  tenant_id TEXT NOT NULL,
  -- The route the key was used on: 'job' or 'batch'.
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  -- JSON array of the job ids the original request created.
  job_ids TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, scope, key)
);

-- A webhook event is written in the same transaction as the job change it
-- describes (an outbox), then delivered through the callbacks queue.
CREATE TABLE webhook_events (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  -- 'pending' until a delivery attempt ends it: 'delivered' or 'failed'.
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE INDEX webhook_events_by_job ON webhook_events (job_id, created_at);
CREATE INDEX webhook_events_pending ON webhook_events (updated_at) WHERE status = 'pending';
