import { type SqlFragment, sql, sqlFragment } from "./sql";

/**
 * The replicated tables, read and mended row by row (tenants/replica-repair.ts).
 * Tenants come before API keys: a key's row names its tenant's.
 */
export type ReplicaTable = "tenants" | "api_keys";

const tableName: Record<ReplicaTable, SqlFragment> = {
  tenants: sqlFragment`tenants`,
  api_keys: sqlFragment`api_keys`,
};

/** Where a repair goes on: rows of `table` with ids after `after` ("": from its first row). */
export interface RepairCursor {
  table: ReplicaTable;
  after: string;
}

/**
 * One database's copy of the replicated tables, summed: its row count and
 * the sum of its rows' digests (two copies that agree went through the same
 * writes, with overwhelming likelihood), and where its repair goes on (null:
 * from the start).
 */
export interface ReplicaFingerprint {
  rows: number;
  digestSum: number;
  cursor: RepairCursor | null;
}

/**
 * The database's fingerprint: one query, which reads every tenant and key
 * row once (D1 bills a row read per row scanned).
 */
export async function readFingerprint(db: D1Database): Promise<ReplicaFingerprint> {
  const row = await sql(db)`SELECT
      (SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM api_keys) AS row_count,
      (SELECT COALESCE(SUM(replica_digest), 0) FROM tenants) + (SELECT COALESCE(SUM(replica_digest), 0) FROM api_keys)
        AS digest_sum,
      (SELECT table_name FROM replica_repair) AS table_name,
      (SELECT after_id FROM replica_repair) AS after_id`.first<{
    row_count: number;
    digest_sum: number;
    table_name: ReplicaTable | null;
    after_id: string | null;
  }>();
  return {
    rows: row?.row_count ?? 0,
    digestSum: row?.digest_sum ?? 0,
    cursor: row?.table_name ? { table: row.table_name, after: row.after_id ?? "" } : null,
  };
}

/** A row as the control database holds it: every column, as D1 answers it. */
export type ReplicaRow = Record<string, string | number | null> & {
  id: string;
  replica_digest: number;
  replica_updated_at: number;
  /** API keys only. */
  revoked_at?: number | null;
};

/** Up to `limit` rows of `table` with ids after `after`, by id: the control database's page. */
export async function readRows(
  db: D1Database,
  table: ReplicaTable,
  after: string,
  limit: number,
): Promise<ReplicaRow[]> {
  const { results } = await sql(
    db,
  )`SELECT * FROM ${tableName[table]} WHERE id > ${after} ORDER BY id LIMIT ${limit}`.all<ReplicaRow>();
  return results;
}

/** What a shard's copy of a row is compared by. */
export interface CopyState {
  id: string;
  digest: number;
  updatedAt: number;
  revokedAt: number | null;
}

/** A shard's rows of `table` with ids after `after` and up to `upTo` (null: to the end), by id. */
export async function readCopies(
  db: D1Database,
  table: ReplicaTable,
  after: string,
  upTo: string | null,
): Promise<CopyState[]> {
  const revoked = table === "api_keys" ? sqlFragment`revoked_at` : sqlFragment`NULL`;
  const { results } = await sql(db)`SELECT id, replica_digest, replica_updated_at, ${revoked} AS revoked_at
    FROM ${tableName[table]} WHERE id > ${after} AND (${upTo} IS NULL OR id <= ${upTo}) ORDER BY id`.all<{
    id: string;
    replica_digest: number;
    replica_updated_at: number;
    revoked_at: number | null;
  }>();
  return results.map((r) => ({
    id: r.id,
    digest: r.replica_digest,
    updatedAt: r.replica_updated_at,
    revokedAt: r.revoked_at,
  }));
}

/**
 * Makes the shard's copies of `rows` (the control database's) the same:
 * inserts missing ones, overwrites the others — but never a row written at
 * or after `recentSince` (ms: a write may still be on its way to the control
 * database), and never a revoked key with a live one. One statement, the
 * rows bound as one JSON array.
 */
export function copyRows(db: D1Database, table: ReplicaTable, rows: ReplicaRow[], recentSince: number) {
  const json = JSON.stringify(rows);
  if (table === "tenants") {
    return sql(db)`INSERT INTO tenants (id, webhook_secret, previous_webhook_secret, previous_secret_valid_until,
        older_webhook_secret, older_secret_valid_until, created_at, submit_per_minute, read_per_minute,
        max_running_jobs, replica_digest, replica_updated_at)
      SELECT value ->> 'id', value ->> 'webhook_secret', value ->> 'previous_webhook_secret',
        value ->> 'previous_secret_valid_until', value ->> 'older_webhook_secret', value ->> 'older_secret_valid_until',
        value ->> 'created_at', value ->> 'submit_per_minute', value ->> 'read_per_minute',
        value ->> 'max_running_jobs', value ->> 'replica_digest', value ->> 'replica_updated_at'
      FROM json_each(${json}) WHERE true
      ON CONFLICT (id) DO UPDATE SET webhook_secret = excluded.webhook_secret,
        previous_webhook_secret = excluded.previous_webhook_secret,
        previous_secret_valid_until = excluded.previous_secret_valid_until,
        older_webhook_secret = excluded.older_webhook_secret, older_secret_valid_until = excluded.older_secret_valid_until,
        created_at = excluded.created_at, submit_per_minute = excluded.submit_per_minute,
        read_per_minute = excluded.read_per_minute, max_running_jobs = excluded.max_running_jobs,
        replica_digest = excluded.replica_digest, replica_updated_at = excluded.replica_updated_at
      WHERE tenants.replica_updated_at < ${recentSince}`;
  }
  return sql(db)`INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at, revoked_at, replica_digest,
      replica_updated_at)
    SELECT value ->> 'id', value ->> 'tenant_id', value ->> 'name', value ->> 'key_hash', value ->> 'created_at',
      value ->> 'revoked_at', value ->> 'replica_digest', value ->> 'replica_updated_at'
    FROM json_each(${json}) WHERE true
    ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name, key_hash = excluded.key_hash,
      created_at = excluded.created_at, revoked_at = excluded.revoked_at, replica_digest = excluded.replica_digest,
      replica_updated_at = excluded.replica_updated_at
    WHERE api_keys.replica_updated_at < ${recentSince}
      AND (api_keys.revoked_at IS NULL OR excluded.revoked_at IS NOT NULL)`;
}

/**
 * Deletes the shard's rows with these ids, which the control database does
 * not hold (a write that never reached it: its key was never shown), unless
 * written at or after `recentSince` (ms), or a tenant that still has keys
 * here (they go first; the tenant at the next pass).
 */
export function deleteRows(db: D1Database, table: ReplicaTable, ids: string[], recentSince: number) {
  const listed = JSON.stringify(ids);
  if (table === "tenants") {
    return sql(db)`DELETE FROM tenants WHERE id IN (SELECT value FROM json_each(${listed}))
      AND replica_updated_at < ${recentSince} AND NOT EXISTS (SELECT 1 FROM api_keys WHERE tenant_id = tenants.id)`;
  }
  return sql(db)`DELETE FROM api_keys WHERE id IN (SELECT value FROM json_each(${listed}))
    AND replica_updated_at < ${recentSince}`;
}

/** Remembers where the database's repair goes on (null: from the start). */
export function setRepairCursor(db: D1Database, cursor: RepairCursor | null) {
  return sql(db)`UPDATE replica_repair SET table_name = ${cursor?.table ?? null}, after_id = ${cursor?.after ?? null}`;
}
