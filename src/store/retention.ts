import { limits } from "../limits";
import { chunks } from "../platform/chunks";
import { firstIdAt } from "../platform/ids";
import { type SqlFragment, sql, sqlFragment } from "./sql";

/** An expired job as retention sees it: its id and the R2 objects it points at (null: none). */
export interface ExpiredJob {
  id: string;
  inputKey: string | null;
  resultKey: string | null;
  /** Its attempts: each may have left a log object. */
  attempts: number;
}

/**
 * Holds for a job (or batch) `subject` (an SQL expression) none of whose
 * webhook events is still pending: retention keeps a record until its
 * callback is delivered or has used its attempts (about 28 h), however short
 * RETENTION_DAYS is, so no callback is lost and no retry's payload, rebuilt
 * from the job's row, changes. Reads the job's events through
 * `webhook_events_by_job` (one per callback, and its `job.progress` events):
 * rows read, a thousandth of a row written's price; an index on pending
 * events alone would cost every event two index writes instead.
 */
const noPendingEvent = (subject: SqlFragment) =>
  sqlFragment`NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.job_id = ${subject} AND e.status = 'pending')`;

/**
 * Up to `limit` jobs that finished before `before` (Unix ms) with ids above
 * `after` ("" for all), oldest id first, none with a callback still pending.
 *
 * Read through a range of the table's primary key, with no index of its own:
 * a job finishes after it was created, and its id begins with its creation
 * time, so every job that finished before `before` has an id below
 * `firstIdAt("job_", before)` (platform/ids.ts). A job whose id carries a time
 * a few ms late (ulid's monotonicity, another isolate's clock) is found by a
 * later sweep; the `finished_at` filter alone decides what has expired, so no
 * job is taken early.
 *
 * Besides the jobs it answers, the scan reads those in the range that have not
 * expired (once per sweep, whose rounds each go on `after` the last id the
 * round before listed): the jobs created before `before` that had not
 * finished by then. A job is in flight from its creation through its delay
 * (≤ `limits.maxDelaySeconds`, 30 days), any wait for a running slot (ended by
 * `ttl_seconds` ≤ 30 days when set) and its attempts (≤ 20 × (14 min + a
 * backoff ≤ 15 min): under 10 h), so with 7 days of retention those are the
 * jobs delayed, or kept waiting, for longer than about a week. D1 bills a row
 * read $0.001 per million, a thousandth of a row written: 1,000 such jobs on a
 * shard read on each of 1,440 sweeps a day cost $0.0015 a day.
 */
export async function listExpiredJobs(
  db: D1Database,
  before: number,
  after: string,
  limit: number,
): Promise<ExpiredJob[]> {
  const { results } = await sql(db)`SELECT id, input_key, result_key, attempts FROM jobs
    WHERE id > ${after} AND id < ${firstIdAt("job_", before)} AND finished_at < ${before}
      AND ${noPendingEvent(sqlFragment`jobs.id`)} ORDER BY id LIMIT ${limit}`.all<{
    id: string;
    input_key: string | null;
    result_key: string | null;
    attempts: number;
  }>();
  return results.map((r) => ({ id: r.id, inputKey: r.input_key, resultKey: r.result_key, attempts: r.attempts }));
}

/** What one delete wrote: D1 bills every row written, index entries included. */
export interface Deleted {
  /** Jobs (or idempotency keys) deleted. */
  count: number;
  rowsWritten: number;
  /** D1 statements run, for the sweep's budget. */
  statements: number;
}

/**
 * Deletes, in one transaction, the jobs `listed` (ids `listExpiredJobs`
 * answered) that still finished before `before` (Unix ms) and point at no R2
 * object, with their webhook events and delivery attempts. The jobs
 * `objectsDeleted` names (their R2 objects are gone) first lose their R2
 * keys, so they are among them. Set-based: three deletes over the listed ids
 * (one bound JSON array), never a second pick of "the oldest": a sweep
 * overlapping another cannot make it delete a job whose log objects were not
 * deleted. A job that still points at an R2 object is never deleted, so no
 * object is left behind.
 */
export async function deleteExpiredJobs(
  db: D1Database,
  before: number,
  listed: readonly string[],
  objectsDeleted: readonly string[],
): Promise<Deleted> {
  const expired = sqlFragment`SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(${JSON.stringify(listed)}))
    AND finished_at < ${before} AND input_key IS NULL AND result_key IS NULL AND ${noPendingEvent(sqlFragment`jobs.id`)}`;
  const statements = [
    ...chunks(objectsDeleted, limits.d1MaxBoundParameters).map(
      (ids) => sql(db)`UPDATE jobs SET input_key = NULL, result_key = NULL WHERE id IN ${ids}`,
    ),
    sql(db)`DELETE FROM webhook_deliveries WHERE job_id IN (${expired})`,
    sql(db)`DELETE FROM webhook_events WHERE job_id IN (${expired})`,
    sql(db)`DELETE FROM jobs WHERE id IN (${expired})`,
  ];
  return deleteInOneBatch(db, statements);
}

/**
 * Deletes, in one transaction, up to `limit` batches that completed before
 * `before` (Unix ms) and have no job left (retention deleted them all), with
 * their `batch.completed` events and delivery attempts (keyed by the batch
 * id). A batch completes after its last job finished, so it goes in the
 * sweep after its last job does. Set-based, as `deleteExpiredJobs`.
 */
export async function deleteBatchesWithoutJobs(db: D1Database, before: number, limit: number): Promise<Deleted> {
  const gone = sqlFragment`SELECT id FROM batches b WHERE completed_at < ${before}
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = b.tenant_id AND j.batch_id = b.id)
    AND ${noPendingEvent(sqlFragment`b.id`)} ORDER BY completed_at LIMIT ${limit}`;
  const statements = [
    sql(db)`DELETE FROM webhook_deliveries WHERE job_id IN (${gone})`,
    sql(db)`DELETE FROM webhook_events WHERE job_id IN (${gone})`,
    sql(db)`DELETE FROM batches WHERE id IN (${gone})`,
  ];
  return deleteInOneBatch(db, statements);
}

/** Runs `statements` in one transaction; the count is what the last one deleted (the records themselves). */
async function deleteInOneBatch(db: D1Database, statements: D1PreparedStatement[]): Promise<Deleted> {
  const results = await db.batch(statements);
  return {
    count: results.at(-1)?.meta.changes ?? 0,
    rowsWritten: results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0),
    statements: statements.length,
  };
}

/** Deletes up to `limit` idempotency keys created before `before` (Unix ms): their 24 h have passed. */
export async function deleteIdempotencyKeysBefore(db: D1Database, before: number, limit: number): Promise<Deleted> {
  const { meta } = await sql(db)`DELETE FROM idempotency_keys WHERE (tenant_id, scope, key) IN
    (SELECT tenant_id, scope, key FROM idempotency_keys WHERE created_at < ${before} LIMIT ${limit})`.run();
  return { count: meta.changes, rowsWritten: meta.rows_written ?? 0, statements: 1 };
}
