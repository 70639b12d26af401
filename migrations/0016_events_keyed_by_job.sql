-- Webhook events are keyed by (job_id, id), the table's own b-tree, instead
-- of by id with an index on (job_id, created_at) beside it: storing an event
-- writes one index entry fewer (D1 bills each row and index entry written),
-- and a job's events are still one range of the key. Every statement about
-- one event names its job (src/store/webhook-events.ts `eventIs`), and a
-- callbacks message carries the job's id. A message sent before this
-- migration has none and finds no event: its event stays pending and
-- overdue, and the sweep sends it again with the job's id after its grace
-- (limits.callbackLostAfterSeconds). A manual redelivery queued before it
-- is dropped; its mark expires and the event can be redelivered again.
CREATE TABLE webhook_events_new (
  id TEXT NOT NULL,
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
  redelivery_until INTEGER,
  first_attempted_at INTEGER,
  first_manual INTEGER,
  first_duration_ms INTEGER,
  first_http_status INTEGER,
  first_error TEXT,
  first_response_body TEXT,
  first_next_attempt_at INTEGER,
  PRIMARY KEY (job_id, id)
) WITHOUT ROWID;
INSERT INTO webhook_events_new (id, tenant_id, job_id, type, payload, callback_url, status, attempts, created_at,
    updated_at, next_attempt_at, redelivery_until, first_attempted_at, first_manual, first_duration_ms,
    first_http_status, first_error, first_response_body, first_next_attempt_at)
  SELECT id, tenant_id, job_id, type, payload, callback_url, status, attempts, created_at, updated_at,
    next_attempt_at, redelivery_until, first_attempted_at, first_manual, first_duration_ms, first_http_status,
    first_error, first_response_body, first_next_attempt_at
  FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_failing ON webhook_events (tenant_id, id DESC)
  WHERE status = 'failed' OR (status = 'pending' AND attempts > 1);
