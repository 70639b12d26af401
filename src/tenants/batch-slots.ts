import type { Env, JobMessage } from "../env";
import { limits } from "../limits";
import { coalescedByKey } from "../platform/coalesce";

/** Where a message's job stands with its tenant's running slots, for one consumer invocation. */
export type SlotStanding = "held" | "waiting" | "unknown";

/**
 * A job consumer invocation's dealings with its tenants' running slots
 * (tenants/tenant-slots.ts), so that under load a tenant's object sees a
 * fraction of a request per job instead of two: one request per tenant
 * acquires the slots of all the batch's jobs of that tenant, and releases
 * that come within a few ms of each other go in one request per tenant.
 */
export interface BatchSlots {
  /**
   * `held`: this invocation acquired the job's slot; `waiting`: the job waits
   * in line and its tenant's object sends its message again when its turn
   * comes; `unknown`: its message names no tenant, or the object could not be
   * asked (its tracker acquires on its own).
   */
  standing(jobId: string): SlotStanding;
  /** For a `held` job that held its slot before this invocation acquired it: when it was granted (Unix ms); else null. */
  heldSince(jobId: string): number | null;
  /**
   * Gives back the slot of a job whose attempt ended. A release that fails
   * is only logged: the slot is then held by a job that no longer runs, which
   * the object's audit finds and frees.
   */
  release(tenantId: string, jobId: string): Promise<void>;
}

/** Acquires the slots of a batch's jobs, one request per tenant at once. */
export async function acquireForBatch(env: Env, messages: readonly JobMessage[]): Promise<BatchSlots> {
  const byTenant = Map.groupBy(
    messages.filter((m) => m.tenant_id !== undefined),
    (m) => m.tenant_id as string,
  );
  const standings = new Map<string, SlotStanding>();
  const heldSince = new Map<string, number | null>();
  await Promise.all(
    [...byTenant].map(async ([tenantId, some]) => {
      const ids = some.map((m) => m.job_id);
      try {
        for (const grant of await env.TENANT_SLOTS.getByName(tenantId).acquireGrants(ids)) {
          heldSince.set(grant.jobId, grant.heldSince);
        }
        for (const id of ids) standings.set(id, heldSince.has(id) ? "held" : "waiting");
      } catch (error) {
        console.error("running slots unavailable; each job's tracker asks on its own", {
          tenantId,
          error: String(error),
        });
      }
    }),
  );
  const release = coalescedByKey<string, string>(async (tenantId, jobIds) => {
    try {
      await env.TENANT_SLOTS.getByName(tenantId).release(jobIds);
    } catch (error) {
      console.error("slot release failed; the tenant's slot audit will free it", { jobIds, error: String(error) });
    }
  }, limits.slotReleaseCoalesceMs);
  return {
    standing: (jobId) => standings.get(jobId) ?? "unknown",
    heldSince: (jobId) => heldSince.get(jobId) ?? null,
    release,
  };
}
