import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { databases } from "../../src/store/databases";
import { postponeEvents } from "../../src/store/overdue-events";
import { shardStatsFound, shardStatsStatements } from "../../src/store/stats";
import { claimForDelivery, failingEvents, insertWebhookEvent } from "../../src/store/webhook-events";
import { authed, createTenant, errorOf, eventually, submit, type TestTenant, untilStatus } from "./helpers";
import { bareEvent, deliveriesOf, unique } from "./webhook-helpers";

interface Stats {
  counts: Record<string, number>;
  counts_capped: string[];
  per_minute: { minute: string; succeeded: number; failed: number }[];
  per_minute_partial: boolean;
}
interface Attempts {
  attempts: {
    attempt: number;
    status: string;
    ended_at: string | null;
    error: { code: string; message: string } | null;
  }[];
}
interface Failing {
  events: {
    id: string;
    job_id: string | null;
    batch_id: string | null;
    type: string;
    status: string;
    attempts: number;
    last_attempt: { http_status: number | null; error: string | null; response_body: string | null } | null;
  }[];
  next_cursor: string | null;
}

const getJson = async <T>(tenant: TestTenant, path: string): Promise<T> => {
  const res = await authed(tenant, path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
};

/** `count` finished jobs of `tenantId` written straight to a shard, as a tenant with a long history has. */
async function seedFinishedJobs(db: D1Database, tenantId: string, count: number, finishedAt: number) {
  await db
    .prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO jobs (id, tenant_id, type, status, max_attempts, timeout_seconds, created_at, run_at, finished_at,
         version, updated_at)
       SELECT printf('job_SEED%s%06d', ?, i), ?, 'echo', 'succeeded', 1, 60, ?, ?, ?, 3, ? FROM n`,
    )
    .bind(count, tenantId.slice(-8), tenantId, finishedAt, finishedAt, finishedAt, finishedAt)
    .run();
}

describe("GET /v1/stats (console)", () => {
  it("counts the tenant's jobs per status and its finished and failed jobs in the current minute", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const jobs = await Promise.all([
      submit(tenant, { type: "echo", input: 1 }),
      submit(tenant, { type: "echo", input: 2 }),
      submit(tenant, { type: "fail", input: { fail_attempts: 1 }, max_attempts: 1 }),
      submit(tenant, { type: "echo", delay_seconds: 600 }),
      submit(other, { type: "echo" }),
    ]);
    await Promise.all(jobs.slice(0, 3).map((job) => untilStatus(tenant, job.id, "succeeded", "failed")));
    const stats = await getJson<Stats>(tenant, "/v1/stats");
    expect(stats.counts).toEqual({ scheduled: 1, queued: 0, running: 0, succeeded: 2, failed: 1, canceled: 0 });
    expect(stats.counts_capped).toEqual([]);
    expect(stats.per_minute).toHaveLength(60);
    const minutes = stats.per_minute.map((m) => Date.parse(m.minute));
    expect(minutes.every((m, i) => i === 0 || m - (minutes[i - 1] as number) === 60_000)).toBe(true);
    const total = stats.per_minute.reduce((sum, m) => ({ s: sum.s + m.succeeded, f: sum.f + m.failed }), {
      s: 0,
      f: 0,
    });
    expect(total).toEqual({ s: 2, f: 1 });
    expect((stats.per_minute.at(-1) as { succeeded: number }).succeeded).toBeGreaterThan(0);
    expect(stats.per_minute_partial).toBe(false);
  });

  it("reads a bounded number of rows however many jobs the tenant has, and says where it stopped", async () => {
    const db = databases(env).shards[0] as D1Database;
    const tenantId = `ten_${unique().replaceAll("-", "")}`;
    const now = Date.now();
    await seedFinishedJobs(db, tenantId, 3000, now);
    const bounds = { countCap: 100, recentScan: 50 };
    const results = await db.batch<{ n: number; minute?: number }>(
      shardStatsStatements(db, tenantId, now - 3_600_000, bounds),
    );
    const rowsRead = results.reduce((sum, r) => sum + (r.meta.rows_read ?? 0), 0);
    // Six counts of at most 100 index entries, two scans of at most 50 jobs: far from the 3,000 a full read takes.
    expect(rowsRead).toBeGreaterThan(0);
    expect(rowsRead).toBeLessThan(1000);
    const stats = shardStatsFound(results, bounds);
    expect(stats.counts.succeeded).toBe(100);
    expect(stats.capped).toEqual(["succeeded"]);
    expect(stats.finished).toEqual([{ status: "succeeded", minute: Math.floor(now / 60_000) * 60_000, count: 50 }]);
    expect(stats.recentFull).toEqual(["succeeded"]);
  });
});

describe("GET /v1/jobs/{id}/attempts (console)", () => {
  it("keeps each failed attempt's own error, not only the last one", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "fail", input: { fail_attempts: 3 }, max_attempts: 3 });
    await untilStatus(tenant, job.id, "failed");
    const { attempts } = await getJson<Attempts>(tenant, `/v1/jobs/${job.id}/attempts`);
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.code, a.error?.message])).toEqual([
      [1, "failed", "handler_error", "failing on purpose (attempt 1 of 3)"],
      [2, "failed", "handler_error", "failing on purpose (attempt 2 of 3)"],
      [3, "failed", "handler_error", "failing on purpose (attempt 3 of 3)"],
    ]);
    expect(attempts.every((a) => a.ended_at !== null)).toBe(true);
    // The errors ride in the log objects' metadata: the log itself still holds only what the handler logged.
    expect(await getJson(tenant, `/v1/jobs/${job.id}/logs`)).toEqual({ logs: [], truncated: false });
  });

  it("shows a retried-then-succeeded job's failed attempt and its success, and writes nothing for a plain success", async () => {
    const tenant = await createTenant();
    const retried = await submit(tenant, { type: "fail", input: { fail_attempts: 1 }, max_attempts: 2 });
    const plain = await submit(tenant, { type: "echo", input: { hello: "world" } });
    await untilStatus(tenant, retried.id, "succeeded");
    await untilStatus(tenant, plain.id, "succeeded");
    const { attempts } = await getJson<Attempts>(tenant, `/v1/jobs/${retried.id}/attempts`);
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.message ?? null])).toEqual([
      [1, "failed", "failing on purpose (attempt 1 of 1)"],
      [2, "succeeded", null],
    ]);
    expect((await getJson<Attempts>(tenant, `/v1/jobs/${plain.id}/attempts`)).attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: "succeeded", error: null }),
    ]);
    expect((await env.BLOBS.list({ prefix: `logs/${plain.id}/` })).objects).toEqual([]);
  });

  it("answers 404 for another tenant's job", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo" });
    const other = await createTenant();
    expect(await errorOf(await authed(other, `/v1/jobs/${job.id}/attempts`))).toMatchObject({ status: 404 });
  });
});

describe("GET /v1/failing-deliveries (console)", () => {
  it("lists the tenant's failing callbacks across jobs, newest first, with the last attempt, page by page", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const failing = (t: TestTenant) =>
      submit(t, { type: "echo", callback_url: `${env.RECEIVER_URL}/status/500/${unique()}` });
    const jobs = [await failing(tenant), await failing(tenant), await failing(tenant)];
    await failing(other);
    const delivered = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}/ok/${unique()}` });
    const all = await eventually(
      () => getJson<Failing>(tenant, "/v1/failing-deliveries?limit=100"),
      (page) => page.events.length === 3 && page.events.every((e) => e.last_attempt !== null),
    );
    // Newest event first: events are made as jobs end, which need not be the order they were submitted in.
    expect(all.events.map((e) => e.job_id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(all.events.map((e) => e.id)).toEqual(
      all.events
        .map((e) => e.id)
        .sort()
        .reverse(),
    );
    expect(all.events.map((e) => e.job_id)).not.toContain(delivered.id);
    expect(all.events[0]).toMatchObject({ type: "job.succeeded", last_attempt: { http_status: 500, error: null } });
    expect(["pending", "failed"]).toContain(all.events[0]?.status);

    // An empty cursor is the first page, as none is.
    expect(await getJson<Failing>(tenant, "/v1/failing-deliveries?limit=100&cursor=")).toEqual(all);
    const first = await getJson<Failing>(tenant, "/v1/failing-deliveries?limit=2");
    expect(first.events.map((e) => e.id)).toEqual(all.events.slice(0, 2).map((e) => e.id));
    const second = await getJson<Failing>(tenant, `/v1/failing-deliveries?limit=2&cursor=${first.next_cursor}`);
    expect(second).toMatchObject({ events: [{ id: all.events[2]?.id }], next_cursor: null });
    expect(await errorOf(await authed(tenant, "/v1/failing-deliveries?cursor=nope"))).toMatchObject({
      status: 400,
      code: "validation_failed",
    });
  });

  it("counts an event's attempts as its job's deliveries do, manual ones too", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}/status/500/${unique()}` });
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.deliveries.length >= 2,
    );
    const redeliver = `/v1/jobs/${job.id}/deliveries/${log.events[0]?.id}/redeliver`;
    expect((await authed(tenant, redeliver, { method: "POST" })).status).toBe(202);
    const [failing, deliveries] = await eventually(
      async () =>
        [await getJson<Failing>(tenant, "/v1/failing-deliveries"), await deliveriesOf(tenant, job.id)] as const,
      ([f, d]) => d.deliveries.some((a) => a.trigger === "manual") && f.events[0]?.attempts === d.events[0]?.attempts,
    );
    expect(failing.events[0]?.attempts).toBe(deliveries.deliveries.length);
  });

  it("lists a batch's failing batch.completed event under its batch, not as a job's", async () => {
    const tenant = await createTenant();
    const res = await authed(tenant, "/v1/jobs/batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jobs: [{ type: "echo" }],
        on_complete: { callback_url: `${env.RECEIVER_URL}/status/503/${unique()}` },
      }),
    });
    expect(res.status).toBe(202);
    const { batch_id: batchId } = (await res.json()) as { batch_id: string };
    const page = await eventually(
      () => getJson<Failing>(tenant, "/v1/failing-deliveries"),
      (p) => p.events.length === 1 && p.events[0]?.last_attempt !== null,
    );
    expect(page.events[0]).toMatchObject({
      type: "batch.completed",
      job_id: null,
      batch_id: batchId,
      last_attempt: { http_status: 503 },
    });
  });

  it("lists an event whose first attempt died unrecorded once the sweep sent it again and a retry claimed it", async () => {
    const db = databases(env).shards[0] as D1Database;
    const tenantId = `ten_${unique().replaceAll("-", "")}`;
    // Its first attempt was claimed and never recorded: the event is still stored `sending` (migration 0020).
    const event = { ...bareEvent(0, tenantId, Date.now()), attempts: 1 };
    await insertWebhookEvent(db, event).run();
    expect((await failingEvents(db, tenantId, null, 21).all()).results).toEqual([]);

    // The sweep finds it, postpones it and sends attempt 2, which a consumer claims.
    await postponeEvents(db, [{ ...event, held: null }], Date.now());
    const claimed = await claimForDelivery(db, event.jobId, event.id, 2, Date.now()).first();

    expect(claimed).toMatchObject({ status: "pending", attempts: 2 });
    const { results } = await failingEvents(db, tenantId, null, 21).all<{ id: string; status: string }>();
    expect(results.map((r) => [r.id, r.status])).toEqual([[event.id, "pending"]]);
  });

  it("reads only failing events through its index, however many delivered ones the tenant has", async () => {
    const db = databases(env).shards[0] as D1Database;
    const tenantId = `ten_${unique().replaceAll("-", "")}`;
    await db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
         INSERT INTO webhook_events (id, tenant_id, job_id, type, payload, callback_url, status, attempts, created_at,
           updated_at)
         SELECT printf('evt_SEED%s%06d', ?, i), ?, 'job_x', 'job.succeeded', '{}', 'https://x.example/', 'delivered', 1,
           0, 0 FROM n`,
      )
      .bind(tenantId.slice(-8), tenantId)
      .run();
    const { results, meta } = await failingEvents(db, tenantId, null, 21).all();
    expect(results).toEqual([]);
    expect(meta.rows_read).toBeLessThan(50);
  });
});
