-- Where a job came from and when it stops waiting (issues 13 and 14):
-- `expires_at` from `ttl_seconds`, `retry_of` from POST /v1/jobs/{id}/retry,
-- `batch_id` from POST /v1/jobs/batch, `schedule_id` from a schedule. All
-- NULL for most jobs. The list filters read partial indexes that hold only
-- the jobs that have the link, so a plain job writes no entry in them.
ALTER TABLE jobs ADD COLUMN expires_at INTEGER;
ALTER TABLE jobs ADD COLUMN retry_of TEXT;
ALTER TABLE jobs ADD COLUMN batch_id TEXT;
ALTER TABLE jobs ADD COLUMN schedule_id TEXT;
CREATE INDEX jobs_by_batch ON jobs (tenant_id, batch_id, id DESC) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_by_schedule ON jobs (tenant_id, schedule_id, id DESC) WHERE schedule_id IS NOT NULL;
