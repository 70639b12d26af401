import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgejobsClient, EdgejobsError, verifyWebhook, WebhookVerificationError } from "../../src/client";
import { startReceiver } from "../support/receiver";
import { base, createTenant, type Tenant } from "./client";

let tenant: Tenant;
let client: EdgejobsClient;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  tenant = await createTenant("client");
  client = new EdgejobsClient({ baseUrl: base, apiKey: tenant.apiKey });
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

describe("the TypeScript client against npm run dev", () => {
  it("submits, waits, reads the result and lists pages", async () => {
    const job = await client.submit({ type: "echo", input: { n: 1 } }, { idempotencyKey: "client-1" });
    const again = await client.submit({ type: "echo", input: { n: 1 } }, { idempotencyKey: "client-1" });
    expect(again.id).toBe(job.id);
    const done = await client.wait(job.id, { timeout: 20_000 });
    expect(done.status).toBe("succeeded");
    expect(await client.result(job.id)).toEqual({ n: 1 });
    expect(await client.input(job.id)).toEqual({ n: 1 });
    expect(done.input_url).toBe(`/v1/jobs/${job.id}/input`);
    const { batch_id, jobs: batch } = await client.submitBatch([
      { type: "echo", input: 2 },
      { type: "echo", input: 3 },
    ]);
    expect(batch).toHaveLength(2);
    expect(batch.map((j) => j.batch_id)).toEqual([batch_id, batch_id]);
    const completed = await client.batches.wait(batch_id, { timeout: 20_000 });
    expect(completed).toMatchObject({ status: "completed", counts: { total: 2, succeeded: 2, pending: 0 } });
    expect(await client.batches.get(batch_id)).toEqual(completed);
    const pages: string[][] = [];
    for await (const page of client.list({ type: "echo", limit: 2 })) pages.push(page.map((j) => j.id));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.flat()).toEqual(expect.arrayContaining([job.id, ...batch.map((j) => j.id)]));
  });

  it("watches a job over SSE until it finishes", async () => {
    const job = await client.submit({ type: "sleep", input: { seconds: 0.6, steps: 3 } });
    const seen: string[] = [];
    for await (const event of client.watch(job.id)) seen.push(`${event.event}:${event.data.status}`);
    expect(seen[0]).toMatch(/^status:/);
    expect(seen.filter((s) => s.startsWith("progress"))).toHaveLength(3);
    expect(seen.at(-1)).toBe("status:succeeded");
    const { logs, truncated } = await client.logs(job.id);
    expect(truncated).toBe(false);
    expect(logs.map((line) => line.message)).toEqual(["step 1 of 3", "step 2 of 3", "step 3 of 3"]);
  });

  it("cancels, and throws typed errors carrying the contract's code", async () => {
    const job = await client.submit({ type: "echo", delay_seconds: 600 });
    expect((await client.cancel(job.id)).status).toBe("canceled");
    const conflict = await client.cancel(job.id).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(EdgejobsError);
    expect(conflict).toMatchObject({ status: 409, code: "job_finished" });
    const invalid = await client.submit({ type: "sleep", input: { seconds: -1 } }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: "validation_failed", details: [{ path: "input.seconds" }] });
    const missing = await client.get("job_01JD7Z3Q1X0000000000000000").catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: "not_found" });
  });

  it("verifies real callbacks with verifyWebhook, and rejects forged ones", async () => {
    const job = await client.submit({ type: "echo", input: "signed", callback_url: `${receiver.url}/client-hook` });
    await client.wait(job.id);
    let request = receiver.received.find((r) => r.path === "/client-hook");
    for (let i = 0; !request && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      request = receiver.received.find((r) => r.path === "/client-hook");
    }
    const headers = Object.fromEntries(Object.entries(request?.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const event = await verifyWebhook<{ type: string; data: { result: unknown } }>(
      tenant.webhookSecret,
      request?.body ?? "",
      headers,
    );
    expect(event).toMatchObject({ type: "job.succeeded", data: { result: "signed" } });
    await expect(verifyWebhook(tenant.webhookSecret, `${request?.body} `, headers)).rejects.toBeInstanceOf(
      WebhookVerificationError,
    );
    // What standardwebhooks signs, verifyWebhook accepts; a stale timestamp is refused.
    const signed = new Webhook(tenant.webhookSecret).sign("evt_x", new Date(), "{}");
    const fresh = {
      "webhook-id": "evt_x",
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      "webhook-signature": signed,
    };
    expect(await verifyWebhook(tenant.webhookSecret, "{}", new Headers(fresh))).toEqual({});
    await expect(verifyWebhook(tenant.webhookSecret, "{}", fresh, Date.now() + 600_000)).rejects.toThrow("timestamp");
  });
});

describe("the client's schedules against npm run dev", () => {
  it("creates, reads, lists, changes, pauses, resumes and deletes a schedule", async () => {
    const created = await client.schedules.create({
      cron: "0 9 * * MON-FRI",
      timezone: "America/New_York",
      job: { type: "echo", input: { report: "daily" } },
      name: "weekday report",
    });
    expect(created).toMatchObject({ id: expect.stringMatching(/^sch_/), paused: false, timezone: "America/New_York" });
    expect(await client.schedules.get(created.id)).toEqual(created);
    const second = await client.schedules.create({ cron: "*/15 * * * *", job: { type: "echo" } });
    const pages: string[][] = [];
    for await (const page of client.schedules.list({ limit: 1 })) pages.push(page.map((s) => s.id));
    expect(pages).toEqual([[second.id], [created.id]]);
    // A schedule's jobs, by the filter the API takes (new user: the client's type lacked it); none has run yet.
    for await (const page of client.list({ schedule_id: created.id })) expect(page).toEqual([]);
    expect(await client.schedules.update(created.id, { name: "renamed" })).toMatchObject({ name: "renamed" });
    expect(await client.schedules.pause(created.id)).toMatchObject({ paused: true, next_run_at: null });
    expect((await client.schedules.resume(created.id)).next_run_at).toEqual(expect.any(String));
    await client.schedules.delete(created.id);
    await client.schedules.delete(second.id);
    const gone = await client.schedules.get(created.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(EdgejobsError);
    expect(gone).toMatchObject({ status: 404, code: "not_found" });
  });
});
