import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { BatchView } from "../../src/batches/model";
import { jobQueueOf } from "../../src/jobs/job-queues";
import type { JobView } from "../../src/jobs/model";
import { purgeExpired } from "../../src/jobs/retention";
import { sweep } from "../../src/jobs/sweep";
import { newId, shardInId } from "../../src/platform/ids";
import { listStalledBatchIds } from "../../src/store/batches";
import { insertJob } from "../../src/store/jobs";
import { jobRecord } from "../support/job-record";
import {
  authed,
  countingReads,
  createTenant,
  dbOf,
  errorOf,
  eventually,
  onEveryShard,
  postJson,
  setTenantLimits,
  submit,
  type TestTenant,
  untilStatus,
} from "./helpers";
import { type Deliveries, receivedOn, theOnlyCallback, unique } from "./webhook-helpers";

interface Submitted {
  batch_id: string;
  jobs: JobView[];
}

async function submitBatch(tenant: TestTenant, body: unknown): Promise<Submitted> {
  const res = await postJson(tenant, "/v1/jobs/batch", body);
  if (res.status !== 202) throw new Error(`batch submit answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Submitted;
}

const getBatch = async (tenant: TestTenant, id: string): Promise<BatchView> => {
  const res = await authed(tenant, `/v1/batches/${id}`);
  if (res.status !== 200) throw new Error(`get batch answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as BatchView;
};

const untilCompleted = (tenant: TestTenant, id: string) =>
  eventually(
    () => getBatch(tenant, id),
    (batch) => batch.status === "completed",
  );

/** The batch's stored events: one row per event, whatever was delivered. */
const batchEvents = async (batchId: string) =>
  (
    await dbOf(batchId)
      .prepare("SELECT id, type, status FROM webhook_events WHERE job_id = ?")
      .bind(batchId)
      .all<{ id: string; type: string; status: string }>()
  ).results;

const batchDeliveries = async (tenant: TestTenant, id: string): Promise<Deliveries> =>
  (await authed(tenant, `/v1/batches/${id}/deliveries`)).json();

const later = { type: "echo", delay_seconds: 600 };

describe("batches that fan in", () => {
  it("answers a batch id on its jobs' shard; each job carries it, and ?batch_id= lists them", async () => {
    const tenant = await createTenant();
    const { batch_id, jobs } = await submitBatch(tenant, { jobs: [later, later, later] });
    expect(batch_id).toMatch(/^bat_[0-9A-Z]{26}$/);
    expect(jobs.map((j) => j.batch_id)).toEqual([batch_id, batch_id, batch_id]);
    for (const job of jobs) expect(dbOf(job.id)).toBe(dbOf(batch_id));
    const listed = (await (await authed(tenant, `/v1/jobs?batch_id=${batch_id}`)).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    const batch = await getBatch(tenant, batch_id);
    expect(batch).toMatchObject({
      id: batch_id,
      status: "running",
      counts: { total: 3, succeeded: 0, failed: 0, canceled: 0, pending: 3 },
      on_complete: null,
      completed_at: null,
    });
  });

  it("completes once every job is terminal, with exact counts and one signed batch.completed event", async () => {
    const tenant = await createTenant();
    const path = `/hooks/${unique()}`;
    const { batch_id, jobs } = await submitBatch(tenant, {
      jobs: [{ type: "echo", input: 1 }, { type: "fail", input: { fail_attempts: 1, retryable: false } }, later],
      on_complete: { callback_url: `${env.RECEIVER_URL}${path}`, metadata: { order: "A-17" } },
    });
    await untilStatus(tenant, (jobs[0] as JobView).id, "succeeded");
    await untilStatus(tenant, (jobs[1] as JobView).id, "failed");
    expect(await getBatch(tenant, batch_id)).toMatchObject({
      status: "running",
      counts: { total: 3, succeeded: 1, failed: 1, canceled: 0, pending: 1 },
    });
    await authed(tenant, `/v1/jobs/${(jobs[2] as JobView).id}/cancel`, { method: "POST" });
    const done = await untilCompleted(tenant, batch_id);
    expect(done).toMatchObject({
      counts: { total: 3, succeeded: 1, failed: 1, canceled: 1, pending: 0 },
      on_complete: { callback_url: `${env.RECEIVER_URL}${path}`, metadata: { order: "A-17" } },
    });
    expect(done.completed_at).not.toBeNull();
    const { request: delivery, event } = await theOnlyCallback<BatchView>(path, tenant.webhookSecret);
    expect(event.type).toBe("batch.completed");
    expect(event.data).toEqual(done);
    expect(await batchEvents(batch_id)).toEqual([
      { id: delivery?.headers["webhook-id"], type: "batch.completed", status: "delivered" },
    ]);
  });

  it("counts a job retried by its own attempts once, by its final status", async () => {
    const tenant = await createTenant();
    const { batch_id } = await submitBatch(tenant, {
      jobs: [
        { type: "fail", input: { fail_attempts: 1 }, max_attempts: 2 },
        { type: "echo", input: 2 },
      ],
    });
    const done = await untilCompleted(tenant, batch_id);
    expect(done.counts).toEqual({ total: 2, succeeded: 2, failed: 0, canceled: 0, pending: 0 });
  });

  it("changes nothing when the same job's end is reported again, or its message delivered again", async () => {
    const tenant = await createTenant();
    const path = `/hooks/${unique()}`;
    const { batch_id, jobs } = await submitBatch(tenant, {
      jobs: [later, later],
      on_complete: { callback_url: `${env.RECEIVER_URL}${path}` },
    });
    const [first, second] = jobs as [JobView, JobView];
    await authed(tenant, `/v1/jobs/${first.id}/cancel`, { method: "POST" });
    const batchTracker = env.BATCH_TRACKER.getByName(batch_id);
    await batchTracker.report(first.id, "canceled");
    await batchTracker.report(first.id, "succeeded");
    await jobQueueOf(env, first.id).send({ job_id: first.id, tenant_id: tenant.tenantId });
    await jobQueueOf(env, first.id).send({ job_id: first.id, tenant_id: tenant.tenantId });
    expect((await getBatch(tenant, batch_id)).counts).toEqual({
      total: 2,
      succeeded: 0,
      failed: 0,
      canceled: 1,
      pending: 1,
    });
    await authed(tenant, `/v1/jobs/${second.id}/cancel`, { method: "POST" });
    const done = await untilCompleted(tenant, batch_id);
    expect(done.counts).toMatchObject({ canceled: 2, pending: 0 });
    // Completed once: late reports and a reconcile neither count again nor store a second event.
    await batchTracker.report(second.id, "canceled");
    await batchTracker.reconcile();
    expect(await getBatch(tenant, batch_id)).toEqual(done);
    await eventually(
      () => receivedOn(path),
      (r) => r.length === 1,
    );
    expect(await batchEvents(batch_id)).toHaveLength(1);
  });

  it("retries batch.completed after a 500, logs each attempt and redelivers it on request", async () => {
    const tenant = await createTenant();
    const path = `/flaky/1/${unique()}`;
    const { batch_id, jobs } = await submitBatch(tenant, {
      jobs: [later],
      on_complete: { callback_url: `${env.RECEIVER_URL}${path}` },
    });
    await authed(tenant, `/v1/jobs/${(jobs[0] as JobView).id}/cancel`, { method: "POST" });
    const [failed, retried] = await eventually(
      () => receivedOn(path),
      (r) => r.length === 2,
    );
    expect(retried?.headers["webhook-id"]).toBe(failed?.headers["webhook-id"]);
    new Webhook(tenant.webhookSecret).verify(retried?.body as string, retried?.headers ?? {});
    const log = await eventually(
      () => batchDeliveries(tenant, batch_id),
      (d) => d.events[0]?.status === "delivered",
    );
    expect(log.events).toMatchObject([{ type: "batch.completed", attempts: 2 }]);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([
      [1, "scheduled", 500],
      [2, "scheduled", 204],
    ]);
    const eventId = log.events[0]?.id as string;
    const redeliver = () =>
      authed(tenant, `/v1/batches/${batch_id}/deliveries/${eventId}/redeliver`, { method: "POST" });
    const [once, twice] = await Promise.all([redeliver(), redeliver()]);
    expect([once.status, twice.status].sort()).toEqual([202, 409]);
    expect(await errorOf(once.status === 409 ? once : twice)).toMatchObject({ code: "redelivery_in_progress" });
    const third = await eventually(
      () => receivedOn(path),
      (r) => r.length === 3,
    );
    expect(third[2]?.headers["webhook-id"]).toBe(failed?.headers["webhook-id"]);
    await eventually(
      () => batchDeliveries(tenant, batch_id),
      (d) => d.deliveries.at(-1)?.trigger === "manual",
    );
  });

  it("counts batch redeliveries against the key's write rate limit", async () => {
    const tenant = await createTenant();
    const { batch_id } = await submitBatch(tenant, { jobs: [later] });
    await setTenantLimits(tenant, { submit_per_minute: 1 });
    const redeliver = () => authed(tenant, `/v1/batches/${batch_id}/deliveries/evt_x/redeliver`, { method: "POST" });
    const first = (await (await redeliver()).json()) as { error: { message: string } };
    expect(first.error.message).toBe("This batch has no event with this id.");
    expect(await errorOf(await redeliver())).toMatchObject({ status: 429, code: "rate_limited" });
  });

  it("stays all or nothing: a bad on_complete or job stores no batch and no job", async () => {
    const tenant = await createTenant();
    const cases: [unknown, string, string][] = [
      [
        { jobs: [later], on_complete: { callback_url: "https://10.0.0.1/hook" } },
        "invalid_callback_url",
        "on_complete.callback_url",
      ],
      [
        { jobs: [later], on_complete: { callback_url: `${env.RECEIVER_URL}/x`, metadata: { big: "x".repeat(5000) } } },
        "validation_failed",
        "on_complete.metadata",
      ],
      [{ jobs: [later], on_complete: { url: "https://example.com" } }, "validation_failed", "on_complete"],
      [
        {
          jobs: [later, { type: "echo", callback_url: `${env.RECEIVER_URL}/x`, callback_events: ["batch.completed"] }],
        },
        "validation_failed",
        "jobs.1.callback_events.0",
      ],
      [
        { jobs: [later, { type: "nope" }], on_complete: { callback_url: `${env.RECEIVER_URL}/x` } },
        "unknown_job_type",
        "jobs.1.type",
      ],
    ];
    for (const [body, code, path] of cases) {
      const error = await errorOf(await postJson(tenant, "/v1/jobs/batch", body));
      expect(error).toMatchObject({ status: 400, code });
      expect(error.details?.map((d) => d.path).join(" ")).toContain(path);
    }
    const stored = await onEveryShard(async (db) => {
      const batches = await db
        .prepare("SELECT COUNT(*) AS n FROM batches WHERE tenant_id = ?")
        .bind(tenant.tenantId)
        .first<{ n: number }>();
      const jobs = await db
        .prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ?")
        .bind(tenant.tenantId)
        .first<{ n: number }>();
      return (batches?.n ?? 0) + (jobs?.n ?? 0);
    });
    expect(stored.reduce((a, b) => a + b)).toBe(0);
  });

  it("answers 404 for another tenant's batch on every batch route, as for one that never existed", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const { batch_id } = await submitBatch(owner, { jobs: [later] });
    expect((await authed(owner, `/v1/batches/${batch_id}`)).status).toBe(200);
    expect((await authed(owner, `/v1/batches/${batch_id}/deliveries`)).status).toBe(200);
    for (const id of [batch_id, "bat_01JD7Z3Q1X0000000000000000", "job_01JD7Z3Q1X0000000000000000", "nope"]) {
      expect(await errorOf(await authed(other, `/v1/batches/${id}`))).toMatchObject({ status: 404, code: "not_found" });
      expect(await errorOf(await authed(other, `/v1/batches/${id}/deliveries`))).toMatchObject({ status: 404 });
      expect(
        await errorOf(await authed(other, `/v1/batches/${id}/deliveries/evt_x/redeliver`, { method: "POST" })),
      ).toMatchObject({ status: 404 });
    }
  });

  it("looks for stalled batches through each batch's jobs only, however many other jobs its tenant holds", async () => {
    const tenant = await createTenant();
    const { batch_id } = await submitBatch(tenant, { jobs: [later, later] });
    const shard = dbOf(batch_id);
    const now = Date.now();
    const others = Array.from({ length: 500 }, () =>
      insertJob(shard, jobRecord({ id: newId.job(shardInId(batch_id)), tenantId: tenant.tenantId }, now)),
    );
    for (let i = 0; i < others.length; i += 100) await shard.batch(others.slice(i, i + 100));
    const read = { rows: 0 };
    expect(await listStalledBatchIds(countingReads(shard, read), now, 100)).not.toContain(batch_id);
    // The running batches and their jobs' index entries: the jobs' key would walk the tenant's 502 jobs.
    expect(read.rows).toBeLessThan(100);
  });

  it("finishes a batch whose job's report was lost, from the sweep, once", async () => {
    const tenant = await createTenant();
    const path = `/hooks/${unique()}`;
    const { batch_id, jobs } = await submitBatch(tenant, {
      jobs: [later, later],
      on_complete: { callback_url: `${env.RECEIVER_URL}${path}` },
    });
    // As if each job's tracker stored its end and died before telling the batch.
    const endedAt = Date.now() - 60_000;
    for (const [job, status] of [
      [jobs[0], "succeeded"],
      [jobs[1], "failed"],
    ] as const) {
      await dbOf(batch_id)
        .prepare("UPDATE jobs SET status = ?, finished_at = ?, version = version + 1 WHERE id = ?")
        .bind(status, endedAt, (job as JobView).id)
        .run();
    }
    expect((await getBatch(tenant, batch_id)).status).toBe("running");
    await sweep(env);
    const done = await getBatch(tenant, batch_id);
    expect(done).toMatchObject({ status: "completed", counts: { succeeded: 1, failed: 1, canceled: 0, pending: 0 } });
    await sweep(env);
    const [delivery] = await eventually(
      () => receivedOn(path),
      (r) => r.length > 0,
    );
    expect(JSON.parse(delivery?.body as string)).toMatchObject({ type: "batch.completed", data: done });
    expect(await batchEvents(batch_id)).toHaveLength(1);
  });

  it("is finished by the sweep even when a job on its shard cannot be recovered (the sweep's parts stand alone)", async () => {
    const tenant = await createTenant();
    const { batch_id, jobs } = await submitBatch(tenant, { jobs: [later] });
    const shard = dbOf(batch_id);
    await shard
      .prepare("UPDATE jobs SET status = 'succeeded', finished_at = ?, version = version + 1 WHERE id = ?")
      .bind(Date.now() - 60_000, (jobs[0] as JobView).id)
      .run();
    // A stranded job on the same shard whose tracker throws on every recovery (its row cannot be read).
    let poison: JobView;
    do poison = await submit(tenant, later);
    while (dbOf(poison.id) !== shard);
    await shard
      .prepare("UPDATE jobs SET run_at = 0, updated_at = 0, callback_events = '{not json' WHERE id = ?")
      .bind(poison.id)
      .run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await sweep(env);
    expect((await getBatch(tenant, batch_id)).status).toBe("completed");
    expect(errors.mock.calls.map((call) => String(call[0]))).toContain("a stranded job could not be recovered");
  });

  it("is kept by retention while its batch.completed event is pending, and deleted once it settles", async () => {
    const tenant = await createTenant();
    const { batch_id } = await submitBatch(tenant, {
      jobs: [{ type: "echo" }],
      on_complete: { callback_url: `${env.RECEIVER_URL}/hooks/${unique()}` },
    });
    await untilCompleted(tenant, batch_id);
    await eventually(
      () => batchEvents(batch_id),
      (events) => events[0]?.status === "delivered",
    );
    const setEvent = (status: string) =>
      dbOf(batch_id).prepare("UPDATE webhook_events SET status = ? WHERE job_id = ?").bind(status, batch_id).run();
    await setEvent("pending");
    await purgeExpired(env, Date.now() + 30 * 24 * 3600 * 1000);
    expect((await authed(tenant, `/v1/batches/${batch_id}`)).status).toBe(200);
    await setEvent("delivered");
    await purgeExpired(env, Date.now() + 30 * 24 * 3600 * 1000);
    expect((await authed(tenant, `/v1/batches/${batch_id}`)).status).toBe(404);
  });

  it("is deleted with its event by retention once all its jobs are gone, not before", async () => {
    const tenant = await createTenant();
    const { batch_id, jobs } = await submitBatch(tenant, {
      jobs: [{ type: "echo" }],
      on_complete: { callback_url: `${env.RECEIVER_URL}/hooks/${unique()}` },
    });
    const running = await submitBatch(tenant, { jobs: [later] });
    await untilCompleted(tenant, batch_id);
    await eventually(
      () => batchEvents(batch_id),
      (events) => events[0]?.status === "delivered",
    );
    await purgeExpired(env, Date.now() + 30 * 24 * 3600 * 1000);
    expect((await authed(tenant, `/v1/jobs/${(jobs[0] as JobView).id}`)).status).toBe(404);
    expect((await authed(tenant, `/v1/batches/${batch_id}`)).status).toBe(404);
    expect(await batchEvents(batch_id)).toEqual([]);
    const attempts = await dbOf(batch_id)
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?")
      .bind(batch_id)
      .first<{ n: number }>();
    expect(attempts?.n).toBe(0);
    expect((await getBatch(tenant, running.batch_id)).status).toBe("running");
  });
});
