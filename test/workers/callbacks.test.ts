import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { JobView } from "../../src/jobs/model";
import { at, authed, createTenant, dbOf, eventually, submit, untilStatus } from "./helpers";
import { deliveriesOf, receivedOn, theOnlyCallback } from "./webhook-helpers";

const uniquePath = () => `/hooks/${crypto.randomUUID()}`;

describe("callbacks", () => {
  it("posts one signed job.succeeded event after the result is stored", async () => {
    const tenant = await createTenant();
    const path = uniquePath();
    const job = await submit(tenant, {
      type: "echo",
      input: { n: 42 },
      callback_url: `${env.RECEIVER_URL}${path}`,
      metadata: { order: "A-17" },
    });
    const done = await untilStatus(tenant, job.id, "succeeded");
    const { request: delivery, event } = await theOnlyCallback<JobView>(path, tenant.webhookSecret);
    expect(event.type).toBe("job.succeeded");
    expect(event.data).toEqual(done);
    expect(event.data).toMatchObject({ result: { n: 42 }, metadata: { order: "A-17" } });
    expect(delivery?.headers["webhook-id"]).toMatch(/^evt_/);
    expect(delivery?.headers["content-type"]).toContain("application/json");
    // The terminal change made exactly one event, the one delivered (a second would be pending or sent too).
    const { events } = await eventually(
      () => deliveriesOf(tenant, job.id),
      (log) => log.events.every((e) => e.status === "delivered"),
    );
    expect(events.map((e) => [e.id, e.type, e.status])).toEqual([
      [delivery?.headers["webhook-id"], "job.succeeded", "delivered"],
    ]);
  });

  it("posts job.failed and job.canceled, and nothing the job did not ask for", async () => {
    const tenant = await createTenant();
    const failedPath = uniquePath();
    const failed = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 1, message: "nope" },
      max_attempts: 1,
      callback_url: `${env.RECEIVER_URL}${failedPath}`,
    });
    const canceledPath = uniquePath();
    const canceled = await submit(tenant, {
      type: "echo",
      delay_seconds: 600,
      callback_url: `${env.RECEIVER_URL}${canceledPath}`,
    });
    await authed(tenant, `/v1/jobs/${canceled.id}/cancel`, { method: "POST" });
    const quietPath = uniquePath();
    const quiet = await submit(tenant, {
      type: "echo",
      callback_url: `${env.RECEIVER_URL}${quietPath}`,
      callback_events: ["job.failed"],
    });
    await untilStatus(tenant, failed.id, "failed");
    await untilStatus(tenant, quiet.id, "succeeded");
    const [failedEvent] = await eventually(
      () => receivedOn(failedPath),
      (r) => r.length > 0,
    );
    expect(JSON.parse(failedEvent?.body as string)).toMatchObject({
      type: "job.failed",
      data: { status: "failed", error: { code: "handler_error", message: "nope" } },
    });
    const [canceledEvent] = await eventually(
      () => receivedOn(canceledPath),
      (r) => r.length > 0,
    );
    expect(JSON.parse(canceledEvent?.body as string)).toMatchObject({ type: "job.canceled" });
    const events = await dbOf(quiet.id)
      .prepare("SELECT type, status FROM webhook_events WHERE job_id = ?")
      .bind(quiet.id)
      .all();
    expect(events.results).toEqual([]);
    expect(await receivedOn(quietPath)).toEqual([]);
  });

  it("records a delivered first attempt on its job's row: no event row, no delivery log row", async () => {
    const tenant = await createTenant();
    const path = uniquePath();
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
    await untilStatus(tenant, job.id, "succeeded");
    const row = await eventually(
      () =>
        dbOf(job.id)
          .prepare(
            `SELECT status, event_id LIKE 'evt_%' AS held, event_http_status, event_attempted_at > 0 AS attempted
              FROM jobs WHERE id = ?`,
          )
          .bind(job.id)
          .first(),
      (r) => r?.status === "succeeded" && r.attempted === 1,
    );
    expect(row).toEqual({ status: "succeeded", held: 1, event_http_status: 204, attempted: 1 });
    const events = await dbOf(job.id)
      .prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE job_id = ?")
      .bind(job.id)
      .first<{ n: number }>();
    expect(events?.n).toBe(0);
    const logged = await dbOf(job.id)
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?")
      .bind(job.id)
      .first<{ n: number }>();
    expect(logged?.n).toBe(0);
    const { deliveries } = await deliveriesOf(tenant, job.id);
    expect(deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([[1, "scheduled", 204]]);
  });

  it("has the sweep send a held event whose first attempt died unrecorded, byte for byte as its job's consumer sent it", async () => {
    // This file's receiver origin is quick (no earlier test here marks it slow), so the job's consumer attempts it.
    const tenant = await createTenant();
    const path = uniquePath();
    const job = await submit(tenant, { type: "echo", input: { n: 7 }, callback_url: `${env.RECEIVER_URL}${path}` });
    const held = () =>
      dbOf(job.id)
        .prepare("SELECT status, event_id, event_attempted_at FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant.tenantId, job.id)
        .first<{ status: string; event_id: string | null; event_attempted_at: number | null }>();
    const delivered = await eventually(held, (row) => row?.event_attempted_at != null);
    const [first] = await receivedOn(path);
    // As if the job's consumer died after its request and before recording it: the job's row still owes it.
    await dbOf(job.id)
      .prepare("UPDATE jobs SET status = 'succeeded:owed', event_attempted_at = NULL WHERE tenant_id = ? AND id = ?")
      .bind(tenant.tenantId, job.id)
      .run();
    // The deliveries route shows a held event as a row of its own would: pending, no attempt yet.
    const owed = await deliveriesOf(tenant, job.id);
    expect(owed.events).toMatchObject([
      { id: delivered?.event_id, type: "job.succeeded", status: "pending", attempts: 0 },
    ]);
    expect(owed.deliveries).toEqual([]);
    // Within the grace the attempt may still be in flight: the sweep leaves it.
    await worker.scheduled(createScheduledController(), env);
    expect((await held())?.status).toBe("succeeded:owed");
    // Past it, the event gets a row of its own, pending, and its attempt 1 goes through the callbacks queue.
    await at(Date.now() + 31_000, () => worker.scheduled(createScheduledController(), env));
    expect(await held()).toEqual({ status: "succeeded", event_id: null, event_attempted_at: null });
    const [, again] = await eventually(
      () => receivedOn(path),
      (r) => r.length === 2,
    );
    expect(again?.headers["webhook-id"]).toBe(delivered?.event_id);
    expect(again?.body).toBe(first?.body);
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.events[0]?.status === "delivered",
    );
    expect(log.events).toMatchObject([{ id: delivered?.event_id, status: "delivered", attempts: 1 }]);
  });

  it("records a held event's first attempt on the row the sweep gave it while the attempt was in flight", async () => {
    const tenant = await createTenant();
    const path = `/slow/1000/${crypto.randomUUID()}`;
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
    const status = () =>
      dbOf(job.id)
        .prepare("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
        .bind(tenant.tenantId, job.id)
        .first<string>("status");
    await eventually(status, (s) => s === "succeeded:owed");
    // The consumer's request takes a second: meanwhile the sweep, its clock past the grace, hands the event on.
    await at(Date.now() + 31_000, () => worker.scheduled(createScheduledController(), env));
    expect(await status()).toBe("succeeded");
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.deliveries.length === 2,
    );
    // Both attempts are on the event's row and in its log, each once: the job's row recorded none.
    expect(log.events.map((e) => [e.status, e.attempts])).toEqual([["delivered", 2]]);
    expect(log.deliveries.map((d) => [d.attempt, d.http_status])).toEqual([
      [1, 204],
      [2, 204],
    ]);
    const onJob = await dbOf(job.id)
      .prepare("SELECT event_attempted_at FROM jobs WHERE tenant_id = ? AND id = ?")
      .bind(tenant.tenantId, job.id)
      .first("event_attempted_at");
    expect(onJob).toBeNull();
  });
});
