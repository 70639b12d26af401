import { sql } from "./sql";

/**
 * The route a key was used on: each route's keys are apart (`POST /v1/jobs`,
 * `…/batch`, `…/{id}/retry`, `POST /v1/schedules`: `schedule_create`, whose
 * keys live on the control database beside the schedules); `schedule`: a
 * schedule's due time (schedules/schedule-timer.ts), never a client's.
 */
export type IdempotencyScope = "job" | "batch" | "retry" | "schedule" | "schedule_create";

export interface IdempotencyRecord {
  requestHash: string;
  /** What the request created: job ids, or for `schedule_create` the schedule's id. */
  jobIds: string[];
  createdAt: number;
}

export async function findIdempotencyKey(
  db: D1Database,
  tenantId: string,
  scope: IdempotencyScope,
  key: string,
): Promise<IdempotencyRecord | null> {
  const row = await sql(db)`SELECT request_hash, job_ids, created_at FROM idempotency_keys
    WHERE tenant_id = ${tenantId} AND scope = ${scope} AND key = ${key}`.first<{
    request_hash: string;
    job_ids: string;
    created_at: number;
  }>();
  return row
    ? { requestHash: row.request_hash, jobIds: JSON.parse(row.job_ids) as string[], createdAt: row.created_at }
    : null;
}

/**
 * Claims the key. Fails with a UNIQUE constraint error when a concurrent
 * request claimed it first, which rolls back the batch it is part of.
 */
export function insertIdempotencyKey(
  db: D1Database,
  tenantId: string,
  scope: IdempotencyScope,
  key: string,
  record: IdempotencyRecord,
): D1PreparedStatement {
  return sql(db)`INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, job_ids, created_at)
    VALUES (${tenantId}, ${scope}, ${key}, ${record.requestHash}, ${JSON.stringify(record.jobIds)}, ${record.createdAt})`;
}

/**
 * Claims a `schedule_create` key for the schedule `record.jobIds[0]`, only
 * if that schedule was stored (earlier in the same batch: a create the
 * tenant's limit refused claims nothing). Fails like insertIdempotencyKey
 * when a concurrent request claimed the key first.
 */
export function insertScheduleCreateKey(
  db: D1Database,
  tenantId: string,
  key: string,
  record: IdempotencyRecord,
): D1PreparedStatement {
  return sql(db)`INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, job_ids, created_at)
    SELECT ${tenantId}, 'schedule_create', ${key}, ${record.requestHash}, ${JSON.stringify(record.jobIds)},
      ${record.createdAt}
    WHERE EXISTS (SELECT 1 FROM schedules WHERE id = ${record.jobIds[0] ?? null})`;
}

/** Forgets a key whose 24 h window has passed, so it can be used again. */
export function deleteExpiredIdempotencyKey(
  db: D1Database,
  tenantId: string,
  scope: IdempotencyScope,
  key: string,
  expiredBefore: number,
): D1PreparedStatement {
  return sql(db)`DELETE FROM idempotency_keys
    WHERE tenant_id = ${tenantId} AND scope = ${scope} AND key = ${key} AND created_at < ${expiredBefore}`;
}
