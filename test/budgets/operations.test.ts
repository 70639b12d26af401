import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobQueues } from "../../src/jobs/job-queues";
import { databases } from "../../src/store/databases";
import {
  at,
  authed,
  call,
  createTenant,
  dbOf,
  eventually,
  postJson,
  storeEndedJob,
  submit,
  type TestTenant,
  tracker,
} from "../workers/helpers";

/**
 * The operations one job causes, counted by the metering (src/platform/metering.ts)
 * exactly as `npm run bench` counts them for its capacity model and cost: each
 * figure here is a budget, so a change that adds a D1 query or statement, a
 * row read or written, a queue message or a Durable Object request per job fails this test. Jobs run
 * one after another, so batching cannot blur the counts.
 */
const JOBS = 5;

/** Budgets per job: an echo job with one callback, delivered at the first attempt. */
const budget = {
  /**
   * Round trips to the job's shard: insert; the start's read of the job (the
   * start itself is held by the tracker, and written with the end: the
   * attempt is shorter than limits.startStoredAfterMs); finish with its event
   * (and the secrets to sign it); record the callback's first attempt, which
   * the job's consumer makes itself (no claim).
   */
  shardRoundTrips: 4,
  /** Round trips to the control database: none once the isolate knows the API key. */
  controlRoundTrips: 0,
  /**
   * The statements in those round trips (the end's batch carries the job's
   * update and the signing secrets' read; the first attempt's record is its
   * move on the job's row alone, followed by a second round trip only when a
   * sweep or redelivery gave the event a row of its own meanwhile), and the
   * rows they read
   * (D1 bills each row read): a statement, or a scan, added to a batch fails
   * here though the round trips stay the same. The insert is two: a look for
   * an expired job of the tenant whose row the new job takes over
   * (store/jobs.ts `reuseExpiredJob`), then the insert, which stores it
   * unless that did.
   */
  shardStatements: 7,
  /**
   * 13 before the jobs' key held the status (migration 0019): the start finds
   * the job at either waiting status and moves its row, which reads 5 rows
   * where it read 2 (rows read cost a thousandth of a row written). 16 before
   * the events' key held the status (migration 0020): recording the first
   * attempt finds the event at each of its four stored statuses. 24 before
   * the job's row held its event (migration 0021), 21 while its first
   * attempt's record also ran the statements that record it on an event's
   * own row, 11 while the start moved the job's row. 2 of them the insert's:
   * the first key of the tenant's succeeded range (the look for an expired
   * job to take over), and the insert's check that it did not.
   */
  rowsRead: 11,
  /**
   * Rows written over all databases (D1 bills each row and index entry): the
   * job, and its end with its start, one row each: the row is keyed by
   * (tenant, status, id), so it is its own entry of the list by status and a
   * change of status moves it (migration 0019; no tenant index: 0015; no
   * finished index: 0014); the start of an attempt shorter than
   * limits.startStoredAfterMs is written with its end (1 row less); the end
   * moves it to its owed status, holding the callback event (no event row:
   * migration 0021), and the first attempt, delivered, is recorded on it,
   * which moves it to `succeeded` (1). Before 0021 the event was a row of
   * its own: stored, then settled, 2 rows.
   */
  rowsWritten: 3,
  /** The job's message; the callback's first attempt needs none. */
  queueMessages: 1,
  /**
   * Begin and complete (the tracker), the origin gate's acquire and release,
   * and the tenant's running slot acquired and released: one each per job
   * here, run one at a time (under load a batch shares the gate's and the
   * slots' requests).
   */
  doRequests: 6,
};

const meter = async () => (await (await call("/__metrics")).json()) as Record<string, number>;

/**
 * Runs one job to its delivered callback, watching its rows directly: the
 * test's own reads go around the Worker, so they are not counted.
 */
async function runOneJob(tenant: TestTenant, path: string): Promise<void> {
  const job = await submit(tenant, { type: "echo", input: { n: 1 }, callback_url: `${env.RECEIVER_URL}${path}` });
  await eventually(
    () =>
      dbOf(job.id)
        .prepare(
          `SELECT status AS job, event_attempted_at IS NOT NULL OR EXISTS (SELECT 1 FROM webhook_events e
            WHERE e.status = 'delivered' AND e.job_id = jobs.id) AS delivered FROM jobs WHERE tenant_id = ? AND id = ?`,
        )
        .bind(tenant.tenantId, job.id)
        .first<{ job: string; delivered: number }>(),
    // A delivered first attempt made by the job's consumer is recorded on the job's row, which moves from its owed
    // status (store/held-events.ts); any other on the event's own row.
    (row) => row?.job === "succeeded" && row.delivered === 1,
  );
}

