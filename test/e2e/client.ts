import { expect, inject } from "vitest";

/** A small client for the black-box tests: plain fetch against `npm run dev`. */
export const base = inject("devUrl");

export interface Job {
  id: string;
  status: string;
  result: unknown;
  result_url: string | null;
  attempts: number;
  version: number;
  progress: { percent: number } | null;
  error: { code: string; message: string } | null;
  finished_at: string | null;
}

export interface Tenant {
  apiKey: string;
  webhookSecret: string;
}

export async function createTenant(name = "e2e"): Promise<Tenant> {
  const res = await fetch(`${base}/v1/keys`, {
    method: "POST",
    headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { api_key: string; webhook_secret: string };
  return { apiKey: body.api_key, webhookSecret: body.webhook_secret };
}

export function api(tenant: Tenant, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${tenant.apiKey}`);
  if (init.body) headers.set("content-type", "application/json");
  return fetch(`${base}${path}`, { ...init, headers });
}

export async function submit(tenant: Tenant, body: unknown): Promise<Job> {
  const res = await api(tenant, "/v1/jobs", { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as Job;
}

/** Long-polls until the job is terminal. */
export async function finished(tenant: Tenant, id: string): Promise<Job> {
  for (;;) {
    const job = (await (await api(tenant, `/v1/jobs/${id}?wait=30`)).json()) as Job;
    if (["succeeded", "failed", "canceled"].includes(job.status)) return job;
  }
}

export async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
