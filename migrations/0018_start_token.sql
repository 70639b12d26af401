-- Who asked for the running attempt's start: a random token of the consumer
-- call that began it (src/jobs/run.ts). A start stored whose answer never
-- reached that consumer (the tracker reset by a deploy just after the write,
-- or D1's answer lost) is found again by the same call asking once more,
-- instead of being left to the sweep as a lost worker (src/jobs/lifecycle.ts
-- `decideBegin`). Adding a nullable column rewrites no row.
ALTER TABLE jobs ADD COLUMN start_token TEXT;
