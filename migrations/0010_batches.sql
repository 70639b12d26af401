-- Batches that fan in (issue 14): one row per `POST /v1/jobs/batch`, on the
-- shard of its jobs (its id names that shard, like theirs), written in the
-- same D1 batch as they are. While it runs, its counts live in its
-- BatchTracker Durable Object (src/batches/tracker.ts); the row takes the
-- final counts once, when the batch completes. Its `batch.completed` event
-- and that event's delivery attempts are rows of webhook_events and
-- webhook_deliveries whose `job_id` holds the batch id, so the job paths'
-- delivery, log and redelivery serve it unchanged.
CREATE TABLE batches (
  id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  status TEXT NOT NULL,
  total INTEGER NOT NULL,
  succeeded INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  canceled INTEGER NOT NULL DEFAULT 0,
  callback_url TEXT,
  metadata TEXT,
  created_at INTEGER NOT NULL,
  completed_at INTEGER
) WITHOUT ROWID;
-- The sweep's backstop reads only running batches; a completed one leaves this index.
CREATE INDEX batches_running ON batches (created_at) WHERE status = 'running';
-- Retention finds completed batches whose jobs are all gone.
CREATE INDEX batches_completed ON batches (completed_at) WHERE completed_at IS NOT NULL;
