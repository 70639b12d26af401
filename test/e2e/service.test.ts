import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ReceivedRequest, startReceiver } from "../support/receiver";

// Black-box: `npm run dev` over HTTP, a real webhook receiver on loopback.
const base = inject("devUrl");
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let apiKey: string;
let webhookSecret: string;

interface Job {
  id: string;
  status: string;
  result: unknown;
  result_url: string | null;
  attempts: number;
  version: number;
  progress: { percent: number } | null;
  error: { code: string; message: string } | null;
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${apiKey}`);
  if (init.body) headers.set("content-type", "application/json");
  return fetch(`${base}${path}`, { ...init, headers });
}

async function submit(body: unknown): Promise<Job> {
  const res = await api("/v1/jobs", { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as Job;
}

/** Long-polls until the job is terminal. */
async function finished(id: string): Promise<Job> {
  for (;;) {
    const job = (await (await api(`/v1/jobs/${id}?wait=30`)).json()) as Job;
    if (["succeeded", "failed", "canceled"].includes(job.status)) return job;
  }
}

async function callbacksOn(path: string, count: number): Promise<ReceivedRequest[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = receiver.received.filter((r) => r.path === path);
    if (got.length >= count || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Verifies with both official libraries, as any receiver would. */
function verified(request: ReceivedRequest): { type: string; data: Job } {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
  const viaStandard = new Webhook(webhookSecret).verify(request.body, headers);
  const viaSvix = new SvixWebhook(webhookSecret).verify(request.body, headers);
  expect(viaSvix).toEqual(viaStandard);
  return viaStandard as { type: string; data: Job };
}

beforeAll(async () => {
  receiver = await startReceiver();
  const res = await fetch(`${base}/v1/keys`, {
    method: "POST",
    headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
    body: JSON.stringify({ name: "e2e" }),
  });
  expect(res.status).toBe(201);
  ({ api_key: apiKey, webhook_secret: webhookSecret } = (await res.json()) as {
    api_key: string;
    webhook_secret: string;
  });
});

afterAll(() => receiver.close());

describe("npm run dev, black-box", () => {
  it("answers /healthz", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
  });

  it("runs a job and sends one signed callback that verifies with standardwebhooks and svix", async () => {
    const job = await submit({ type: "echo", input: { hello: "e2e" }, callback_url: `${receiver.url}/done` });
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: "succeeded", result: { hello: "e2e" } });
    const [callback, ...extra] = await callbacksOn("/done", 1);
    expect(extra).toEqual([]);
    const event = verified(callback as ReceivedRequest);
    expect(event.type).toBe("job.succeeded");
    expect(event.data).toEqual(done);
    const result = await api(done.result_url as string);
    expect(await result.json()).toEqual({ hello: "e2e" });
  });

  it("shows sleep progress and retries a failing job", async () => {
    const sleep = await submit({ type: "sleep", input: { seconds: 1, steps: 5 } });
    const failing = await submit({ type: "fail", input: { fail_attempts: 1 }, max_attempts: 2 });
    const slept = await finished(sleep.id);
    expect(slept.progress?.percent).toBe(100);
    const retried = await finished(failing.id);
    expect(retried).toMatchObject({ status: "succeeded", attempts: 2, result: { attempt: 2 } });
  });

  it("cancels a scheduled job and says so by callback", async () => {
    const job = await submit({ type: "echo", delay_seconds: 3600, callback_url: `${receiver.url}/canceled` });
    const res = await api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const [callback] = await callbacksOn("/canceled", 1);
    expect(verified(callback as ReceivedRequest).type).toBe("job.canceled");
    const again = await api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
  });

  it("answers bad input with the contract's error shape", async () => {
    const res = await api("/v1/jobs", { method: "POST", body: "{" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_json" } });
    const unauthenticated = await api("/v1/jobs", { headers: { authorization: "Bearer nope" } });
    expect(unauthenticated.status).toBe(401);
  });
});
