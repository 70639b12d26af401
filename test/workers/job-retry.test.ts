import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import { purgeExpired } from "../../src/jobs/retention";
import { limits } from "../../src/limits";
import {
  authed,
  createTenant,
  dbOf,
  errorOf,
  eventually,
  postJson,
  setTenantLimits,
  submit,
  type TestTenant,
  tracker,
  untilStatus,
} from "./helpers";

const retry = (tenant: TestTenant, id: string, headers: Record<string, string> = {}) =>
  authed(tenant, `/v1/jobs/${id}/retry`, { method: "POST", headers });

async function retried(tenant: TestTenant, id: string, headers: Record<string, string> = {}): Promise<JobView> {
  const res = await retry(tenant, id, headers);
  if (res.status !== 202) throw new Error(`retry answered ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as JobView;
  expect(res.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
  return job;
}

/** The job's row exactly as stored: a retry must not touch it. */
const rowOf = (id: string) => dbOf(id).prepare("SELECT * FROM jobs WHERE id = ?").bind(id).first();

/** A job that never runs during the test (delayed 10 min), then canceled. */
async function canceledJob(tenant: TestTenant, body: Record<string, unknown> = {}): Promise<JobView> {
  const job = await submit(tenant, { type: "echo", input: "again", delay_seconds: 600, ...body });
  expect((await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" })).status).toBe(200);
  return job;
}

describe("POST /v1/jobs/{id}/retry", () => {
  it("runs a failed job again as a new job linked by retry_of, and never changes the original", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 1, retryable: false, code: "card_declined" },
      callback_url: `${env.RECEIVER_URL}/retry-${crypto.randomUUID()}`,
      callback_events: ["job.failed"],
      metadata: { order: "A-17" },
      max_attempts: 4,
      timeout_seconds: 30,
    });
    const failed = await untilStatus(tenant, job.id, "failed");
    // Its callback's first attempt is recorded on its row, which leaves its owed status (store/held-events.ts):
    // that change is the callback's, not the retry's.
    const before = await eventually(
      () => rowOf(job.id),
      (row) => row?.status === "failed",
    );
    const again = await retried(tenant, job.id);
    expect(again).toMatchObject({
      type: "fail",
      status: "queued",
      input: { fail_attempts: 1, retryable: false, code: "card_declined" },
      callback_url: failed.callback_url,
      callback_events: ["job.failed"],
      metadata: { order: "A-17" },
      max_attempts: 4,
      timeout_seconds: 30,
      attempts: 0,
      error: null,
      retry_of: job.id,
      expires_at: null,
      batch_id: null,
      schedule_id: null,
      version: 1,
    });
    expect(again.id).not.toBe(job.id);
    // The new job runs on its own: its first attempt is attempt 1 (and fails the same way here).
    expect(await untilStatus(tenant, again.id, "failed")).toMatchObject({
      attempts: 1,
      error: { code: "card_declined" },
    });
    expect(await rowOf(job.id)).toEqual(before);
  });

  it("runs a canceled job again, to success", async () => {
    const tenant = await createTenant();
    const job = await canceledJob(tenant);
    const before = await rowOf(job.id);
    const again = await retried(tenant, job.id);
    expect(await untilStatus(tenant, again.id, "succeeded")).toMatchObject({ result: "again", retry_of: job.id });
    expect(await rowOf(job.id)).toEqual(before);
    expect(before).toMatchObject({ status: "canceled", version: 2 });
  });

  it("answers 409 job_not_retryable for a scheduled, queued, running or succeeded job", async () => {
    const tenant = await createTenant();
    // One running slot, held by a job begun by hand; the next job waits queued for it.
    await setTenantLimits(tenant, { max_running_jobs: 1 });
    const running = await submit(tenant, { type: "sleep", input: { seconds: 30, steps: 1 }, delay_seconds: 600 });
    await dbOf(running.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(running.id).run();
    expect((await tracker(running.id).begin(tenant.tenantId)).kind).toBe("run");
    await tracker(running.id).heartbeat(1); // its first, which stores the start
    const queued = await submit(tenant, { type: "echo" });
    const scheduled = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const elsewhere = await createTenant();
    const done = await submit(elsewhere, { type: "echo" });
    await untilStatus(elsewhere, done.id, "succeeded");
    for (const [job, status] of [
      [done, "succeeded"],
      [scheduled, "scheduled"],
      [running, "running"],
      [queued, "queued"],
    ] as const) {
      const before = await rowOf(job.id);
      expect(before?.status).toBe(status);
      const owner = job === done ? elsewhere : tenant;
      expect(await errorOf(await retry(owner, job.id))).toMatchObject({ status: 409, code: "job_not_retryable" });
      expect(await rowOf(job.id)).toEqual(before);
    }
    await authed(tenant, `/v1/jobs/${running.id}/cancel`, { method: "POST" });
  });

  it("answers 404 for another tenant's job, as for one that never existed", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await canceledJob(owner);
    expect(await errorOf(await retry(other, job.id))).toMatchObject({ status: 404, code: "not_found" });
    expect(await errorOf(await retry(other, "job_01JD7Z3Q1X0000000000000000"))).toMatchObject({ status: 404 });
    expect(await errorOf(await retry(other, "nope"))).toMatchObject({ status: 404 });
    const { jobs } = (await (await authed(other, "/v1/jobs")).json()) as { jobs: JobView[] };
    expect(jobs).toEqual([]);
    // The owner can: the 404 is the tenant's, not the route's.
    expect((await retried(owner, job.id)).retry_of).toBe(job.id);
  });

  it("honours an Idempotency-Key: the same job answers the same new job, another job is a conflict", async () => {
    const tenant = await createTenant();
    const job = await canceledJob(tenant);
    const other = await canceledJob(tenant);
    const key = { "idempotency-key": "retry-once" };
    const first = await retried(tenant, job.id, key);
    const repeat = await retry(tenant, job.id, key);
    expect(repeat.status).toBe(202);
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(repeat.headers.get("location")).toBe(`/v1/jobs/${first.id}`);
    expect(((await repeat.json()) as JobView).id).toBe(first.id);
    expect(await errorOf(await retry(tenant, other.id, key))).toMatchObject({
      status: 409,
      code: "idempotency_conflict",
    });
    // A key's scope is its route: the same key on POST /v1/jobs is a new key there.
    const submitted = await postJson(tenant, "/v1/jobs", { type: "echo" }, key);
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get("idempotent-replayed")).toBeNull();
    const retries = await dbOf(first.id)
      .prepare("SELECT COUNT(*) AS n FROM jobs WHERE retry_of = ?")
      .bind(job.id)
      .first<{ n: number }>();
    expect(retries?.n).toBe(1);
  });

  it("gives a retried input kept in R2 its own copy, which outlives the original's purge", async () => {
    const tenant = await createTenant();
    const input = { blob: "r".repeat(70 * 1024) };
    const job = await canceledJob(tenant, { input });
    // A moment after the original ended and before its retry is made, a few ms apart.
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    await pause();
    const between = Date.now();
    await pause();
    const again = await retried(tenant, job.id);
    expect(again.input).toBeNull();
    expect(await env.BLOBS.head(`inputs/${again.id}.json`)).not.toBeNull();
    // A sweep 7 days after `between` (and the hour new jobs have to take the original's row over)
    // purges the original with its input object, not the retry.
    await purgeExpired(env, between + 7 * 86_400_000 + limits.reuseWindowMs);
    expect(await env.BLOBS.head(`inputs/${job.id}.json`)).toBeNull();
    expect(await (await authed(tenant, `/v1/jobs/${again.id}/input`)).json()).toEqual(input);
    const done = await untilStatus(tenant, again.id, "succeeded");
    expect(await (await authed(tenant, done.result_url as string)).json()).toEqual(input);
  });

  it("counts against the key's write rate limit", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { submit_per_minute: 3 });
    const job = await canceledJob(tenant); // two writes: submit and cancel
    await retried(tenant, job.id);
    expect(await errorOf(await retry(tenant, job.id))).toMatchObject({ status: 429, code: "rate_limited" });
  });
});
