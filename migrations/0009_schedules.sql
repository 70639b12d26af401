-- Schedules (issue 14): recurring jobs, one row per schedule, on the control
-- database (a tenant has at most 1,000, and no job's path reads them). The
-- same schema runs on every database; only the control database holds rows.
-- Times are Unix milliseconds.
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  name TEXT,
  -- A standard 5-field cron expression and the IANA zone it is read in.
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  -- The submit body each due time creates a job from, as JSON.
  job_json TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  -- The next due time; NULL while paused (or when the expression never matches again).
  next_run_at INTEGER,
  -- The due time of the latest run and the job it created.
  last_run_at INTEGER,
  last_job_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_by_tenant ON schedules (tenant_id, id DESC);
-- The sweep's backstop reads schedules overdue by more than a few seconds.
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
