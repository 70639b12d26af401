import { writeEverywhere } from "../store/replicated";
import { type TenantLimits, updateTenantLimits } from "../store/tenants";
import { forgetTenantKeys } from "./key-check";

/**
 * Sets a tenant's limits (null: back to the default) in every database, so
 * each shard's key check answers them, and forgets this isolate's copy of
 * its keys. The limits after the change, or null when there is no such tenant.
 */
export async function setTenantLimits(
  env: { DB: D1Database },
  tenantId: string,
  changes: Partial<TenantLimits>,
): Promise<TenantLimits | null> {
  const [updated] = await writeEverywhere<TenantLimits>(env, (db) => [updateTenantLimits(db, tenantId, changes)]);
  forgetTenantKeys(tenantId);
  return updated?.results[0] ?? null;
}
