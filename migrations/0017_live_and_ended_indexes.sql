-- Starting a job, or queueing it again for a retry, writes no index entry:
-- D1 bills each index entry written, and jobs_by_tenant_status, keyed by
-- status, took a new one at every status change. Live jobs are indexed by
-- (tenant, id) alone, finished ones by (tenant, status, id), split by
-- finished_at, which is set exactly when a job finishes and never changes
-- while it runs. A job writes an entry when it is submitted (jobs_live) and
-- when it finishes (jobs_ended); leaving an index writes none. Lists, the
-- console's counts and the sweep read through them (src/store/jobs.ts
-- `indexedAs`).
DROP INDEX jobs_by_tenant_status;
CREATE INDEX jobs_live ON jobs (tenant_id, id DESC) WHERE finished_at IS NULL;
CREATE INDEX jobs_ended ON jobs (tenant_id, status, id DESC) WHERE finished_at IS NOT NULL;
