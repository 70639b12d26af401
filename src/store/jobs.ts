import { type CallbackEventType, type JobStatus, jobStatuses } from "../contract/schemas";
import { keyIsLive } from "./api-keys";
import type { JobRecord } from "./job-record";
import { joinSql, type SqlFragment, sql, sqlFragment, unionAll } from "./sql";
import { eventsOf } from "./webhook-events";

/** A `jobs` row as D1 returns it. */
interface JobRow {
  id: string;
  tenant_id: string;
  type: string;
  status: JobStatus;
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
}

const parseOrNull = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    type: row.type,
    status: row.status,
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
  };
}

/**
 * Inserts a new job. With `keyHash`, only while that API key is live: the
 * insert rides in the batch that checks the key (tenants/key-check.ts).
 */
export function insertJob(db: D1Database, job: JobRecord, keyHash: string | null = null): D1PreparedStatement {
  return sql(db)`INSERT INTO jobs (id, tenant_id, type, status, input, input_key, progress, attempts, max_attempts,
      timeout_seconds, result, result_key, error_code, error_message, callback_url, callback_events, metadata,
      created_at, run_at, started_at, finished_at, lease_expires_at, expires_at, retry_of, batch_id, schedule_id,
      version, updated_at)
    SELECT ${job.id}, ${job.tenantId}, ${job.type}, ${job.status}, ${job.inputJson}, ${job.inputKey}, NULL, 0,
      ${job.maxAttempts}, ${job.timeoutSeconds}, NULL, NULL, NULL, NULL, ${job.callbackUrl},
      ${jsonOrNull(job.callbackEvents)}, ${job.metadataJson}, ${job.createdAt}, ${job.runAt}, NULL, NULL, NULL,
      ${job.expiresAt}, ${job.retryOf}, ${job.batchId}, ${job.scheduleId}, ${job.version}, ${job.createdAt}
    WHERE ${keyIsLive(keyHash)}`;
}

/** The columns every change of a job writes. */
const updatedColumns = (job: JobRecord) => sqlFragment`status = ${job.status}, progress = ${jsonOrNull(job.progress)},
  attempts = ${job.attempts}, given_back = ${job.givenBack}, result = ${job.resultJson}, result_key = ${job.resultKey},
  error_code = ${job.error?.code ?? null}, error_message = ${job.error?.message ?? null}, run_at = ${job.runAt},
  started_at = ${job.startedAt}, finished_at = ${job.finishedAt}, lease_expires_at = ${job.leaseExpiresAt},
  start_token = ${job.startToken}, version = ${job.version}, updated_at = ${job.updatedAt}`;

/**
 * What finds a job's row: its key (tenant, status, id) (migration 0019). The
 * row is its own entry of the list by status, so an insert or a change of
 * status writes one row, not two.
 */
export type JobKey = Pick<JobRecord, "id" | "tenantId" | "status">;

/** The job `id` of `tenantId` at `status`, or at any of several (one probe of the key each). */
const jobAt = (tenantId: string, status: JobStatus | readonly JobStatus[], id: string) =>
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
  previous: Pick<JobRecord, "status" | "version">,
): D1PreparedStatement {
  return sql(db)`UPDATE jobs SET ${updatedColumns(job)}
    WHERE ${jobAt(job.tenantId, previous.status, job.id)} AND version = ${previous.version}`;
}

/**
 * The whole start of an attempt in one statement, for a tracker that holds no
 * state yet (the common case: a fresh message for a fresh job) and already
 * holds a running slot of the tenant: a due, waiting job (`id` of
 * `tenantId`, at either waiting status) becomes running, unless it is past
 * the `expires_at` of a job that never started. The started job, or null —
 * then the tracker reads the job and decides why not.
 */
export async function startDueJob(
  db: D1Database,
  tenantId: string,
  id: string,
  now: number,
  options: { earlyToleranceMs: number; leaseMs: number; startToken: string | null },
): Promise<JobRecord | null> {
  const row = await sql(db)`UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ${now},
      lease_expires_at = ${now} + ${options.leaseMs}, start_token = ${options.startToken}, version = version + 1, updated_at = ${now}
    WHERE ${jobAt(tenantId, ["scheduled", "queued"], id)} AND run_at <= ${now} + ${options.earlyToleranceMs}
      AND (expires_at IS NULL OR expires_at > ${now} OR attempts > 0)
    RETURNING *`.first<JobRow>();
  return row ? fromRow(row) : null;
}

/**
 * The job `id` of `tenantId`, at whatever status: six probes of the key.
 * With `tenantId` null (a caller that does not know it), six probes for
 * each tenant with jobs on this database (`withTenantsOfJobs`), a row read
 * each besides: what a job's tracker told nothing pays.
 */
export async function findJob(db: D1Database, tenantId: string | null, id: string): Promise<JobRecord | null> {
  const row = await (tenantId === null
    ? sql(db)`${withTenantsOfJobs("")} SELECT * FROM jobs
        WHERE tenant_id IN (SELECT id FROM tenants_with_jobs) AND status IN ${jobStatuses} AND id = ${id}`
    : sql(db)`SELECT * FROM jobs WHERE ${jobAt(tenantId, jobStatuses, id)}`
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
  return sql(db)`SELECT * FROM jobs WHERE tenant_id = ${tenantOfEvent} AND status IN ${jobStatuses} AND id = ${jobId}`;
}

/** The tenant's job with this id: a statement, so it can ride in a batch. */
export function tenantJob(db: D1Database, tenantId: string, id: string): D1PreparedStatement {
  return sql(db)`SELECT * FROM jobs WHERE ${jobAt(tenantId, jobStatuses, id)}`;
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
 * Newest first (job ids are ULIDs, so id order is creation order). A batch
 * or schedule filter reads that link's index, with a status filter too
 * (named: SQLite would otherwise read the key's range of that status, every
 * job of the tenant at it). Otherwise the page is read through the jobs' key
 * (tenant, status, id) one status at a time, each the newest `limit` of its
 * status, merged: at most 6 × `limit` rows read, and no index of a tenant's
 * jobs by id alone, which would cost an index entry per job submitted
 * (migration 0015). A `type` filter reads each status's jobs until it has
 * `limit` of that type (or has read them all).
 */
export async function listJobs(db: D1Database, q: JobListQuery): Promise<JobRecord[]> {
  const where = [sqlFragment`tenant_id = ${q.tenantId}`];
  if (q.type) where.push(sqlFragment`type = ${q.type}`);
  if (q.batchId) where.push(sqlFragment`batch_id = ${q.batchId}`);
  if (q.scheduleId) where.push(sqlFragment`schedule_id = ${q.scheduleId}`);
  if (q.beforeId) where.push(sqlFragment`id < ${q.beforeId}`);
  const source = q.batchId
    ? sqlFragment`jobs INDEXED BY jobs_by_batch`
    : q.scheduleId
      ? sqlFragment`jobs INDEXED BY jobs_by_schedule`
      : sqlFragment`jobs`;
  const newest = (status: JobStatus | undefined) =>
    sqlFragment`SELECT * FROM (SELECT * FROM ${source}
      WHERE ${joinSql(status ? [...where, sqlFragment`status = ${status}`] : where, " AND ")}
      ORDER BY id DESC LIMIT ${q.limit})`;
  const linked = q.batchId !== undefined || q.scheduleId !== undefined;
  const pages = q.status || linked ? [newest(q.status)] : jobStatuses.map(newest);
  const { results } = await sql(db)`${unionAll(pages)} ORDER BY id DESC LIMIT ${q.limit}`.all<JobRow>();
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
