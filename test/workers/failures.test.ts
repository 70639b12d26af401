import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import worker from "../../src/index";
import type { JobView } from "../../src/jobs/model";
import { BASE, createTenant, errorOf, getJob, untilStatus } from "./helpers";

const failingQueue = {
  send: () => Promise.reject(new Error("Queue send failed: simulated outage")),
  sendBatch: () => Promise.reject(new Error("Queue send failed: simulated outage")),
};

/** A D1 binding whose `methods` fail as D1 does when unreachable. */
const failingDatabase = (...methods: ("prepare" | "batch")[]) =>
  new Proxy(env.DB, {
    get: (target, property) =>
      methods.includes(property as "prepare" | "batch")
        ? () => {
            throw new Error("D1_ERROR: Network connection lost.");
          }
        : Reflect.get(target, property),
  });
/** Down: every statement fails. */
const downDatabase = failingDatabase("prepare", "batch");

describe("failure handling", () => {
  it("loses nothing when the queue send fails: the job is stored and the sweep starts it", async () => {
    const tenant = await createTenant();
    const res = await app.fetch(
      new Request(`${BASE}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", input: "kept" }),
      }),
      { ...env, JOBS: failingQueue as unknown as Queue },
    );
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobView;
    expect((await getJob(tenant, job.id)).status).toBe("queued");
    // Five minutes later (the grace), the sweep finds it.
    await env.DB.prepare("UPDATE jobs SET run_at = run_at - 600000, updated_at = updated_at - 600000 WHERE id = ?")
      .bind(job.id)
      .run();
    await worker.scheduled(createScheduledController(), env);
    expect((await untilStatus(tenant, job.id, "succeeded")).result).toBe("kept");
  });

  it("answers 503 with Retry-After while D1 is unavailable, and accepts nothing", async () => {
    const tenant = await createTenant();
    // Down from the start (the key lookup fails), or failing only the write after the key was found.
    for (const db of [downDatabase, failingDatabase("batch")]) {
      const res = await app.fetch(
        new Request(`${BASE}/v1/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "echo" }),
        }),
        { ...env, DB: db },
      );
      expect(res.headers.get("retry-after")).toBe("5");
      expect(await errorOf(res)).toMatchObject({ status: 503, code: "service_unavailable" });
    }
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("leaves a job message to the queue's retries while the tracker or D1 is unavailable", async () => {
    // The tracker keeps its state in D1: when D1 is down, begin() fails like this.
    const downTracker = {
      getByName: () => ({ begin: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")) }),
    };
    const batch = createMessageBatch("edgejobs-jobs", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { job_id: "job_01JD7Z3Q1X0000000000000000" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<never>, {
      ...env,
      DB: downDatabase,
      JOB_TRACKER: downTracker as unknown as typeof env.JOB_TRACKER,
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m1"]);
  });

  it("gives a receiver that is down for a day all eight attempts, about 28 h, then keeps the event", async () => {
    const { standardSchedule } = await import("../../src/webhooks/schedule");
    const hours = standardSchedule.reduce((a, b) => a + b, 0) / 3600;
    expect(hours).toBeGreaterThan(27);
    expect(hours).toBeLessThan(28);
  });
});
