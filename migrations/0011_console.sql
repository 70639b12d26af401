-- The console's view of failing callbacks (GET /v1/failing-deliveries): a
-- tenant's events that failed, or are pending after an attempt that did not
-- deliver, newest first. Partial, so an event delivered at its first attempt
-- (the common case: pending with 0 attempts, then delivered) never has an
-- entry, and a plain job writes no more index rows than before.
CREATE INDEX webhook_events_failing ON webhook_events (tenant_id, id DESC)
  WHERE status = 'failed' OR (status = 'pending' AND attempts > 0);
