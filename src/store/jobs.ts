import { type CallbackEventType, type JobStatus, jobStatuses, terminalJobStatuses } from "../contract/schemas";
import { limits } from "../limits";
import { firstIdAt } from "../platform/ids";
import { keyIsLive } from "./api-keys";
import type { HeldEvent, JobRecord } from "./job-record";
import { joinSql, type SqlFragment, type SqlValue, sql, sqlFragment, sqlName, unionAll } from "./sql";
import { eventsOf } from "./webhook-events";

/** A status a job ends at. */
export type TerminalJobStatus = (typeof terminalJobStatuses)[number];

/**
 * The status a finished job is stored at while its row holds its callback
 * event's owed first attempt (migration 0021), per status shown: a status
 * of its own in the key, so the sweep finds such jobs as a range and the
 * obligation costs no index entry.
 */
const owedStatuses = {
  canceled: "canceled:owed",
  failed: "failed:owed",
  succeeded: "succeeded:owed",
} as const satisfies Record<TerminalJobStatus, string>;

type OwedStatus = (typeof owedStatuses)[TerminalJobStatus];

/** A status a job is stored at: the one the API shows, or a finished one whose callback is owed. */
export type StoredJobStatus = JobStatus | OwedStatus;

/** Every status a job is stored at. */
export const storedJobStatuses: readonly StoredJobStatus[] = [...jobStatuses, ...Object.values(owedStatuses)];

/** The statuses a job the API shows at `status` may be stored at. */
export const storedStatusesOf = (status: JobStatus): StoredJobStatus[] =>
  status in owedStatuses ? [status, owedStatuses[status as TerminalJobStatus]] : [status];

/** The statuses of a job waiting for its next attempt. */
export const waitingStatuses: readonly StoredJobStatus[] = ["scheduled", "queued"];

/** The stored statuses of finished jobs. */
export const storedTerminalStatuses: readonly StoredJobStatus[] = terminalJobStatuses.flatMap(storedStatusesOf);

/** The stored statuses of finished jobs whose callback's first attempt is owed. */
export const owedJobStatuses: readonly OwedStatus[] = Object.values(owedStatuses);

/** The status a job that ended at `status` is stored at while its callback's first attempt is owed. */
export const owedStatusOf = (status: TerminalJobStatus): OwedStatus => owedStatuses[status];

/** The status the API shows for a stored one: the part before its colon. */
export const shownStatus = (stored: StoredJobStatus): JobStatus => stored.split(":")[0] as JobStatus;

/** `shownStatus` in SQL, of the row's `status`. */
export const shownStatusSql = sqlFragment`substr(status, 1, instr(status || ':', ':') - 1)`;

/** The status a job's row is stored at: owed while it holds an event not yet delivered. */
const storedStatusOf = (job: Pick<JobRecord, "status" | "heldEvent">): StoredJobStatus =>
  job.heldEvent && job.heldEvent.delivered === null ? owedStatuses[job.status as TerminalJobStatus] : job.status;

/** A `jobs` row as D1 returns it. */
interface JobRow {
  id: string;
  tenant_id: string;
  type: string;
  status: StoredJobStatus;
  input: string | null;
  input_key: string | null;
  progress: string | null;
  attempts: number;
  given_back: number;
  max_attempts: number;
  timeout_seconds: number;
  result: string | null;
  result_key: string | null;
  error_code: string | null;
  error_message: string | null;
  callback_url: string | null;
  callback_events: string | null;
  metadata: string | null;
  created_at: number;
  run_at: number;
  started_at: number | null;
  finished_at: number | null;
  lease_expires_at: number | null;
  start_token: string | null;
  expires_at: number | null;
  retry_of: string | null;
  batch_id: string | null;
  schedule_id: string | null;
  version: number;
  updated_at: number;
  event_id: string | null;
  event_created_at: number | null;
  event_attempted_at: number | null;
  event_duration_ms: number | null;
  event_http_status: number | null;
  event_response_body: string | null;
  logged: number;
}

const parseOrNull = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

