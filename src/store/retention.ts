import { type JobStatus, terminalJobStatuses } from "../contract/schemas";
import { firstIdAt } from "../platform/ids";
import { withTenantsOfJobs } from "./jobs";
import { joinSql, type SqlFragment, sql, sqlFragment } from "./sql";
import { eventsOf, storedEventStatuses, unsettledEventStatuses } from "./webhook-events";

/** An expired job as retention sees it: its key and the R2 objects it points at (null: none). */
export interface ExpiredJob {
  tenantId: string;
  status: JobStatus;
  id: string;
  inputKey: string | null;
  resultKey: string | null;
  /** Its attempts: each may have left a log object. */
  attempts: number;
}

/**
 * Where a list of expired jobs goes on: after this job's key, in the order
 * the list reads them (tenant, status, id).
 */
export interface ExpiredCursor {
  tenantId: string;
  status: string;
  id: string;
}
/** The cursor before every job: empty text sorts first. */
export const fromStart: ExpiredCursor = { tenantId: "", status: "", id: "" };

/**
 * Holds for a job (or batch) `subject` (an SQL expression) none of whose
 * webhook events is still pending: retention keeps a record until its
 * callback is delivered or has used its attempts (about 28 h), however short
 * RETENTION_DAYS is, so no callback is lost and no retry's payload, rebuilt
 * from the job's row, changes. Reads the job's unsettled events by the
 * events' key (store/webhook-events.ts `eventsOf`): a probe for each of
 * the two statuses, none of them an index entry an event writes.
 */
const noPendingEvent = (subject: SqlFragment) =>
  sqlFragment`NOT EXISTS (SELECT 1 FROM webhook_events WHERE ${eventsOf(subject, unsettledEventStatuses)})`;

/**
 * Up to `limit` jobs that finished before `before` (Unix ms), after `after`
 * in (tenant, status, id) order, none with a callback still pending.
 *
 * Read through the jobs' key (tenant, status, id): for each tenant with jobs
 * on this database (store/jobs.ts `withTenantsOfJobs`) and each finished
 * status, a range of ids. A job finishes after it was created, and its id
 * begins with its creation time, so every job that finished before
 * `before` has an id below `firstIdAt("job_", before)` (platform/ids.ts).
 * A job whose id carries a time a few ms late (ulid's monotonicity, another
 * isolate's clock) is found by a later sweep; the `finished_at` filter alone decides what has expired,
 * so no job is taken early. Cross joins keep the tenants, then the statuses,
 * as the outer loops, so the rows come in that order, each range in id
 * order, with no sort (and no ORDER BY, which SQLite would meet with one):
 * the caller's cursor relies on the order only to spare reads, and a job it
 * passed over is found by the next sweep.
 *
 * Besides the jobs it answers, the scan reads a row for each tenant with
 * jobs here (not the tenants without: a database with no job reads one
 * row), and the finished jobs in those ranges that have not expired (once
 * per sweep, whose rounds each go on `after` the last job the round before
 * listed): jobs created before the cutoff that finished since, or whose
 * callback is still pending. Live jobs (waiting or running) are in other
 * ranges of the key and never read. D1 bills a row read $0.001 per
 * million, a thousandth of a row written.
 */
export async function listExpiredJobs(
  db: D1Database,
  before: number,
  after: ExpiredCursor,
  limit: number,
): Promise<ExpiredJob[]> {
  const statuses = joinSql(
    terminalJobStatuses.map((status) => sqlFragment`(${status})`),
    ", ",
  );
  const { results } = await sql(db)`${withTenantsOfJobs(after.tenantId)}
    SELECT j.tenant_id, j.status, j.id, j.input_key, j.result_key, j.attempts
    FROM tenants_with_jobs t CROSS JOIN (VALUES ${statuses}) AS s CROSS JOIN jobs j
      ON j.tenant_id = t.id AND j.status = s.column1
      AND j.id > (CASE WHEN t.id = ${after.tenantId} AND s.column1 = ${after.status} THEN ${after.id} ELSE '' END)
      AND j.id < ${firstIdAt("job_", before)}
    WHERE (t.id > ${after.tenantId} OR s.column1 >= ${after.status})
      AND j.finished_at < ${before} AND ${noPendingEvent(sqlFragment`j.id`)}
    LIMIT ${limit}`.all<{
    tenant_id: string;
    status: JobStatus;
    id: string;
    input_key: string | null;
    result_key: string | null;
    attempts: number;
  }>();
  return results.map((r) => ({
    tenantId: r.tenant_id,
    status: r.status,
    id: r.id,
    inputKey: r.input_key,
    resultKey: r.result_key,
    attempts: r.attempts,
  }));
}

/** Holds for the jobs whose key is one of `jobs`' (one bound JSON array, however many). */
const keyIn = (jobs: readonly Pick<ExpiredJob, "tenantId" | "status" | "id">[]) =>
  sqlFragment`(tenant_id, status, id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
    json_extract(value, '$[2]') FROM json_each(${JSON.stringify(jobs.map((j) => [j.tenantId, j.status, j.id]))}))`;

/** What one delete wrote: D1 bills every row written, index entries included. */
export interface Deleted {
  /** Jobs (or idempotency keys) deleted. */
  count: number;
  rowsWritten: number;
  /** D1 statements run, for the sweep's budget. */
  statements: number;
}

/**
 * Deletes, in one transaction, the jobs `listed` (what `listExpiredJobs`
 * answered) that still finished before `before` (Unix ms) and point at no R2
 * object, with their webhook events and delivery attempts. The jobs
 * `objectsDeleted` names (their R2 objects are gone) first lose their R2
 * keys, so they are among them. Set-based: deletes over the listed keys (one
 * bound JSON array), never a second pick of "the oldest": a sweep
 * overlapping another cannot make it delete a job whose log objects were not
 * deleted. A job that still points at an R2 object is never deleted, so no
 * object is left behind.
 */
export async function deleteExpiredJobs(
  db: D1Database,
  before: number,
  listed: readonly ExpiredJob[],
  objectsDeleted: readonly ExpiredJob[],
): Promise<Deleted> {
  const stillExpired = sqlFragment`${keyIn(listed)} AND finished_at < ${before} AND input_key IS NULL
    AND result_key IS NULL AND ${noPendingEvent(sqlFragment`jobs.id`)}`;
  const expired = sqlFragment`SELECT id FROM jobs WHERE ${stillExpired}`;
  const statements = [
    ...(objectsDeleted.length > 0
      ? [sql(db)`UPDATE jobs SET input_key = NULL, result_key = NULL WHERE ${keyIn(objectsDeleted)}`]
      : []),
    sql(db)`DELETE FROM webhook_deliveries WHERE job_id IN (${expired})`,
    sql(db)`DELETE FROM webhook_events WHERE status IN ${storedEventStatuses} AND job_id IN (${expired})`,
    sql(db)`DELETE FROM jobs WHERE ${stillExpired}`,
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
    sql(db)`DELETE FROM webhook_events WHERE status IN ${storedEventStatuses} AND job_id IN (${gone})`,
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
