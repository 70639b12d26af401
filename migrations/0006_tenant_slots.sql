-- Running slots moved to a Durable Object per tenant (TenantSlots): no job
-- waits "parked" in D1 any more. The column stays (dropping it rewrites the
-- table) but is never written; its index goes.
DROP INDEX IF EXISTS jobs_parked;