const heldEventOf = (row: JobRow): HeldEvent | null =>
  row.event_id === null
    ? null
    : {
        id: row.event_id,
        createdAt: row.event_created_at as number,
        delivered:
          row.event_attempted_at === null
            ? null
            : {
                attemptedAt: row.event_attempted_at,
                durationMs: row.event_duration_ms as number,
                httpStatus: row.event_http_status as number,
                responseBody: row.event_response_body,
              },
      };

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    type: row.type,
    status: shownStatus(row.status),
    inputJson: row.input,
    inputKey: row.input_key,
    progress: parseOrNull(row.progress),
    attempts: row.attempts,
    givenBack: row.given_back,
    maxAttempts: row.max_attempts,
    timeoutSeconds: row.timeout_seconds,
    resultJson: row.result,
    resultKey: row.result_key,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? "" },
    callbackUrl: row.callback_url,
    callbackEvents: parseOrNull<CallbackEventType[]>(row.callback_events),
    metadataJson: row.metadata,
    createdAt: row.created_at,
    runAt: row.run_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    leaseExpiresAt: row.lease_expires_at,
    startToken: row.start_token,
    expiresAt: row.expires_at,
    retryOf: row.retry_of,
    batchId: row.batch_id,
    scheduleId: row.schedule_id,
    version: row.version,
    updatedAt: row.updated_at,
    logged: row.logged === 1,
    heldEvent: heldEventOf(row),
  };
}

/**
 * Every column of a new job's row with its value: what an insert writes,
 * and what taking over an expired job's row overwrites, every column, so
 * nothing of the job before is left (`reuseExpiredJob`).
 */
const newJobRow = (job: JobRecord): [SqlFragment, SqlValue][] =>
  (
    [
      ["tenant_id", job.tenantId],
      ["status", job.status],
      ["id", job.id],
      ["type", job.type],
      ["input", job.inputJson],
      ["input_key", job.inputKey],
      ["progress", null],
      ["attempts", 0],
      ["given_back", 0],
      ["max_attempts", job.maxAttempts],
      ["timeout_seconds", job.timeoutSeconds],
      ["result", null],
      ["result_key", null],
      ["error_code", null],
      ["error_message", null],
      ["callback_url", job.callbackUrl],
      ["callback_events", jsonOrNull(job.callbackEvents)],
      ["metadata", job.metadataJson],
      ["created_at", job.createdAt],
      ["run_at", job.runAt],
      ["started_at", null],
      ["finished_at", null],
      ["lease_expires_at", null],
      ["start_token", null],
      ["expires_at", job.expiresAt],
      ["retry_of", job.retryOf],
      ["batch_id", job.batchId],
      ["schedule_id", job.scheduleId],
      ["version", job.version],
      ["updated_at", job.createdAt],
      ["event_id", null],
      ["event_created_at", null],
      ["event_attempted_at", null],
      ["event_duration_ms", null],
      ["event_http_status", null],
      ["event_response_body", null],
      ["logged", job.logged ? 1 : 0],
    ] as const
  ).map(([column, value]) => [sqlName(column), value]);

/**
 * Inserts a new job, unless a job with its key is stored already (a
 * `reuseExpiredJob` before it in the batch stored it). With `keyHash`, only
 * while that API key is live: the insert rides in the batch that checks the
 * key (tenants/key-check.ts).
 */
export function insertJob(db: D1Database, job: JobRecord, keyHash: string | null = null): D1PreparedStatement {
  const row = newJobRow(job);
  return sql(db)`INSERT INTO jobs (${joinSql(
    row.map(([column]) => column),
    ", ",
  )}) SELECT ${joinSql(
    row.map(([, value]) => sqlFragment`${value}`),
    ", ",
  )} WHERE ${keyIsLive(keyHash)} AND NOT EXISTS (SELECT 1 FROM jobs WHERE ${jobAt(job.tenantId, job.status, job.id)})`;
}

/**
 * Stores a new job (at most two statements, for one batch): in the row of
 * an expired job of its tenant when there is one to take over
 * (`reuseExpiredJob`, with `finishedBefore` the retention cutoff, Unix ms;
 * null: nothing expires), else as a row of its own (`insertJob`).
 */
export function storeNewJob(
  db: D1Database,
  job: JobRecord,
  keyHash: string | null,
  finishedBefore: number | null,
): D1PreparedStatement[] {
  const insert = insertJob(db, job, keyHash);
  return finishedBefore === null ? [insert] : [reuseExpiredJob(db, job, keyHash, finishedBefore), insert];
}

