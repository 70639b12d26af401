-- Fewer rows written per job (D1 bills every row and index entry written:
-- README "Performance"). Tables keyed by a TEXT id become
-- WITHOUT ROWID: the key is the table's own b-tree, not a second index
-- beside a rowid table. The type index goes (a type filter reads the
-- tenant's index), and the delivery log drops AUTOINCREMENT, which wrote
-- sqlite_sequence on every insert. Running slots moved to a Durable Object
-- per tenant (TenantSlots), so `parked` and its index go. Every database
-- (control and shards) has this schema; only shards hold jobs.

CREATE TABLE jobs_new (
  id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
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
  lease_expires_at INTEGER,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO jobs_new SELECT id, tenant_id, type, status, input, input_key, progress, attempts, max_attempts,
  timeout_seconds, result, result_key, error_code, error_message, callback_url, callback_events, metadata,
  created_at, run_at, started_at, finished_at, lease_expires_at, version, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_by_tenant_status ON jobs (tenant_id, status, id DESC);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE idempotency_keys_new (
  tenant_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  job_ids TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, scope, key)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_new SELECT tenant_id, scope, key, request_hash, job_ids, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE webhook_events_new (
  id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER,
  redelivery_until INTEGER
) WITHOUT ROWID;
INSERT INTO webhook_events_new SELECT id, tenant_id, job_id, type, payload, callback_url, status, attempts,
  created_at, updated_at, next_attempt_at, redelivery_until FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_by_job ON webhook_events (job_id, created_at);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_deliveries_new (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  attempted_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  response_body TEXT,
  next_attempt_at INTEGER
);
INSERT INTO webhook_deliveries_new SELECT id, event_id, job_id, tenant_id, attempt, trigger, attempted_at,
  duration_ms, http_status, error, response_body, next_attempt_at FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (job_id, id);
