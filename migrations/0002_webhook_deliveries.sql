-- Reliable webhook delivery: a retry schedule per event and a log of every attempt.

-- When the next scheduled attempt is due (NULL once the event is delivered or failed).
-- While an attempt is in flight it holds a short lease here, so a consumer that
-- dies mid-attempt is noticed by the sweep.
ALTER TABLE webhook_events ADD COLUMN next_attempt_at INTEGER;

-- Superseded by webhook_deliveries.
ALTER TABLE webhook_events DROP COLUMN last_status;
ALTER TABLE webhook_events DROP COLUMN last_error;

DROP INDEX webhook_events_pending;
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  -- 1, 2, … across all of the event's attempts, scheduled or manual.
  attempt INTEGER NOT NULL,
  -- 'scheduled' (the retry schedule) or 'manual' (a redeliver request).
  trigger TEXT NOT NULL,
  attempted_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  -- The first bytes of the receiver's answer, at most 1 KiB.
  response_body TEXT,
  next_attempt_at INTEGER
);

CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (job_id, id);
