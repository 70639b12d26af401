import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgejobsClient, EdgejobsError } from "../../src/client";
import { type ReceivedRequest, startReceiver } from "../support/receiver";
import { api, base, createTenant, finished, type Job, submit, type Tenant, until } from "./client";

// Black-box: `npm run dev` over HTTP, a real webhook receiver on loopback.
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let tenant: Tenant;

const callbacksOn = (path: string, count: number) =>
  until(
    async () => receiver.received.filter((r) => r.path === path),
    (got) => got.length >= count,
  );

/** Verifies with both official libraries, as any receiver would. */
function verified(request: ReceivedRequest): { type: string; data: Job } {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
  const viaStandard = new Webhook(tenant.webhookSecret).verify(request.body, headers);
  const viaSvix = new SvixWebhook(tenant.webhookSecret).verify(request.body, headers);
  expect(viaSvix).toEqual(viaStandard);
  return viaStandard as { type: string; data: Job };
}

beforeAll(async () => {
  receiver = await startReceiver();
  tenant = await createTenant();
});

afterAll(() => receiver.close());

describe("npm run dev, black-box", () => {
  it("answers /healthz", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
  });

  it("runs a job and sends one signed callback that verifies with standardwebhooks and svix", async () => {
    const job = await submit(tenant, { type: "echo", input: { hello: "e2e" }, callback_url: `${receiver.url}/done` });
    const done = await finished(tenant, job.id);
    expect(done).toMatchObject({ status: "succeeded", result: { hello: "e2e" } });
    const [callback, ...extra] = await callbacksOn("/done", 1);
    expect(extra).toEqual([]);
    const event = verified(callback as ReceivedRequest);
    expect(event.type).toBe("job.succeeded");
    expect(event.data).toEqual(done);
    const result = await api(tenant, done.result_url as string);
    expect(await result.json()).toEqual({ hello: "e2e" });
  });

  it("retries a failing receiver, logs every attempt, and redelivers on request", async () => {
    const path = `/flaky/1/${crypto.randomUUID()}`;
    const job = await submit(tenant, { type: "echo", callback_url: `${receiver.url}${path}` });
    const [first, second] = await callbacksOn(path, 2);
    expect(first?.headers["webhook-id"]).toBe(second?.headers["webhook-id"]);
    verified(second as ReceivedRequest);
    type Log = { events: { id: string; status: string }[]; deliveries: { attempt: number; http_status: number }[] };
    const log = await until(
      async () => (await (await api(tenant, `/v1/jobs/${job.id}/deliveries`)).json()) as Log,
      (l) => l.events[0]?.status === "delivered",
    );
    expect(log.deliveries.map((d) => [d.attempt, d.http_status])).toEqual([
      [1, 500],
      [2, 204],
    ]);
    const redo = await api(tenant, `/v1/jobs/${job.id}/deliveries/${log.events[0]?.id}/redeliver`, { method: "POST" });
    expect(redo.status).toBe(202);
    const all = await callbacksOn(path, 3);
    expect(verified(all[2] as ReceivedRequest).type).toBe("job.succeeded");
  });

  it("shows sleep progress and retries a failing job", async () => {
    const sleep = await submit(tenant, { type: "sleep", input: { seconds: 1, steps: 5 } });
    const failing = await submit(tenant, { type: "fail", input: { fail_attempts: 1 }, max_attempts: 2 });
    const slept = await finished(tenant, sleep.id);
    expect(slept.progress?.percent).toBe(100);
    const retried = await finished(tenant, failing.id);
    expect(retried).toMatchObject({ status: "succeeded", attempts: 2, result: { attempt: 2 } });
  });

  it("serves the lines a job logged, and 404 to another tenant", async () => {
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.2, steps: 2 } });
    await finished(tenant, job.id);
    const log = (await (await api(tenant, `/v1/jobs/${job.id}/logs`)).json()) as {
      logs: { at: string; attempt: number; level: string; message: string }[];
      truncated: boolean;
    };
    expect(log.truncated).toBe(false);
    expect(log.logs.map(({ attempt, level, message }) => ({ attempt, level, message }))).toEqual([
      { attempt: 1, level: "info", message: "step 1 of 2" },
      { attempt: 1, level: "info", message: "step 2 of 2" },
    ]);
    expect(Number.isNaN(Date.parse(log.logs[0]?.at ?? ""))).toBe(false);
    const other = await createTenant();
    const hidden = await api(other, `/v1/jobs/${job.id}/logs`);
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("fails a job at once on a non-retryable error, with the handler's code, and sends job.failed", async () => {
    const job = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 3, retryable: false, code: "bad_document", message: "unreadable" },
      max_attempts: 3,
      callback_url: `${receiver.url}/non-retryable`,
    });
    const done = await finished(tenant, job.id);
    expect(done).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "bad_document", message: "unreadable" },
    });
    const [callback] = await callbacksOn("/non-retryable", 1);
    expect(verified(callback as ReceivedRequest)).toMatchObject({ type: "job.failed", data: { attempts: 1 } });
  });

  it("answers bad input with the contract's error shape", async () => {
    const res = await api(tenant, "/v1/jobs", { method: "POST", body: "{" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_json" } });
    const unauthenticated = await api(tenant, "/v1/jobs", { headers: { authorization: "Bearer nope" } });
    expect(unauthenticated.status).toBe(401);
  });

  it("cancels a scheduled job and says so by callback", async () => {
    const job = await submit(tenant, { type: "echo", delay_seconds: 3600, callback_url: `${receiver.url}/canceled` });
    const res = await api(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const [callback] = await callbacksOn("/canceled", 1);
    expect(verified(callback as ReceivedRequest).type).toBe("job.canceled");
    const again = await api(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
  });
});

describe("retry and ttl, black-box", () => {
  /** A tenant allowed one running job, and a client with its key. */
  async function tenantWithOneSlot(): Promise<{ own: Tenant; client: EdgejobsClient }> {
    const res = await fetch(`${base}/v1/keys`, {
      method: "POST",
      headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ name: "e2e-one-slot" }),
    });
    const key = (await res.json()) as { api_key: string; tenant_id: string; webhook_secret: string };
    const limited = await fetch(`${base}/v1/tenants/${key.tenant_id}`, {
      method: "PATCH",
      headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ max_running_jobs: 1 }),
    });
    expect(limited.status).toBe(200);
    const own = { apiKey: key.api_key, webhookSecret: key.webhook_secret };
    return { own, client: new EdgejobsClient({ baseUrl: base, apiKey: key.api_key }) };
  }

  it("retries a job that failed at once through the client: a new job, linked, with the same input", async () => {
    const client = new EdgejobsClient({ baseUrl: base, apiKey: tenant.apiKey });
    const input = { fail_attempts: 1, retryable: false, code: "bad_document" };
    const job = await client.submit({ type: "fail", input, max_attempts: 3 });
    expect(await client.wait(job.id, { timeout: 20_000 })).toMatchObject({ status: "failed", attempts: 1 });
    const again = await client.retry(job.id, { idempotencyKey: `retry-${job.id}` });
    expect(again).toMatchObject({ status: "queued", retry_of: job.id, max_attempts: 3, input });
    expect((await client.retry(job.id, { idempotencyKey: `retry-${job.id}` })).id).toBe(again.id);
    expect(await client.input(again.id)).toEqual(input);
    // The same input fails the new job's own first attempt the same way: a rerun, not a continuation.
    expect(await client.wait(again.id, { timeout: 20_000 })).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "bad_document" },
    });
    expect(await client.get(job.id)).toMatchObject({ status: "failed", version: 3 });
    const refused = await client.retry((await client.submit({ type: "echo" })).id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EdgejobsError);
    expect((refused as EdgejobsError).code).toBe("job_not_retryable");
  });

  it("expires a job that waits past its ttl for a running slot, says so by callback, and retries it to success", async () => {
    const { own, client } = await tenantWithOneSlot();
    const long = await client.submit({ type: "sleep", input: { seconds: 20, steps: 20 } });
    await until(
      () => client.get(long.id),
      (job) => job.status === "running",
    );
    const job = await client.submit({
      type: "echo",
      input: "late",
      ttl_seconds: 2,
      callback_url: `${receiver.url}/expired`,
      callback_events: ["job.canceled"],
    });
    const expired = await client.wait(job.id, { timeout: 20_000 });
    expect(expired).toMatchObject({ status: "canceled", attempts: 0, error: { code: "expired" } });
    const lateMs = Date.parse(expired.finished_at as string) - Date.parse(expired.expires_at as string);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(10_000);
    const [callback] = await callbacksOn("/expired", 1);
    const headers = Object.fromEntries(Object.entries(callback?.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(new Webhook(own.webhookSecret).verify(callback?.body as string, headers)).toMatchObject({
      type: "job.canceled",
      data: { id: job.id, error: { code: "expired" } },
    });
    await client.cancel(long.id);
    const again = await client.retry(job.id);
    expect(again).toMatchObject({ retry_of: job.id, expires_at: null });
    expect(await client.wait(again.id, { timeout: 20_000 })).toMatchObject({ status: "succeeded", result: "late" });
  });
});
