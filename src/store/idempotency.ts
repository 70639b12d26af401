import { sql } from "./sql";

/**
 * The route a key was used on: each route's keys are apart (`POST /v1/jobs`,
 * `…/batch`, `…/{id}/retry`); `schedule`: a schedule's due time
 * (schedules/schedule-timer.ts), never a client's.
 */
export type IdempotencyScope = "job" | "batch" | "retry" | "schedule";

export interface IdempotencyRecord {
  requestHash: string;
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
