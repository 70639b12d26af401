-- Hardening: per-tenant limits, the per-tenant concurrency queue, key revocation lookups, retention.

-- NULL means the default in src/limits.ts.
ALTER TABLE tenants ADD COLUMN submit_per_minute INTEGER;
ALTER TABLE tenants ADD COLUMN read_per_minute INTEGER;
ALTER TABLE tenants ADD COLUMN max_running_jobs INTEGER;

-- 1 while a due job waits for a free running slot of its tenant; they start oldest first.
ALTER TABLE jobs ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_parked ON jobs (tenant_id, id) WHERE parked = 1;

-- Retention: finished jobs by age.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
