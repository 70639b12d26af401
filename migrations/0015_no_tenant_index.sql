-- A job's insert no longer writes an entry of jobs_by_tenant (D1 bills each
-- row and index entry written). Its one reader, the unfiltered job list,
-- now reads jobs_by_tenant_status one status at a time, the newest page of
-- each, and merges them (src/store/jobs.ts `listJobs`): at most six pages of
-- rows read instead of one, for one row written fewer per job. A batch or
-- schedule filter reads jobs_by_batch or jobs_by_schedule, as before.
DROP INDEX jobs_by_tenant;
