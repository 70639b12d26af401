export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  createdAt: number;
}

export function insertApiKey(db: D1Database, key: ApiKeyRecord & { keyHash: string }): D1PreparedStatement {
  return db
    .prepare("INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(key.id, key.tenantId, key.name, key.keyHash, key.createdAt);
}

/** The live key with this hash. Lookup is by hash, so the plain key never reaches D1. */
export async function findApiKeyByHash(db: D1Database, keyHash: string): Promise<ApiKeyRecord | null> {
  const row = await db
    .prepare("SELECT id, tenant_id, name, created_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
    .bind(keyHash)
    .first<{ id: string; tenant_id: string; name: string; created_at: number }>();
  return row ? { id: row.id, tenantId: row.tenant_id, name: row.name, createdAt: row.created_at } : null;
}
