-- Webhook events are keyed by (status, job_id, id), and an event whose first
-- scheduled attempt is not yet recorded has the status 'sending' (shown as
-- "pending": src/store/webhook-events.ts), which webhook_events_due does not
-- hold. D1 bills each row and index entry written, and nearly every event is
-- settled by its first attempt, made a moment after it is stored
-- (src/webhooks/first-attempt.ts): before, storing it wrote its row and its
-- due entry, and settling it 1 more row; now the row alone, and settling it
-- moves the row (1 row; measured in workerd). The sweep still finds an event
-- whose first attempt died unrecorded: the 'sending' events are one range
-- of the key, read in turn with the due index's pending ones, and the sweep
-- makes each one it finds 'pending' (src/store/webhook-events.ts
-- postponeEvents), so the range holds the events stored in the last seconds
-- and those it has not reached yet. An event that waits for a retry is
-- 'pending', in the due index, as before. Every statement about one event
-- names its job and each status it may have (a probe of the key each).
CREATE TABLE webhook_events_new (
  status TEXT NOT NULL,
  job_id TEXT NOT NULL,
  id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  callback_url TEXT NOT NULL,
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
  PRIMARY KEY (status, job_id, id)
) WITHOUT ROWID;
INSERT INTO webhook_events_new (status, job_id, id, tenant_id, type, payload, callback_url, attempts, created_at,
    updated_at, next_attempt_at, redelivery_until, first_attempted_at, first_manual, first_duration_ms,
    first_http_status, first_error, first_response_body, first_next_attempt_at)
  SELECT status, job_id, id, tenant_id, type, payload, callback_url, attempts, created_at, updated_at,
    next_attempt_at, redelivery_until, first_attempted_at, first_manual, first_duration_ms, first_http_status,
    first_error, first_response_body, first_next_attempt_at
  FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_failing ON webhook_events (tenant_id, id DESC)
  WHERE status = 'failed' OR (status = 'pending' AND attempts > 1);
