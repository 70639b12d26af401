import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import { authed, createTenant, dbOf, eventually, submit, untilStatus } from "./helpers";
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
    // The terminal change wrote exactly one event, the one delivered (a second would be pending or sent too).
    const events = await dbOf(job.id)
      .prepare("SELECT id, type FROM webhook_events WHERE job_id = ?")
      .bind(job.id)
      .all();
    expect(events.results).toEqual([{ id: delivery?.headers["webhook-id"], type: "job.succeeded" }]);
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

  it("records the delivery on the event: its first attempt on the event's own row, no delivery log row", async () => {
    const tenant = await createTenant();
    const path = uniquePath();
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
    await untilStatus(tenant, job.id, "succeeded");
    const row = await eventually(
      () =>
        dbOf(job.id)
          .prepare(
            `SELECT status, attempts, first_manual, first_http_status, first_error, first_next_attempt_at,
              first_attempted_at > 0 AS attempted FROM webhook_events WHERE job_id = ?`,
          )
          .bind(job.id)
          .first(),
      (r) => r?.status === "delivered",
    );
    expect(row).toEqual({
      status: "delivered",
      attempts: 1,
      first_manual: 0,
      first_http_status: 204,
      first_error: null,
      first_next_attempt_at: null,
      attempted: 1,
    });
    const logged = await dbOf(job.id)
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?")
      .bind(job.id)
      .first<{ n: number }>();
    expect(logged?.n).toBe(0);
    const { deliveries } = await deliveriesOf(tenant, job.id);
    expect(deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([[1, "scheduled", 204]]);
  });
});
