-- Attempts given back because a store the attempt needed (R2) stayed
-- unavailable: they started (`attempts` counts them, as API.md says) but do
-- not count toward max_attempts, so an outage never fails a job
-- (src/jobs/lifecycle.ts `decideOutcome`). Adding a column with a default
-- rewrites no row.
ALTER TABLE jobs ADD COLUMN given_back INTEGER NOT NULL DEFAULT 0;
