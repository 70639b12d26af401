import { type ReplicaStamp, stampChange } from "./replicated";
import { type SqlFragment, sql, sqlFragment } from "./sql";

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A live key with its tenant's limits (null: the defaults). */
export interface AuthenticatedKey extends ApiKeyRecord {
  submitPerMinute: number | null;
  readPerMinute: number | null;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
}

const fromRow = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export function insertApiKey(
  db: D1Database,
  key: Omit<ApiKeyRecord, "revokedAt"> & { keyHash: string },
  stamp: ReplicaStamp,
): D1PreparedStatement {
  return sql(db)`INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at, replica_digest, replica_updated_at)
    VALUES (${key.id}, ${key.tenantId}, ${key.name}, ${key.keyHash}, ${key.createdAt}, ${stamp.token}, ${stamp.at})`;
}

/**
 * The live key with this hash, with its tenant's limits. A statement, so it
 * can ride first in another request's batch. Lookup is by hash, so the plain
 * key never reaches D1.
 */
export function liveKeyByHash(db: D1Database, keyHash: string): D1PreparedStatement {
  return sql(db)`SELECT k.id, k.tenant_id, k.name, k.created_at, k.revoked_at, t.submit_per_minute, t.read_per_minute
    FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
    WHERE k.key_hash = ${keyHash} AND k.revoked_at IS NULL`;
}

/**
 * SQL condition: the key with this hash is live, or no key check is owed
 * (null). Guards a write that rides in the batch of a key check
 * (tenants/key-check.ts), since the batch commits it whatever the check finds.
 */
export const keyIsLive = (keyHash: string | null): SqlFragment =>
  sqlFragment`(${keyHash} IS NULL OR EXISTS (SELECT 1 FROM api_keys WHERE key_hash = ${keyHash} AND revoked_at IS NULL))`;

/** What `liveKeyByHash` found: null when the key is unknown or revoked. */
export function liveKeyFound(result: D1Result): AuthenticatedKey | null {
  const row = result.results[0] as
    | (ApiKeyRow & { submit_per_minute: number | null; read_per_minute: number | null })
    | undefined;
  return row ? { ...fromRow(row), submitPerMinute: row.submit_per_minute, readPerMinute: row.read_per_minute } : null;
}

export async function findApiKeyByHash(db: D1Database, keyHash: string): Promise<AuthenticatedKey | null> {
  return liveKeyFound(await liveKeyByHash(db, keyHash).run());
}

/** Keys newest first, never their hashes; optionally one tenant's. */
export async function listApiKeys(db: D1Database, tenantId?: string): Promise<ApiKeyRecord[]> {
  const query = tenantId
    ? sql(db)`SELECT * FROM api_keys WHERE tenant_id = ${tenantId} ORDER BY id DESC`
    : sql(db)`SELECT * FROM api_keys ORDER BY id DESC`;
  const { results } = await query.all<ApiKeyRow>();
  return results.map(fromRow);
}

/** Revokes a key (a repeat keeps the first time); the revoked key answers 401 from the next request on. */
export function revokeApiKey(db: D1Database, id: string, now: number, stamp: ReplicaStamp): D1PreparedStatement {
  return revokeApiKeys(db, [{ id, revokedAt: now }], stamp);
}

/**
 * Revokes these keys, each at the time it carries (ms), keeping a
 * revocation a key already holds, and stamps each row it changes with
 * `stamp`. One statement however many keys (bound as one JSON array),
 * returning the keys as `keyRevoked` reads them.
 */
export function revokeApiKeys(
  db: D1Database,
  keys: readonly { id: string; revokedAt: number }[],
  stamp: ReplicaStamp,
): D1PreparedStatement {
  const json = JSON.stringify(keys);
  return sql(db)`UPDATE api_keys SET revoked_at = COALESCE(revoked_at,
      (SELECT value ->> 'revokedAt' FROM json_each(${json}) WHERE value ->> 'id' = api_keys.id)), ${stampChange(stamp)}
    WHERE id IN (SELECT value ->> 'id' FROM json_each(${json})) RETURNING id, tenant_id, name, created_at, revoked_at`;
}

/** The key `revokeApiKey` revoked; null when there is no such key. */
export function keyRevoked(result: D1Result): ApiKeyRecord | null {
  const row = result.results[0] as ApiKeyRow | undefined;
  return row ? fromRow(row) : null;
}

/** Whether the key with this id exists and is not revoked: one read by primary key. */
export async function isLiveKey(db: D1Database, id: string): Promise<boolean> {
  const row = await sql(db)`SELECT 1 AS live FROM api_keys WHERE id = ${id} AND revoked_at IS NULL`.first();
  return row !== null;
}