/**
 * Writes the new `job` over the row of one of its tenant's expired jobs,
 * which is gone then as if retention had deleted it; changes nothing when
 * no such row is found (`meta.changes` 0). D1 bills a deleted row as a row
 * written and this update, which moves the row in its key, as 1 row, as an
 * insert (migration 0022): the new job costs what it would have, and the
 * expired one's delete is never paid.
 *
 * Taken over is the oldest of the tenant's first `limits.reuseCandidates`
 * succeeded jobs (in id order, so created before `finishedBefore`: a few
 * rows read) that finished before `finishedBefore`, at its first attempt,
 * and left nothing elsewhere to delete: no R2 input or result, no log
 * object (`logged`), no webhook event or delivery attempt row. Any other
 * expired job, or one behind those few, waits for the sweep's delete,
 * which comes a little later (`reuseWindowMs` in src/config.ts) so that
 * new jobs get the first pick. Guarded by `keyHash` as `insertJob` is.
 */
function reuseExpiredJob(
  db: D1Database,
  job: JobRecord,
  keyHash: string | null,
  finishedBefore: number,
): D1PreparedStatement {
  const assignments = newJobRow(job).map(([column, value]) => sqlFragment`${column} = ${value}`);
  return sql(db)`UPDATE jobs SET ${joinSql(assignments, ", ")}
    WHERE tenant_id = ${job.tenantId} AND status = 'succeeded' AND id = (SELECT id FROM (
        SELECT id, attempts, logged, input_key, result_key, finished_at FROM jobs
        WHERE tenant_id = ${job.tenantId} AND status = 'succeeded' AND id < ${firstIdAt("job_", finishedBefore)}
        ORDER BY id LIMIT ${limits.reuseCandidates}) AS expired
      WHERE finished_at < ${finishedBefore} AND attempts = 1 AND logged = 0 AND input_key IS NULL
        AND result_key IS NULL AND NOT EXISTS (SELECT 1 FROM webhook_events WHERE ${eventsOf(sqlFragment`expired.id`)})
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE job_id = expired.id)
      LIMIT 1)
    AND ${keyIsLive(keyHash)}`;
}

/**
 * The columns every change of a job writes. A delivered held event is
 * recorded by `recordHeldDelivery` (store/held-events.ts), never here: a
 * change's writer holds only an event it has just built.
 */
const updatedColumns = (job: JobRecord) => sqlFragment`status = ${storedStatusOf(job)},
  event_id = ${job.heldEvent?.id ?? null}, event_created_at = ${job.heldEvent?.createdAt ?? null}, progress = ${jsonOrNull(job.progress)},
  attempts = ${job.attempts}, given_back = ${job.givenBack}, result = ${job.resultJson}, result_key = ${job.resultKey},
  error_code = ${job.error?.code ?? null}, error_message = ${job.error?.message ?? null}, run_at = ${job.runAt},
  started_at = ${job.startedAt}, finished_at = ${job.finishedAt}, lease_expires_at = ${job.leaseExpiresAt},
  start_token = ${job.startToken}, logged = ${job.logged ? 1 : 0}, version = ${job.version},
  updated_at = ${job.updatedAt}`;

/**
 * What finds a job's row: its key (tenant, status, id) (migration 0019). The
 * row is its own entry of the list by status, so an insert or a change of
 * status writes one row, not two. A job not yet finished is stored at the
 * status shown.
 */
export type JobKey = Pick<JobRecord, "id" | "tenantId" | "status">;

/** The job `id` of `tenantId` at stored `status`, or at any of several (one probe of the key each). */
export const jobAt = (tenantId: string, status: StoredJobStatus | readonly StoredJobStatus[], id: string) =>
  typeof status === "string"
    ? sqlFragment`tenant_id = ${tenantId} AND status = ${status} AND id = ${id}`
    : sqlFragment`tenant_id = ${tenantId} AND status IN ${status} AND id = ${id}`;

/**
 * Writes a changed job, but only over the status and version it was read
 * at (`previous`): a stale writer changes nothing (`meta.changes` is 0)
 * instead of moving state back. A new status moves the row in its key.
 */
export function updateJob(
  db: D1Database,
  job: JobRecord,
  previous: Pick<JobRecord, "status" | "version" | "heldEvent">,
): D1PreparedStatement {
  return sql(db)`UPDATE jobs SET ${updatedColumns(job)}
    WHERE ${jobAt(job.tenantId, storedStatusOf(previous), job.id)} AND version = ${previous.version}`;
}

