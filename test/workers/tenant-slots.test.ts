import { createScheduledController, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { limits } from "../../src/limits";
import { clock } from "../../src/platform/clock";
import { metered, readMeter, resetMeter } from "../../src/platform/metering";
import type { TenantSlots } from "../../src/tenants/tenant-slots";
import {
  at,
  authed,
  createTenant,
  dbOf,
  eventually,
  everyJobQueueAs,
  getJob,
  setTenantLimits,
  slotEntries,
  submit,
  type TestTenant,
  tracker,
  untilStatus,
} from "./helpers";

const slots = (tenant: TestTenant) => env.TENANT_SLOTS.getByName(tenant.tenantId);
const succeeded = { ok: true as const, resultJson: '"done"', resultKey: null };

/**
 * A tenant allowed one running job, which `running` holds (begun by hand, no
 * consumer behind it; its first heartbeat stored its start).
 */
async function tenantAtItsLimit() {
  const tenant = await createTenant();
  await setTenantLimits(tenant, { max_running_jobs: 1 });
  const running = await dueJob(tenant);
  expect((await tracker(running.id).begin(tenant.tenantId)).kind).toBe("run");
  expect(await tracker(running.id).heartbeat(1)).toEqual({ stop: false });
  return { tenant, running };
}

/** A job due now whose own message will not come during the test (it was sent for 10 min later). */
async function dueJob(tenant: TestTenant, input: unknown = "queued") {
  const job = await submit(tenant, { type: "echo", input, delay_seconds: 600 });
  await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
  return job;
}

/** From now until the object restarts, the messages its hand-outs send (job ids), kept here instead of queued. */
async function captureWakes(tenant: TestTenant): Promise<string[]> {
  const woken: string[] = [];
  await runInDurableObject(slots(tenant), (instance: TenantSlots) => {
    const capturing = {
      sendBatch: async (messages: { body: { job_id: string } }[]) =>
        void woken.push(...messages.map((m) => m.body.job_id)),
    };
    (instance as unknown as { env: Env }).env = { ...env, ...everyJobQueueAs(capturing) };
  });
  return woken;
}

/** The rows in the slots object's storage, over all its tables (Cloudflare's own `_cf_` tables aside). */
function storedRows(tenant: TestTenant): Promise<number> {
  return runInDurableObject(slots(tenant), (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
      .toArray();
    return tables.reduce(
      (sum, { name }) => sum + state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}"`).one().n,
      0,
    );
  });
}

/** Ends `jobId`'s attempt as a job consumer does: records the outcome, then gives back the slot it is told to. */
async function finish(tenant: TestTenant, jobId: string): Promise<void> {
  expect(await tracker(jobId).complete(1, succeeded)).toMatchObject({ accepted: true, releaseSlot: true });
  await slots(tenant).release([jobId]);
}

