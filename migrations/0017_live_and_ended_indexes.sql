-- Starting a job, or queueing it again for a retry, writes no index entry:
-- D1 bills each index entry written, and jobs_by_tenant_status, keyed by
-- status, took a new one at every status change. Live jobs are indexed by
-- (tenant, id) alone, finished ones by (tenant, status, id), split by
-- finished_at, which is set exactly when a job finishes and never changes
-- while it runs. A job writes an entry when it is submitted (jobs_live) and
-- when it finishes (jobs_ended); leaving an index writes none. Lists, the
-- console's counts and the sweep read through them (src/store/jobs.ts
-- `indexedAs`).
-- Every path that finishes a job has set finished_at since the job lifecycle
-- module (209be8a), and jobs/lifecycle.ts `change` now refuses one that does
-- not; a finished job stored without it by an older version would sit in
-- jobs_live, missing from its status's list, so it takes its last change's
-- time here.
UPDATE jobs SET finished_at = updated_at
  WHERE finished_at IS NULL AND status IN ('succeeded', 'failed', 'canceled');
DROP INDEX jobs_by_tenant_status;
CREATE INDEX jobs_live ON jobs (tenant_id, id DESC) WHERE finished_at IS NULL;
CREATE INDEX jobs_ended ON jobs (tenant_id, status, id DESC) WHERE finished_at IS NOT NULL;