/**
 * The job `id` of `tenantId`, at whatever status (or at one of `statuses`,
 * when the caller knows where it likely is): nine probes of the key. With
 * `tenantId` null (a caller that does not know it), nine probes for each
 * tenant with jobs on this database (`withTenantsOfJobs`), a row read each
 * besides: what a job's tracker told nothing pays.
 */
export async function findJob(
  db: D1Database,
  tenantId: string | null,
  id: string,
  statuses: readonly StoredJobStatus[] = storedJobStatuses,
): Promise<JobRecord | null> {
  const row = await (tenantId === null
    ? sql(db)`${withTenantsOfJobs("")} SELECT * FROM jobs
        WHERE tenant_id IN (SELECT id FROM tenants_with_jobs) AND status IN ${statuses} AND id = ${id}`
    : sql(db)`SELECT * FROM jobs WHERE ${jobAt(tenantId, statuses, id)}`
  ).first<JobRow>();
  return row ? fromRow(row) : null;
}

/**
 * Holds while the job's row is at `version`: the condition of an event
 * written in the batch that moves the job there, so a write that changed
 * nothing (the row was deleted meanwhile) leaves no event about it.
 */
export const jobIsAt = (job: JobKey, version: number): SqlFragment =>
  sqlFragment`EXISTS (SELECT 1 FROM jobs WHERE ${jobAt(job.tenantId, job.status, job.id)} AND version = ${version})`;

/**
 * The job an event stored without its payload is about (store/webhook-events.ts
 * `payloadFromJob`), to rebuild it from: a statement, so it rides in the batch
 * that claims the event; no row for any other event. Read it with `jobFound`.
 */
export function jobOfEvent(db: D1Database, jobId: string, eventId: string): D1PreparedStatement {
  const tenantOfEvent = sqlFragment`(SELECT tenant_id FROM webhook_events
    WHERE ${eventsOf(jobId)} AND id = ${eventId} AND payload = '')`;
  return sql(db)`SELECT * FROM jobs WHERE tenant_id = ${tenantOfEvent} AND status IN ${storedJobStatuses}
    AND id = ${jobId}`;
}

/** The tenant's job with this id: a statement, so it can ride in a batch. */
export function tenantJob(db: D1Database, tenantId: string, id: string): D1PreparedStatement {
  return sql(db)`SELECT * FROM jobs WHERE ${jobAt(tenantId, storedJobStatuses, id)}`;
}

/** What `tenantJob` found. */
export function jobFound(result: D1Result): JobRecord | null {
  const row = result.results[0] as JobRow | undefined;
  return row ? fromRow(row) : null;
}

export async function findTenantJobs(db: D1Database, tenantId: string, ids: string[]): Promise<JobRecord[]> {
  // One statement per id keeps every statement far below D1's 100 bound parameters.
  const results = await db.batch(ids.map((id) => tenantJob(db, tenantId, id)));
  return results.flatMap((r) => jobFound(r) ?? []);
}

export interface JobListQuery {
  tenantId: string;
  status?: JobStatus;
  type?: string;
  batchId?: string;
  scheduleId?: string;
  /** Only ids below this one: the previous page's last id. */
  beforeId?: string;
  limit: number;
}

/**
 * The newest `limit` jobs at any of `statuses` (stored ones) that match
 * `where`, read from `source`, newest first: a page per status, each the
 * newest `limit` of its range of the key (tenant, status, id), merged. One
 * query over `status IN (...)` would read every job of those ranges to sort
 * them.
 */
export const newestAt = (
  source: SqlFragment,
  where: readonly SqlFragment[],
  statuses: readonly StoredJobStatus[],
  limit: number,
): SqlFragment =>
  sqlFragment`${unionAll(
    statuses.map(
      (status) => sqlFragment`SELECT * FROM (SELECT * FROM ${source}
        WHERE ${joinSql([...where, sqlFragment`status = ${status}`], " AND ")} ORDER BY id DESC LIMIT ${limit})`,
    ),
  )} ORDER BY id DESC LIMIT ${limit}`;

/**
 * Newest first (job ids are ULIDs, so id order is creation order). A batch
 * or schedule filter reads that link's index, with a status filter too
 * (named: SQLite would otherwise read the key's range of that status, every
 * job of the tenant at it). Otherwise the page is read through the jobs' key
 * (tenant, status, id) one stored status at a time (`newestAt`): at most
 * 9 × `limit` rows read (6 statuses and the 3 finished ones whose callback
 * is owed, whose ranges hold only the jobs of the last seconds), and no
 * index of a tenant's jobs by id alone, which would cost an index entry per
 * job submitted (migration 0015). A `type` filter reads each status's jobs
 * until it has `limit` of that type (or has read them all).
 */
