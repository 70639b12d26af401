-- Every index is written again on each change of a column it covers, and D1
-- bills each index row written. These two paid for themselves poorly:
-- jobs_unfinished was rewritten on every job change (updated_at); the sweep now
-- reads unfinished jobs through jobs_by_tenant_status instead.
-- webhook_deliveries_by_event: its one query (numbering an event's attempts)
-- reads through webhook_deliveries_by_job, since it knows the job too.
DROP INDEX jobs_unfinished;
DROP INDEX webhook_deliveries_by_event;
