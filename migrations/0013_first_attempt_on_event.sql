-- An event's first delivery attempt is recorded on the event's own row, by
-- the statement that settles the event or schedules its retry after that
-- attempt, instead of as a webhook_deliveries row and its index entry: a
-- callback delivered at the first attempt writes 2 rows fewer (D1 bills each
-- row and index entry written), and its deletion 1 fewer. Attempts 2
-- and later stay rows of webhook_deliveries. All NULL until the first
-- attempt is recorded; events recorded before this migration keep their
-- attempt 1 in webhook_deliveries and these NULL (src/store/webhook-events.ts
-- reads both).
ALTER TABLE webhook_events ADD COLUMN first_attempted_at INTEGER;
-- 1 for a manual attempt (a redelivery made before any scheduled one), 0 for
-- a scheduled one: an integer 0 or 1 takes no bytes beyond its record header.
ALTER TABLE webhook_events ADD COLUMN first_manual INTEGER;
ALTER TABLE webhook_events ADD COLUMN first_duration_ms INTEGER;
ALTER TABLE webhook_events ADD COLUMN first_http_status INTEGER;
ALTER TABLE webhook_events ADD COLUMN first_error TEXT;
-- The first bytes of the receiver's answer, at most 1 KiB.
ALTER TABLE webhook_events ADD COLUMN first_response_body TEXT;
-- When the retry the first attempt scheduled was due (NULL: none).
ALTER TABLE webhook_events ADD COLUMN first_next_attempt_at INTEGER;
