-- The console's view of failing callbacks (GET /v1/failing-deliveries): a
-- tenant's events that failed, or are pending with a retry under way, newest
-- first. Partial, so a healthy event never has an entry: an event delivered
-- at its first attempt goes from 0 attempts to 1 and delivered (its first
-- attempt's claim, through the callbacks queue, sets attempts to 1 while
-- pending). `attempts` counts claimed scheduled attempts, so an event that
-- failed once enters when its second attempt is claimed (5 s later on the
-- Standard Webhooks schedule), or at once if that attempt was its last.
CREATE INDEX webhook_events_failing ON webhook_events (tenant_id, id DESC)
  WHERE status = 'failed' OR (status = 'pending' AND attempts > 1);
