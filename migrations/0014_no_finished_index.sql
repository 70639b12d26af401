-- Retention finds expired jobs by a range of the jobs' own primary key
-- instead (src/store/retention.ts): a job id begins with its creation time,
-- and a job finishes after it was created, so every job that finished before
-- a cutoff has an id below the cutoff's. jobs_finished was read by nothing
-- else, and cost an index row when each job finished, another when retention
-- deleted it (D1 bills each row and index entry written), and its bytes for
-- the whole retention window.
DROP INDEX jobs_finished;