describe("operations per job (budgets)", () => {
  it("keeps every job within its budget of D1 queries and rows, queue messages and object requests", async () => {
    const tenant = await createTenant();
    await runOneJob(tenant, "/ok/budget-warmup"); // the isolate learns the key
    await call("/__metrics/reset", { method: "POST" });
    for (let i = 0; i < JOBS; i++) await runOneJob(tenant, `/ok/budget-${i}`);
    const counts = await meter();
    const perJob = (key: string) => (counts[key] ?? 0) / JOBS;
    // Summed before dividing, so the figure is exact.
    const overShards = (what: string) =>
      databases(env).shards.reduce((sum, _, k) => sum + (counts[`d1:SHARD_${k}:${what}`] ?? 0), 0) / JOBS;
    const shardTrips = overShards("round_trips");
    expect({
      shardRoundTrips: shardTrips,
      controlRoundTrips: perJob("d1:DB:round_trips"),
      shardStatements: overShards("statements"),
      rowsRead: perJob("d1_rows_read"),
      queueMessages:
        jobQueues(env).reduce((sum, _, k) => sum + perJob(`queue:JOBS_${k}:messages`), 0) +
        perJob("queue:CALLBACKS:messages"),
      rowsWritten: perJob("d1_rows_written"),
      // The rate limiter's leases follow the clock (one per isolate per 2 s at most), not the job.
      doRequests:
        perJob("do:JOB_TRACKER:requests") + perJob("do:ORIGIN_GATE:requests") + perJob("do:TENANT_SLOTS:requests"),
    }).toEqual(budget);
  });
});

describe("a job that takes over an expired job's row (store/jobs.ts reuseExpiredJob)", () => {
  it("writes the rows an inserted job writes, and leaves the expired job no delete to pay", async () => {
    const tenant = await createTenant();
    await runOneJob(tenant, "/ok/reuse-warmup");
    // Expired jobs of the tenant on every shard, more than the jobs to come could take over on one.
    const now = Date.now();
    const expired = await Promise.all(
      databases(env).shards.flatMap((db) =>
        Array.from({ length: JOBS }, () => storeEndedJob(db, tenant.tenantId, now, 8 * 86_400_000)),
      ),
    );
    const rowsOfTenant = async () =>
      (
        await Promise.all(
          databases(env).shards.map((db) =>
            db
              .prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ?")
              .bind(tenant.tenantId)
              .first<{ n: number }>(),
          ),
        )
      ).reduce((sum, row) => sum + (row?.n ?? 0), 0);
    const before = await rowsOfTenant();
    await call("/__metrics/reset", { method: "POST" });
    for (let i = 0; i < JOBS; i++) await runOneJob(tenant, `/ok/reuse-${i}`);
    const counts = await meter();
    expect((counts.d1_rows_written ?? 0) / JOBS).toBe(budget.rowsWritten);
    // Each new job is stored in an expired job's row: the tenant has as many rows as before.
    expect(await rowsOfTenant()).toBe(before);
    expect(expired.length).toBe(databases(env).shards.length * JOBS);
  });
});

describe("finding a job by its key (tenant, status, id)", () => {
  it("reads as many rows to cancel, to watch, to wake and to hear from a job however many tenants the shard lists: its tracker is told the tenant, or keeps it beside its alarm", async () => {
    /** D1 rows read by a cancel of a waiting job, then a watch of it (its stream ends at once: the job is canceled). */
    const cancelAndWatch = async (tenant: TestTenant) => {
      const job = await submit(tenant, { type: "echo", delay_seconds: 3600 });
      await call("/__metrics/reset", { method: "POST" });
      expect((await postJson(tenant, `/v1/jobs/${job.id}/cancel`, {})).status).toBe(200);
      const stream = await authed(tenant, `/v1/jobs/${job.id}/events`);
      expect(await stream.text()).toContain('"status":"canceled"');
      return (await meter()).d1_rows_read;
    };
    /** D1 rows read by the alarm of a job delayed past a queue message's 24 h, run in a fresh instance of its tracker. */
    const wake = async (tenant: TestTenant) => {
      const job = await submit(tenant, { type: "echo", delay_seconds: 3 * 86_400 });
      const stub = tracker(job.id);
      const alarmAt = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
      expect(alarmAt).not.toBeNull();
      await evictDurableObject(stub);
      await call("/__metrics/reset", { method: "POST" });
      await at(alarmAt as number, () => runDurableObjectAlarm(stub));
      return (await meter()).d1_rows_read;
    };
    /** D1 rows read by a running attempt's heartbeat, then its outcome, each told to a fresh instance (a deploy). */
    const restartedWhileRunning = async (tenant: TestTenant) => {
      const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
      await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
      const stub = tracker(job.id);
      expect((await stub.begin(tenant.tenantId)).kind).toBe("run");
      await evictDurableObject(stub);
      await call("/__metrics/reset", { method: "POST" });
      await stub.heartbeat(1, tenant.tenantId);
      await evictDurableObject(stub);
      await stub.complete(1, { ok: true, resultJson: "1", resultKey: null }, tenant.tenantId);
      return (await meter()).d1_rows_read;
    };
    const all = async (tenant: TestTenant) => ({
      cancelAndWatch: await cancelAndWatch(tenant),
      wake: await wake(tenant),
      restartedWhileRunning: await restartedWhileRunning(tenant),
    });
    const tenant = await createTenant();
    await cancelAndWatch(tenant); // the isolate learns the key
    const before = await all(tenant);
    // A tracker that probed every tenant of the shard (six probes each) would read at least 240 rows more.
    for (let i = 0; i < 40; i++) await createTenant();
    expect(await all(tenant)).toEqual(before);
  });
});

describe("a slow receiver and the job consumers", () => {
  it("sends a slow origin's callbacks through the callbacks queue, so no job consumer waits for it", async () => {
    const tenant = await createTenant();
    // The first callback teaches the origin's gate that it is slow (1.2 s to answer).
    await runOneJob(tenant, "/slow/1200/first");
    await call("/__metrics/reset", { method: "POST" });
    await runOneJob(tenant, "/slow/1200/second");
    const counts = await meter();
    expect(counts["queue:CALLBACKS:messages"]).toBe(1);
  });
});