describe("a tenant's running slots", () => {
  it("keep the limit across a restart of the slots object and of the running job's tracker", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    await evictDurableObject(slots(tenant)); // as after a crash or a deploy: memory is gone, storage stays
    await evictDurableObject(tracker(running.id));
    const next = await dueJob(tenant, "after");
    expect(await tracker(next.id).begin(tenant.tenantId)).toEqual({ kind: "skip", reason: "throttled" });
    expect((await getJob(tenant, next.id)).status).toBe("scheduled"); // waiting, not running
    await evictDurableObject(slots(tenant));
    // The slot freed after the restart goes to the waiting job, which is sent and runs.
    await finish(tenant, running.id);
    expect((await untilStatus(tenant, next.id, "succeeded")).result).toBe("after");
  });

  it("take a canceled waiting job out of line", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    const waiting = await dueJob(tenant);
    expect((await tracker(waiting.id).begin(tenant.tenantId)).kind).toBe("skip");
    expect(await slotEntries(tenant.tenantId)).toEqual({ [running.id]: "running", [waiting.id]: "waiting" });
    expect((await authed(tenant, `/v1/jobs/${waiting.id}/cancel`, { method: "POST" })).status).toBe(200);
    expect(await slotEntries(tenant.tenantId)).toEqual({ [running.id]: "running" });
  });

  it("free a slot whose release was lost, once an audit finds its job no longer runs", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    // The tracker stored the job's end, then crashed before it gave the slot back.
    await dbOf(running.id)
      .prepare("UPDATE jobs SET status = 'succeeded', finished_at = ?1, version = version + 1 WHERE id = ?2")
      .bind(Date.now(), running.id)
      .run();
    await evictDurableObject(tracker(running.id));
    const next = await dueJob(tenant, "freed");
    // Within the lease nobody is asked: a slot held that briefly is taken on trust.
    expect((await tracker(next.id).begin(tenant.tenantId)).kind).toBe("skip");
    const start = clock.now();
    // Past it, a refused acquire has the slots ask the holder's tracker; the slot is freed and handed on.
    expect(await at(start + 31_000, async () => (await tracker(next.id).begin(tenant.tenantId)).kind)).toBe("skip");
    expect((await untilStatus(tenant, next.id, "succeeded")).result).toBe("freed");
    // Its consumer gives the slot back just after it stored the job's end.
    await eventually(
      () => slotEntries(tenant.tenantId),
      (entries) => Object.keys(entries).length === 0,
    );
  });

  it("keep a long-held slot whose job still runs when they audit it", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    const next = await dueJob(tenant);
    const start = clock.now();
    await at(start + 31_000, async () => (await tracker(next.id).begin(tenant.tenantId)).kind);
    // The audit runs in the background: an acquire after it still finds the slot held.
    await new Promise((r) => setTimeout(r, 200));
    expect(await at(start + 32_000, async () => (await slots(tenant).acquire([next.id])).includes(next.id))).toBe(
      false,
    );
    expect((await getJob(tenant, running.id)).status).toBe("running");
  });

  it("hand a slot on even if the woken job's message is lost: the sweep sends it again", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    const next = await dueJob(tenant, "recovered");
    expect((await tracker(next.id).begin(tenant.tenantId)).kind).toBe("skip");
    const lost: unknown[] = [];
    await runInDurableObject(slots(tenant), (instance: TenantSlots) => {
      const dropping = { sendBatch: async (messages: unknown[]) => void lost.push(...messages) };
      (instance as unknown as { env: Env }).env = { ...env, ...everyJobQueueAs(dropping) };
    });
    await finish(tenant, running.id);
    expect(lost).toEqual([{ body: { job_id: next.id, tenant_id: tenant.tenantId } }]);
    expect(await slotEntries(tenant.tenantId)).toEqual({ [next.id]: "reserved" });
    // A grace later the sweep finds the queued job untouched and re-enqueues it; it claims its reserved slot.
    await at(clock.now() + 31_000, () => worker.scheduled(createScheduledController(), env));
    expect((await untilStatus(tenant, next.id, "succeeded")).result).toBe("recovered");
  });

  it("apply a changed limit from the next acquire, and wake waiting jobs at once when it is raised", async () => {
    const tenant = await createTenant();
    const first = await dueJob(tenant);
    expect((await tracker(first.id).begin(tenant.tenantId)).kind).toBe("run"); // the default limit (50) is read
    await setTenantLimits(tenant, { max_running_jobs: 1 });
    const next = await dueJob(tenant, "raised");
    expect((await tracker(next.id).begin(tenant.tenantId)).kind).toBe("skip");
    await setTenantLimits(tenant, { max_running_jobs: 2 });
    expect((await untilStatus(tenant, next.id, "succeeded")).result).toBe("raised");
  });

  it("store a release even when the tenant's limit cannot be read, so the slot is not held", async () => {
    const { tenant, running } = await tenantAtItsLimit();
    await evictDurableObject(slots(tenant)); // the limit it had read is gone with the instance
    await runInDurableObject(slots(tenant), (instance: TenantSlots) => {
      const down = { prepare: () => ({ bind: () => ({ first: () => Promise.reject(new Error("D1 is down")) }) }) };
      (instance as unknown as { env: Env }).env = { ...env, DB: down as unknown as D1Database };
    });
    await slots(tenant).release([running.id]);
    expect(await slotEntries(tenant.tenantId)).toEqual({});
  });

  it("are metered like every Durable Object, with their storage writes", async () => {
    const tenant = await createTenant();
    const bindings = metered({ ...env, METERING: "true" });
    resetMeter();
    expect(await bindings.TENANT_SLOTS.getByName(tenant.tenantId).acquire(["job_meter"])).toEqual(["job_meter"]);
    await bindings.TENANT_SLOTS.getByName(tenant.tenantId).release(["job_meter"]);
    expect(readMeter()).toMatchObject({ "do:TENANT_SLOTS:requests": 2, do_storage_writes: 2 });
  });
});

