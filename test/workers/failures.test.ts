import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import type { CallbackMessage } from "../../src/env";
import worker from "../../src/index";
import type { JobView } from "../../src/jobs/model";
import { standardSchedule } from "../../src/webhooks/schedule";
import { authed, BASE, createTenant, errorOf, eventually, getJob, untilStatus } from "./helpers";
import { deliveriesOf, deliverMessages, receivedOn, storedEvent, unique } from "./webhook-helpers";

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

  it("gives a receiver that is down for a day all eight attempts on the schedule, then keeps the event failed and redeliverable", async () => {
    const tenant = await createTenant();
    const path = `/status/500/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    // The real eight-slot schedule. The test plays the queue's part so as not to wait 28 h: it keeps each
    // retry's delay and hands the retry back at once (a claim checks the attempt's number, not its time).
    const queued: MessageSendRequest<CallbackMessage>[] = [];
    const heldQueue = {
      sendBatch: async (messages: MessageSendRequest<CallbackMessage>[]) => queued.push(...messages),
    };
    const settings = { WEBHOOK_RETRY_SCHEDULE: undefined, CALLBACKS: heldQueue as unknown as Queue<CallbackMessage> };
    let message: CallbackMessage | undefined = { event_id: eventId, attempt: 1, origin: env.RECEIVER_URL };
    const delays: number[] = [];
    for (let turns = 0; message && turns < 12; turns++) {
      await deliverMessages([message], settings);
      const retry = queued.shift();
      if (retry) delays.push(retry.delaySeconds ?? 0);
      message = retry?.body;
    }
    // A retry after each of the first seven attempts, each its slot of the schedule (±20 % jitter), none after the eighth.
    expect(delays).toHaveLength(7);
    delays.forEach((delay, i) => {
      const slot = standardSchedule[i + 1] as number;
      expect(delay).toBeGreaterThanOrEqual(Math.floor(slot * 0.8) - 1);
      expect(delay).toBeLessThanOrEqual(Math.ceil(slot * 1.2));
    });
    const log = await deliveriesOf(tenant, jobId);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger, d.http_status, d.error])).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [n, "scheduled", 500, null]),
    );
    expect(log.deliveries.slice(0, 7).every((d) => d.next_attempt_at !== null)).toBe(true);
    expect(log.deliveries[7]?.next_attempt_at).toBeNull();
    // About 28 h from the first attempt to the last: 27.6 h scheduled, ±20 %.
    const waited = log.deliveries
      .slice(0, 7)
      .reduce((sum, d) => sum + Date.parse(d.next_attempt_at as string) - Date.parse(d.attempted_at), 0);
    expect(waited / 3_600_000).toBeGreaterThan(27.6 * 0.8);
    expect(waited / 3_600_000).toBeLessThan(27.6 * 1.2);
    expect(log.events).toMatchObject([{ id: eventId, status: "failed", attempts: 8, next_attempt_at: null }]);
    expect(await receivedOn(path)).toHaveLength(8);
    // Still redeliverable: a manual attempt goes out through the real queue.
    const res = await authed(tenant, `/v1/jobs/${jobId}/deliveries/${eventId}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    const after = await eventually(
      () => deliveriesOf(tenant, jobId),
      (d) => d.deliveries.length === 9,
    );
    expect(after.deliveries[8]).toMatchObject({ attempt: 9, trigger: "manual", http_status: 500 });
  });
});
