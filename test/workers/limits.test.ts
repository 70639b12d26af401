import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import {
  ADMIN,
  authed,
  call,
  createTenant,
  dbOf,
  errorOf,
  eventually,
  postJson,
  setTenantLimits,
  slotEntries,
  submit,
  tracker,
  untilStatus,
} from "./helpers";

describe("rate limits per API key", () => {
  it("answers 429 rate_limited with Retry-After once a key's submit budget is spent", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { submit_per_minute: 3 });
    for (let i = 0; i < 3; i++) expect((await postJson(tenant, "/v1/jobs", { type: "echo" })).status).toBe(202);
    const limited = await postJson(tenant, "/v1/jobs", { type: "echo" });
    expect(await errorOf(limited.clone())).toMatchObject({ status: 429, code: "rate_limited" });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(20);
    // Reads have their own budget.
    expect((await authed(tenant, "/v1/jobs")).status).toBe(200);
  });

  it("limits reads separately and per key, not per tenant", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { read_per_minute: 2 });
    expect((await authed(tenant, "/v1/jobs")).status).toBe(200);
    expect((await authed(tenant, "/v1/job-types")).status).toBe(200);
    expect(await errorOf(await authed(tenant, "/v1/jobs"))).toMatchObject({ status: 429, code: "rate_limited" });
    const res = await call("/v1/keys", {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ name: "second", tenant_id: tenant.tenantId }),
    });
    const second = (await res.json()) as { api_key: string };
    const other = await call("/v1/jobs", { headers: { authorization: `Bearer ${second.api_key}` } });
    expect(other.status).toBe(200);
  });

  it("applies a changed limit at once to a key this isolate already knows", async () => {
    const tenant = await createTenant();
    expect((await postJson(tenant, "/v1/jobs", { type: "echo" })).status).toBe(202);
    await setTenantLimits(tenant, { submit_per_minute: 2 });
    for (let i = 0; i < 2; i++) expect((await postJson(tenant, "/v1/jobs", { type: "echo" })).status).toBe(202);
    expect(await errorOf(await postJson(tenant, "/v1/jobs", { type: "echo" }))).toMatchObject({ status: 429 });
  });

  it("spends one lease among concurrent requests instead of a lease each", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 60 });
    await setTenantLimits(tenant, { read_per_minute: 1000 }); // leases of 10 tokens
    const read = () => authed(tenant, `/v1/jobs/${job.id}`);
    const burst = await Promise.all(Array.from({ length: 100 }, read));
    expect(burst.map((r) => r.status)).toEqual(Array(100).fill(200));
    // 100 of the minute's 1,000 tokens are spent, not 100 leases' worth (all of them): more requests pass.
    for (let i = 0; i < 20; i++) expect((await read()).status).toBe(200);
  });

  it("restores the default with null, and validates limits", async () => {
    const tenant = await createTenant();
    expect(await setTenantLimits(tenant, { submit_per_minute: 5, max_running_jobs: 2 })).toEqual({
      submit_per_minute: 5,
      read_per_minute: null,
      max_running_jobs: 2,
    });
    expect(await setTenantLimits(tenant, { submit_per_minute: null })).toMatchObject({ submit_per_minute: null });
    const bad = await call(`/v1/tenants/${tenant.tenantId}`, {
      method: "PATCH",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ max_running_jobs: 0 }),
    });
    expect(await errorOf(bad)).toMatchObject({ status: 400, code: "validation_failed" });
    const missing = await call("/v1/tenants/ten_nope", {
      method: "PATCH",
      headers: { ...ADMIN, "content-type": "application/json" },
      body: "{}",
    });
    expect(await errorOf(missing)).toMatchObject({ status: 404 });
  });
});

describe("per-tenant concurrency", () => {
  it("never runs more than the tenant's maximum, starts the rest in order, and does not starve another tenant", async () => {
    const flooder = await createTenant();
    const other = await createTenant();
    await setTenantLimits(flooder, { max_running_jobs: 2 });
    const res = await postJson(flooder, "/v1/jobs/batch", {
      jobs: Array.from({ length: 10 }, () => ({ type: "sleep", input: { seconds: 0.3 } })),
    });
    const { jobs } = (await res.json()) as { jobs: JobView[] };
    const quick = await submit(other, { type: "echo", input: "not starved" });
    const quickDone = await untilStatus(other, quick.id, "succeeded");
    const done = await Promise.all(jobs.map((job) => untilStatus(flooder, job.id, "succeeded")));
    // At most 2 ran at once: the most attempts whose [started_at, finished_at) spans overlap (an attempt shorter
    // than limits.startStoredAfterMs never shows running in D1, so sampling D1 would miss it).
    const edges = done.flatMap((j) => [
      { at: Date.parse(j.started_at ?? ""), step: 1 },
      { at: Date.parse(j.finished_at ?? ""), step: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.step - b.step);
    let running = 0;
    let peak = 0;
    for (const { step } of edges) {
      running += step;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
    const startOrder = [...done].sort((a, b) => Date.parse(a.started_at ?? "") - Date.parse(b.started_at ?? ""));
    expect(startOrder.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
    // The other tenant's job finished while the flood was still waiting its turn.
    const lastStart = Math.max(...done.map((j) => Date.parse(j.started_at ?? "")));
    expect(Date.parse(quickDone.finished_at ?? "")).toBeLessThan(lastStart);
  });

  it("lets a waiting job go when the job it waited for is canceled", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { max_running_jobs: 1 });
    // Started by hand, as by a consumer elsewhere (locally, a queue batch that ran it would hold the queue).
    const long = await submit(tenant, { type: "sleep", input: { seconds: 30, steps: 1 }, delay_seconds: 600 });
    await dbOf(long.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(long.id).run();
    expect((await tracker(long.id).begin()).kind).toBe("run");
    const waiting = await submit(tenant, { type: "echo", input: "next" });
    await eventually(
      () => slotEntries(tenant.tenantId),
      (entries) => entries[waiting.id] === "waiting",
    );
    await authed(tenant, `/v1/jobs/${long.id}/cancel`, { method: "POST" });
    expect((await untilStatus(tenant, waiting.id, "succeeded")).result).toBe("next");
  });
});