export async function listJobs(db: D1Database, q: JobListQuery): Promise<JobRecord[]> {
  const where = [sqlFragment`tenant_id = ${q.tenantId}`];
  if (q.type) where.push(sqlFragment`type = ${q.type}`);
  if (q.batchId) where.push(sqlFragment`batch_id = ${q.batchId}`);
  if (q.scheduleId) where.push(sqlFragment`schedule_id = ${q.scheduleId}`);
  if (q.beforeId) where.push(sqlFragment`id < ${q.beforeId}`);
  const statuses = q.status ? storedStatusesOf(q.status) : storedJobStatuses;
  const link = q.batchId
    ? sqlFragment`jobs INDEXED BY jobs_by_batch`
    : q.scheduleId
      ? sqlFragment`jobs INDEXED BY jobs_by_schedule`
      : null;
  const page =
    link === null
      ? newestAt(sqlFragment`jobs`, where, statuses, q.limit)
      : sqlFragment`SELECT * FROM ${link} WHERE ${joinSql(
          q.status ? [...where, sqlFragment`status IN ${statuses}`] : where,
          " AND ",
        )} ORDER BY id DESC LIMIT ${q.limit}`;
  const { results } = await sql(db)`${page}`.all<JobRow>();
  return results.map(fromRow);
}

/**
 * A `WITH RECURSIVE` clause naming `tenants_with_jobs(id)`: the tenants with
 * a job on this database, from `from` on, in order, found by skipping from
 * one tenant's first key to the next's (a row read each; its last row is a
 * null). A tenant with no job here costs nothing, where the shard's replica
 * of the tenants lists every tenant of the deployment.
 */
export const withTenantsOfJobs = (from: string): SqlFragment => sqlFragment`WITH RECURSIVE tenants_with_jobs(id) AS (
    SELECT MIN(tenant_id) FROM jobs WHERE tenant_id >= ${from}
    UNION ALL
    SELECT (SELECT MIN(tenant_id) FROM jobs WHERE tenant_id > t.id) FROM tenants_with_jobs t WHERE t.id IS NOT NULL)`;

/**
 * Jobs that should be moving but show no sign of it: waiting past their run
 * time plus `graceMs` without any change, or running past their lease (then
 * the tracker decides whether the attempt still lives). Those looked after
 * longest ago come first, so however many live long-running jobs are past
 * their lease, a lost one is reached within a few sweeps.
 */
export async function listStrandedJobs(
  db: D1Database,
  now: number,
  graceMs: number,
  limit: number,
): Promise<Pick<JobRecord, "id" | "tenantId">[]> {
  const waitingSince = now - graceMs;
  // Through the jobs' key (tenant, status, id), tenant by tenant of those with jobs here: only unfinished jobs are read.
  const { results } = await sql(db)`${withTenantsOfJobs("")} SELECT id, tenant_id FROM jobs
    WHERE tenant_id IN (SELECT id FROM tenants_with_jobs) AND status IN ('scheduled', 'queued', 'running')
      AND ((status != 'running' AND run_at < ${waitingSince} AND updated_at < ${waitingSince})
        OR (status = 'running' AND lease_expires_at < ${now}))
    ORDER BY CASE status WHEN 'running' THEN lease_expires_at ELSE updated_at END
    LIMIT ${limit}`.all<{ id: string; tenant_id: string }>();
  return results.map((r) => ({ id: r.id, tenantId: r.tenant_id }));
}

/**
 * Extends a running attempt's lease (Unix ms) after its tracker found it alive,
 * without changing the job: the sweep asks about it again only after `until`,
 * and asks first about those it has not asked about lately.
 */
export function renewLease(db: D1Database, job: JobKey, version: number, until: number): D1PreparedStatement {
  return sql(db)`UPDATE jobs SET lease_expires_at = ${until}
    WHERE ${jobAt(job.tenantId, "running", job.id)} AND version = ${version}`;
}

/** Marks a job as looked after without changing it, so the sweep leaves it alone for a while. */
export function touchJob(db: D1Database, job: JobKey, version: number, now: number): D1PreparedStatement {
  return sql(db)`UPDATE jobs SET updated_at = ${now}
    WHERE ${jobAt(job.tenantId, job.status, job.id)} AND version = ${version}`;
}
