import type { CallbackEventType, JobRecord, JobStatus } from "../jobs/model";

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
    version: row.version,
    updatedAt: row.updated_at,
  };
}

export function insertJob(db: D1Database, job: JobRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO jobs (id, tenant_id, type, status, input, input_key, progress, attempts, max_attempts,
         timeout_seconds, result, result_key, error_code, error_message, callback_url, callback_events, metadata,
         created_at, run_at, started_at, finished_at, lease_expires_at, version, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, ?7, ?8, NULL, NULL, NULL, NULL, ?9, ?10, ?11, ?12, ?13, NULL, NULL, NULL, ?14, ?12)`,
    )
    .bind(
      job.id,
      job.tenantId,
      job.type,
      job.status,
      job.inputJson,
      job.inputKey,
      job.maxAttempts,
      job.timeoutSeconds,
      job.callbackUrl,
      jsonOrNull(job.callbackEvents),
      job.metadataJson,
      job.createdAt,
      job.runAt,
      job.version,
    );
}

/**
 * Writes a changed job, but only over the version it was read at: a stale
 * writer changes nothing (`meta.changes` is 0) instead of moving state back.
 */
export function updateJob(db: D1Database, job: JobRecord, previousVersion: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE jobs SET status = ?1, progress = ?2, attempts = ?3, result = ?4, result_key = ?5, error_code = ?6,
         error_message = ?7, run_at = ?8, started_at = ?9, finished_at = ?10, lease_expires_at = ?11,
         version = ?12, updated_at = ?13
       WHERE id = ?14 AND version = ?15`,
    )
    .bind(
      job.status,
      jsonOrNull(job.progress),
      job.attempts,
      job.resultJson,
      job.resultKey,
      job.error?.code ?? null,
      job.error?.message ?? null,
      job.runAt,
      job.startedAt,
      job.finishedAt,
      job.leaseExpiresAt,
      job.version,
      job.updatedAt,
      job.id,
      previousVersion,
    );
}

export async function findJob(db: D1Database, id: string): Promise<JobRecord | null> {
  const row = await db.prepare("SELECT * FROM jobs WHERE id = ?").bind(id).first<JobRow>();
  return row ? fromRow(row) : null;
}

export async function findTenantJob(db: D1Database, tenantId: string, id: string): Promise<JobRecord | null> {
  const row = await db.prepare("SELECT * FROM jobs WHERE id = ? AND tenant_id = ?").bind(id, tenantId).first<JobRow>();
  return row ? fromRow(row) : null;
}

export async function findTenantJobs(db: D1Database, tenantId: string, ids: string[]): Promise<JobRecord[]> {
  // One statement per id keeps every statement far below D1's 100 bound parameters.
  const results = await db.batch(
    ids.map((id) => db.prepare("SELECT * FROM jobs WHERE id = ? AND tenant_id = ?").bind(id, tenantId)),
  );
  return results.flatMap((r) => (r.results as JobRow[]).map(fromRow));
}

export interface JobListQuery {
  tenantId: string;
  status?: JobStatus;
  type?: string;
  /** Only ids below this one: the previous page's last id. */
  beforeId?: string;
  limit: number;
}

/** Newest first (job ids are ULIDs, so id order is creation order). */
export async function listJobs(db: D1Database, q: JobListQuery): Promise<JobRecord[]> {
  const where = ["tenant_id = ?"];
  const params: unknown[] = [q.tenantId];
  if (q.status) {
    where.push("status = ?");
    params.push(q.status);
  }
  if (q.type) {
    where.push("type = ?");
    params.push(q.type);
  }
  if (q.beforeId) {
    where.push("id < ?");
    params.push(q.beforeId);
  }
  params.push(q.limit);
  const { results } = await db
    .prepare(`SELECT * FROM jobs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`)
    .bind(...params)
    .all<JobRow>();
  return results.map(fromRow);
}

/**
 * Jobs that should be moving but show no sign of it: waiting past their run
 * time plus `graceMs` without any change, or running past their lease.
 */
export async function listStrandedJobIds(
  db: D1Database,
  now: number,
  graceMs: number,
  limit: number,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT id FROM jobs
       WHERE (status IN ('scheduled', 'queued') AND run_at < ?1 AND updated_at < ?1)
          OR (status = 'running' AND lease_expires_at < ?2)
       LIMIT ?3`,
    )
    .bind(now - graceMs, now, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Marks a job as looked after without changing it, so the sweep leaves it alone for a while. */
export function touchJob(db: D1Database, id: string, version: number, now: number): D1PreparedStatement {
  return db.prepare("UPDATE jobs SET updated_at = ? WHERE id = ? AND version = ?").bind(now, id, version);
}
