-- A job's terminal callback event is held on the job's row while the job
-- consumer that finished it makes its first attempt: the end stores the job
-- at a status of its key that says the callback is owed ('succeeded:owed',
-- 'failed:owed', 'canceled:owed': shown as the status before the colon,
-- src/store/jobs.ts), with the event's id and time below; a delivered first
-- attempt is recorded on the row, which moves to the shown status. D1 bills
-- each row written: the event's own row (stored, then settled) was 2 of a
-- job's 7 rows, and deleting it 1 more; now the end's write holds the
-- obligation and the first attempt's record is 1 row (src/store/held-events.ts).
-- An event that needs more than that first attempt (it failed, its origin
-- is slow, the sweep found it overdue, a redelivery) is given a row of its
-- own in webhook_events first, as it would have had before, and event_id is
-- cleared. ADD COLUMN rewrites no row.
ALTER TABLE jobs ADD COLUMN event_id TEXT;
ALTER TABLE jobs ADD COLUMN event_created_at INTEGER;
ALTER TABLE jobs ADD COLUMN event_attempted_at INTEGER;
ALTER TABLE jobs ADD COLUMN event_duration_ms INTEGER;
ALTER TABLE jobs ADD COLUMN event_http_status INTEGER;
ALTER TABLE jobs ADD COLUMN event_response_body TEXT;