describe("a tenant's slots in storage", () => {
  it("store a batch's acquire and release of many jobs as one row each, not one per job", async () => {
    const tenant = await createTenant();
    const stub = metered({ ...env, METERING: "true" }).TENANT_SLOTS.getByName(tenant.tenantId);
    const jobIds = Array.from({ length: 20 }, (_, i) => `job_batch${String(i).padStart(2, "0")}`);
    resetMeter();
    expect(await stub.acquire(jobIds)).toEqual(jobIds);
    expect(readMeter().do_storage_writes).toBe(1);
    resetMeter();
    await stub.release(jobIds);
    expect(readMeter().do_storage_writes).toBe(1);
  });

  it("keep every held, reserved and waiting entry, and the waiters' order, across a restart after many changes", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { max_running_jobs: 2 });
    expect(await slots(tenant).acquire(["job_0held1"])).toEqual(["job_0held1"]);
    expect(await slots(tenant).acquire(["job_0held2"])).toEqual(["job_0held2"]);
    // More requests than the journal keeps rows, so the entries are compacted; newest first, to show order is by id.
    const waiting = Array.from(
      { length: limits.slotJournalRows + 5 },
      (_, i) => `job_1wait${String(i).padStart(3, "0")}`,
    );
    for (const jobId of [...waiting].reverse()) expect(await slots(tenant).acquire([jobId])).toEqual([]);
    let woken = await captureWakes(tenant);
    await slots(tenant).release(["job_0held1"]);
    expect(woken).toEqual([waiting[0]]);
    expect(await storedRows(tenant)).toBeLessThanOrEqual(limits.slotJournalRows + 1);

    await evictDurableObject(slots(tenant)); // as after a crash or a deploy: memory is gone, storage stays
    woken = await captureWakes(tenant);
    expect(await slots(tenant).acquire(["job_0held2", waiting[0] as string])).toEqual(["job_0held2", waiting[0]]);
    expect(await slots(tenant).acquire(["job_2late"])).toEqual([]); // the limit holds: two run
    await slots(tenant).release(["job_0held2", waiting[0] as string]);
    expect(woken).toEqual([waiting[1], waiting[2]]); // the oldest waiters, in order
    expect(await slotEntries(tenant.tenantId)).toEqual({
      [waiting[1] as string]: "reserved",
      [waiting[2] as string]: "reserved",
      ...Object.fromEntries(waiting.slice(3).map((jobId) => [jobId, "waiting"])),
      job_2late: "waiting",
    });
  });

  it("fold the entries of an object stored one row per job into the journal once, and keep them", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { max_running_jobs: 1 });
    // The storage an object had before the journal: one row per job.
    await runInDurableObject(slots(tenant), (_instance, state) => {
      state.storage.sql.exec(`CREATE TABLE IF NOT EXISTS slots (job_id TEXT PRIMARY KEY, state TEXT NOT NULL, at INTEGER NOT NULL)
        WITHOUT ROWID`);
      state.storage.sql.exec(
        "INSERT INTO slots VALUES ('job_0old0', 'running', ?), ('job_1old0', 'waiting', ?)",
        Date.now(),
        Date.now(),
      );
    });
    await evictDurableObject(slots(tenant));
    const woken = await captureWakes(tenant);
    expect(await slots(tenant).acquire(["job_2new0"])).toEqual([]); // the old running entry holds the one slot
    await slots(tenant).release(["job_0old0"]);
    expect(woken).toEqual(["job_1old0"]); // the old waiting entry is first in line
    const tables = await runInDurableObject(slots(tenant), (_instance, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'slots'").toArray(),
    );
    expect(tables).toEqual([]);
    expect(await slotEntries(tenant.tenantId)).toEqual({ job_1old0: "reserved", job_2new0: "waiting" });
  });
});
