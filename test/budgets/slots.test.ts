import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { metered, readMeter, resetMeter } from "../../src/platform/metering";
import { acquireForBatch } from "../../src/tenants/batch-slots";
import { createTenant } from "../workers/helpers";

/**
 * What a consumer batch's jobs of one tenant cost its running-slots object
 * (tenants/batch-slots.ts, as the job consumer calls it): a plain job run
 * alone costs one request and one row written each to acquire and to
 * release (operations.test.ts counts its requests), and a batch must not
 * cost more per job than that per request.
 */
const SIZE = 20;

const budget = {
  /** One acquire for the batch's jobs, one release for those that end within `slotReleaseCoalesceMs`. */
  requests: 2,
  /** One journal row per request (store/slot-journal.ts), whatever the number of jobs it changed. */
  storageWrites: 2,
};

describe("operations per consumer batch on a tenant's running slots (budgets)", () => {
  it("costs the slots object one request and one storage row to acquire a batch's slots, and the same to release them", async () => {
    const tenant = await createTenant();
    const jobIds = Array.from({ length: SIZE }, (_, i) => `job_budget${String(i).padStart(2, "0")}`);
    resetMeter();
    const slots = await acquireForBatch(
      metered({ ...env, METERING: "true" }),
      jobIds.map((id) => ({ job_id: id, tenant_id: tenant.tenantId })),
    );
    expect(jobIds.map((id) => slots.standing(id))).toEqual(jobIds.map(() => "held"));
    await Promise.all(jobIds.map((id) => slots.release(tenant.tenantId, id)));
    const counts = readMeter();
    expect({ requests: counts["do:TENANT_SLOTS:requests"], storageWrites: counts.do_storage_writes }).toEqual(budget);
  });
});
