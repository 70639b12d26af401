import type { Env } from "../env";
import { writeEverywhere } from "../store/replicated";
import { type TenantLimits, updateTenantLimits } from "../store/tenants";
import { forgetTenantKeys } from "./key-check";

/**
 * Sets a tenant's limits (null: back to the default) in every database, so
 * each shard's key check answers them, forgets this isolate's copy of its
 * keys, and tells its running-slot object a changed `max_running_jobs`
 * (which it reads only once). The limits after the change, or null when
 * there is no such tenant.
 */
export async function setTenantLimits(
  env: Env,
  tenantId: string,
  changes: Partial<TenantLimits>,
): Promise<TenantLimits | null> {
  const [updated] = await writeEverywhere<TenantLimits>(env, (db, stamp) => [
    updateTenantLimits(db, tenantId, changes, stamp),
  ]);
  forgetTenantKeys(tenantId);
  const limits = updated?.results[0] ?? null;
  if (limits && changes.max_running_jobs !== undefined) {
    await env.TENANT_SLOTS.getByName(tenantId).setLimit(limits.max_running_jobs);
  }
  return limits;
}
