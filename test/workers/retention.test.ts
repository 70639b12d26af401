import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config";
import worker from "../../src/index";
import { jobRoundMaxStatements, purgeDatabase, purgeExpired, retentionBudget } from "../../src/jobs/retention";
import { limits } from "../../src/limits";
import { newId } from "../../src/platform/ids";
import { metered, readMeter, resetMeter } from "../../src/platform/metering";
import { inputKey, logKey, resultKey } from "../../src/store/blobs";
import { databases } from "../../src/store/databases";
import { materializeHeldEvents, recordHeldDelivery } from "../../src/store/held-events";
import { insertJob, listStrandedJobs, updateJob } from "../../src/store/jobs";
import { fromStart, listExpiredJobs } from "../../src/store/retention";
import {
  type DeliveryRecord,
  insertWebhookEvent,
  listJobDeliveries,
  recordAttempt,
} from "../../src/store/webhook-events";
import { jobRecord } from "../support/job-record";
import {
  at,
  authed,
  countingReads,
  createTenant,
  dbOf,
  eventually,
  madeAt,
  onEveryShard,
  postJson,
  submit,
  type TestTenant,
  untilStatus,
} from "./helpers";
import { insertLoggedAttempt } from "./webhook-helpers";

const DAY = 86_400_000;
const age = (table: string, column: string, where: string, id: string, byMs: number) =>
  dbOf(id).prepare(`UPDATE ${table} SET ${column} = ${column} - ? WHERE ${where} = ?`).bind(byMs, id).run();

const count = async (sql: string, id: string) => (await dbOf(id).prepare(sql).bind(id).first<{ n: number }>())?.n ?? 0;

/**
 * What is stored of a job: its row, its R2 input and result, its webhook
 * events and delivery attempts, each on a row of its own or held on the
 * job's row (store/held-events.ts).
 */
async function stored(id: string) {
  const held = (column: string) => count(`SELECT COUNT(*) AS n FROM jobs WHERE id = ? AND ${column} IS NOT NULL`, id);
  return {
    job: await count("SELECT COUNT(*) AS n FROM jobs WHERE id = ?", id),
    input: (await env.BLOBS.list({ prefix: `inputs/${id}` })).objects.length,
    result: (await env.BLOBS.list({ prefix: `results/${id}/` })).objects.length,
    events: (await count("SELECT COUNT(*) AS n FROM webhook_events WHERE job_id = ?", id)) + (await held("event_id")),
    deliveries: (await listJobDeliveries(dbOf(id), id)).length + (await held("event_attempted_at")),
  };
}
const everything = { job: 1, input: 1, result: 1, events: 1, deliveries: 1 };
const nothing = { job: 0, input: 0, result: 0, events: 0, deliveries: 0 };

/**
 * How far ahead of the real clock the sweeps of jobs made through the API run:
 * a job's id says when it was made, and retention finds an expired job by its
 * id (src/store/retention.ts), so a job that finished days before a sweep must
 * have been made days before it too.
 */
const AHEAD = 400 * DAY;
const ahead = () => Date.now() + AHEAD;

/**
 * A job with an input and result in R2 and a delivered callback, made to look
 * finished `agoMs` before a sweep at `ahead()` (`agoMs` ≤ `AHEAD`).
 */
async function finishedJob(tenant: TestTenant, agoMs: number): Promise<string> {
  const job = await submit(tenant, {
    type: "echo",
    input: { big: "o".repeat(70 * 1024) },
    callback_url: `${env.RECEIVER_URL}/ok/${crypto.randomUUID()}`,
  });
  await untilStatus(tenant, job.id, "succeeded");
  await eventually(
    () => stored(job.id),
    (s) => s.deliveries > 0,
  );
  expect(await stored(job.id)).toEqual(everything);
  await age("jobs", "finished_at", "id", job.id, agoMs - AHEAD);
  return job.id;
}

/** The minute's cron at `now` (ms), with RETENTION_DAYS as given (wrangler.toml's "7" when undefined). */
const sweepWith = (retentionDays: string | undefined, now: number) =>
  at(now, () =>
    worker.scheduled(createScheduledController(), {
      ...env,
      ...(retentionDays === undefined ? {} : { RETENTION_DAYS: retentionDays }),
    }),
  );

afterEach(() => {
  vi.restoreAllMocks();
});

describe("retention", () => {
  it("deletes finished jobs after the default 7 days, with their R2 objects and delivery logs", async () => {
    expect(parseConfig({}).retentionMs).toBe(7 * DAY);
    const tenant = await createTenant();
    const old = await finishedJob(tenant, 8 * DAY);
    const recent = await finishedJob(tenant, 6 * DAY);
    const waiting = await submit(tenant, { type: "echo", delay_seconds: 3600 });
    await age("jobs", "created_at", "id", waiting.id, 60 * DAY);

    await sweepWith(undefined, ahead());

    expect(await stored(old)).toEqual(nothing);
    expect((await authed(tenant, `/v1/jobs/${old}`)).status).toBe(404);
    expect(await stored(recent)).toEqual(everything);
    expect((await authed(tenant, `/v1/jobs/${waiting.id}`)).status).toBe(200);
  });

  it("follows RETENTION_DAYS: with 1 day, jobs finished 1.5 days ago go and those finished 0.5 days ago stay", async () => {
    const tenant = await createTenant();
    const older = await finishedJob(tenant, 1.5 * DAY);
    const younger = await finishedJob(tenant, 0.5 * DAY);

    await sweepWith("1", ahead());

    expect(await stored(older)).toEqual(nothing);
    expect(await stored(younger)).toEqual(everything);
  });

  it("takes a fraction of a day", async () => {
    const tenant = await createTenant();
    const older = await finishedJob(tenant, 0.75 * DAY);
    const younger = await finishedJob(tenant, 0.25 * DAY);

    await sweepWith("0.5", ahead());

    expect(parseConfig({ RETENTION_DAYS: "0.5" }).retentionMs).toBe(DAY / 2);
    expect(await stored(older)).toEqual(nothing);
    expect(await stored(younger)).toEqual(everything);
  });

  it("keeps a job whose row holds its callback's owed first attempt, however short RETENTION_DAYS is", async () => {
    const tenant = await createTenant();
    const id = await finishedJob(tenant, 0.75 * DAY);
    // The job consumer died before recording its first attempt: the job stays at its owed status.
    await dbOf(id)
      .prepare("UPDATE jobs SET status = 'succeeded:owed', event_attempted_at = NULL WHERE id = ?")
      .bind(id)
      .run();

    // Retention alone does not read the owed statuses' ranges of the key.
    await purgeExpired({ ...env, RETENTION_DAYS: "0.5" }, ahead());
    expect(await stored(id)).toMatchObject({ job: 1, events: 1 });

    await sweepWith("0.5", ahead());
    // Kept; the sweep gave the overdue event a row of its own, pending, for the callbacks queue.
    expect(await stored(id)).toMatchObject({ job: 1, events: 1, deliveries: 0 });
    expect(await count("SELECT COUNT(*) AS n FROM jobs WHERE id = ? AND status = 'succeeded'", id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM webhook_events WHERE job_id = ? AND status = 'pending'", id)).toBe(1);

    await dbOf(id).prepare("UPDATE webhook_events SET status = 'failed' WHERE job_id = ?").bind(id).run();
    await sweepWith("0.5", ahead());
    expect(await stored(id)).toEqual(nothing);
  });

  it("keeps a job while its callback is still pending, however short RETENTION_DAYS is, and deletes it once the event settles", async () => {
    const tenant = await createTenant();
    const id = await finishedJob(tenant, 0.75 * DAY);
    // A first attempt that failed gives the event a row of its own (store/held-events.ts), where its retries go.
    const { event_id: eventId } = (await dbOf(id).prepare("SELECT event_id FROM jobs WHERE id = ?").bind(id).first<{
      event_id: string;
    }>()) as { event_id: string };
    const key = { tenantId: tenant.tenantId, jobId: id, status: "succeeded", eventId } as const;
    await dbOf(id).batch(materializeHeldEvents(dbOf(id), [key]));
    const setEvent = (status: string) =>
      dbOf(id).prepare("UPDATE webhook_events SET status = ? WHERE job_id = ?").bind(status, id).run();
    await setEvent("pending"); // a retry still to come (the schedule runs for about 28 h)

    await sweepWith("0.5", ahead());
    expect(await stored(id)).toEqual(everything);

    await setEvent("failed"); // its attempts used up
    await sweepWith("0.5", ahead());
    expect(await stored(id)).toEqual(nothing);
  });

  it("deletes no job, and logs an error on every sweep, while RETENTION_DAYS is not a positive number", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const value of ["-1", "0", "", "thirty", "NaN", "Infinity", "1e308"]) {
      expect(parseConfig({ RETENTION_DAYS: value }).retentionMs, value).toBeNull();
    }
    expect(errors).toHaveBeenCalledTimes(7);
    expect(String(errors.mock.calls[0]?.[0])).toContain("RETENTION_DAYS");
    const tenant = await createTenant();
    const job = await finishedJob(tenant, 400 * DAY);
    errors.mockClear();
    await sweepWith("-1", ahead());
    await sweepWith("-1", ahead());
    expect(await stored(job)).toEqual(everything);
    const aboutRetention = errors.mock.calls.filter((call) => String(call[0]).includes("RETENTION_DAYS"));
    expect(aboutRetention.length).toBeGreaterThanOrEqual(2);
  });

  it("forgets idempotency keys after their 24 h", async () => {
    const tenant = await createTenant();
    await postJson(tenant, "/v1/jobs", { type: "echo", delay_seconds: 60 }, { "idempotency-key": "old-key" });
    await postJson(tenant, "/v1/jobs", { type: "echo", delay_seconds: 60 }, { "idempotency-key": "new-key" });
    await onEveryShard((db) =>
      db
        .prepare("UPDATE idempotency_keys SET created_at = created_at - ? WHERE tenant_id = ? AND key = ?")
        .bind(DAY + 1, tenant.tenantId, "old-key")
        .run(),
    );
    const purged = await purgeExpired(env, Date.now());
    expect(purged.keys).toBe(1);
    const keys = await onEveryShard((db) =>
      db.prepare("SELECT key FROM idempotency_keys WHERE tenant_id = ?").bind(tenant.tenantId).all<{ key: string }>(),
    );
    expect(keys.flatMap((r) => r.results).map((r) => r.key)).toEqual(["new-key"]);
  });

  it("deletes 3,000 expired jobs with their events, deliveries and R2 objects in one sweep, and keeps the rest", async () => {
    const tenant = await createTenant();
    const expired = await insertJobs(tenant.tenantId, 3000, 8 * DAY);
    const unexpired = await insertJobs(tenant.tenantId, 30, 6 * DAY);
    const unfinished = await insertJobs(tenant.tenantId, 30, null);
    expect(await countStored(expired)).toEqual(inserted(expired));

    await sweepWith(undefined, Date.now());

    expect(await countStored(expired)).toEqual({ jobs: 0, events: 0, deliveries: 0, objects: 0 });
    expect(await countStored(unexpired)).toEqual(inserted(unexpired));
    expect(await countStored(unfinished)).toEqual(inserted(unfinished));
    await sweepWith(undefined, Date.now());
    expect(await countStored(unexpired)).toEqual(inserted(unexpired));
  }, 60_000);

  it("stops when its budget is spent, leaving every job it did not delete whole, and goes on at the next sweep", async () => {
    const tenant = await createTenant();
    const expired = await insertJobs(tenant.tenantId, 2500, 8 * DAY);
    const now = Date.now();

    const shard = databases(env).shards[0] as D1Database;
    // One round's most statements: it lists again, but cannot afford a second round's deletes.
    const oneRound = { ...retentionBudget(now), statements: jobRoundMaxStatements };
    const first = await purgeDatabase(shard, env.BLOBS, now, 7 * DAY, oneRound);

    expect(first).toMatchObject({ jobs: limits.retentionChunk, complete: false });
    const left = await countStored(expired);
    expect(left.jobs).toBe(2500 - limits.retentionChunk);
    // What is left is whole: each remaining job still has its event, its attempt and its R2 objects.
    const remaining = await onEveryShard((db) =>
      db.prepare("SELECT id FROM jobs WHERE tenant_id = ?").bind(tenant.tenantId).all<{ id: string }>(),
    );
    expect(left).toEqual(inserted({ ...expired, ids: remaining.flatMap((r) => r.results).map((r) => r.id) }));

    const second = await purgeExpired(env, now);
    expect(second).toMatchObject({ jobs: 2500 - limits.retentionChunk, complete: true });
    expect(await countStored(expired)).toEqual({ jobs: 0, events: 0, deliveries: 0, objects: 0 });
  }, 60_000);

  it("never overruns its statement budget, however many databases it purges at once", async () => {
    const tenant = await createTenant();
    await insertJobs(tenant.tenantId, 300, 8 * DAY, { objects: false });
    const now = Date.now();
    resetMeter();
    await purgeExpired(metered({ ...env, METERING: "true" }), now, {
      ...retentionBudget(now),
      statements: jobRoundMaxStatements,
    });
    const statements = Object.entries(readMeter())
      .filter(([name]) => /^d1:.*:statements$/.test(name))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(statements).toBeLessThanOrEqual(jobRoundMaxStatements);
  });

  it("reads each job made before the cutoff once a sweep, not once a round", async () => {
    const tenant = await createTenant();
    // Long-delayed jobs made 40 days ago and still waiting: below every expired id, in every round's range.
    const waiting = await insertJobs(tenant.tenantId, 2000, null, { objects: false });
    const expired = await insertJobs(tenant.tenantId, 2500, 8 * DAY, { objects: false });
    const shard = databases(env).shards[0] as D1Database;
    const now = Date.now();
    // These, and what earlier tests left.
    const madeBefore = await shard
      .prepare("SELECT COUNT(*) AS n FROM jobs WHERE created_at < ?")
      .bind(now - 7 * DAY)
      .first<number>("n");
    const read = { rows: 0 };
    const purged = await purgeDatabase(countingReads(shard, read), env.BLOBS, now, 7 * DAY, retentionBudget(now));
    expect(purged.jobs).toBeGreaterThanOrEqual(expired.ids.length);
    expect(madeBefore).toBeGreaterThanOrEqual(waiting.ids.length + expired.ids.length);
    // Each read once, and a row per round (3 or 4) where its scan stops; and for each expired job, the look for
    // a pending event when it is listed and when it is deleted (a probe of the events' key for each unsettled status).
    expect(read.rows).toBeLessThanOrEqual((madeBefore ?? 0) + 5 + 4 * purged.jobs);
  }, 120_000);

  it("writes 1 D1 row to delete a job whose row held its event, delivered at its first attempt; 2 with an event row; 3 if logged before migration 0013", async () => {
    const tenant = await createTenant();
    const held = await insertJobs(tenant.tenantId, 300, 8 * DAY, { objects: false, held: true });
    const purgedHeld = await purgeExpired(env, Date.now());
    expect(purgedHeld.jobs).toBe(300);
    expect(purgedHeld.rowsWritten / purgedHeld.jobs).toBeLessThanOrEqual(1);
    expect(await countStored(held)).toEqual({ jobs: 0, events: 0, deliveries: 0, objects: 0 });
    await insertJobs(tenant.tenantId, 300, 8 * DAY, { objects: false });
    const purged = await purgeExpired(env, Date.now());
    expect(purged.jobs).toBe(300);
    expect(purged.rowsWritten / purged.jobs).toBeLessThanOrEqual(2);
    // Events recorded before migration 0013 have their first attempt in the delivery log: it goes too.
    const older = await insertJobs(tenant.tenantId, 300, 8 * DAY, { objects: false, preMigration0013: true });
    expect((await countStored(older)).deliveries).toBe(300);
    const purgedOlder = await purgeExpired(env, Date.now());
    expect(purgedOlder.jobs).toBe(300);
    expect(purgedOlder.rowsWritten / purgedOlder.jobs).toBeLessThanOrEqual(3);
    expect(await countStored(older)).toEqual({ jobs: 0, events: 0, deliveries: 0, objects: 0 });
  });

  it("reads only the jobs made before the cutoff to find expired ones, never the jobs made since", async () => {
    const tenant = await createTenant();
    const expired = await insertJobs(tenant.tenantId, 50, 8 * DAY, { objects: false });
    const unfinished = await insertJobs(tenant.tenantId, 20, null, { objects: false });
    // Made and finished now: a scan of the whole table would read them all.
    await insertJobs(tenant.tenantId, 2000, 0, { objects: false, madeAgoMs: 0 });
    const shard = databases(env).shards[0] as D1Database;
    const before = Date.now() - 7 * DAY;
    // The jobs made before the cutoff: these, the unfinished ones and those earlier tests left.
    const madeBefore = await shard
      .prepare("SELECT COUNT(*) AS n FROM jobs WHERE created_at < ?")
      .bind(before)
      .first<number>("n");
    const read = { rows: 0 };

    const listed = await listExpiredJobs(countingReads(shard, read), before, fromStart, limits.retentionChunk);

    expect(listed.map((job) => job.id)).toEqual([...expired.ids].sort());
    expect(madeBefore).toBeGreaterThanOrEqual(expired.ids.length + unfinished.ids.length);
    // Those, the first row past them, where the scan stops, and each expired job's look for a pending event.
    expect(read.rows).toBeLessThanOrEqual((madeBefore ?? 0) + 1 + 2 * expired.ids.length);
  }, 60_000);

  it("reads no row of a tenant without jobs on the database, nor does the sweep's look for stranded jobs: 1,000 more tenants read nothing more", async () => {
    const shard = databases(env).shards[0] as D1Database;
    const now = Date.now();
    const readsOfAList = async () => {
      const expired = { rows: 0 };
      await listExpiredJobs(countingReads(shard, expired), now - 7 * DAY, fromStart, limits.retentionChunk);
      const stranded = { rows: 0 };
      await listStrandedJobs(countingReads(shard, stranded), now, limits.enqueueGraceSeconds * 1000, limits.sweepBatch);
      return { expired: expired.rows, stranded: stranded.rows };
    };
    await createTenant();
    const reads = await readsOfAList();
    await onEveryShard(async (db) => {
      const tenants = Array.from({ length: 1000 }, (_, i) =>
        db
          .prepare("INSERT INTO tenants (id, webhook_secret, created_at) VALUES (?, 'whsec_x', 0)")
          .bind(`ten_nojobs${String(i).padStart(4, "0")}`),
      );
      await db.batch(tenants);
    });
    expect(await readsOfAList()).toEqual(reads);
  });

  it("deletes the log objects of exactly the jobs it deletes, when two sweeps overlap on jobs that finished at once", async () => {
    const tenant = await createTenant();
    const jobs = await insertJobs(tenant.tenantId, 2500, 8 * DAY);
    const db = databases(env).shards[0] as D1Database;
    const finishedAt = Date.now() - 8 * DAY;
    await db.prepare("UPDATE jobs SET finished_at = ? WHERE tenant_id = ?").bind(finishedAt, tenant.tenantId).run();
    for (let i = 0; i < jobs.ids.length; i += 50) {
      await Promise.all(jobs.ids.slice(i, i + 50).map((id) => env.BLOBS.put(logKey(id, 1), "{}")));
    }
    const now = Date.now();
    const oneRound = () =>
      purgeDatabase(db, env.BLOBS, now, 7 * DAY, { ...retentionBudget(now), statements: jobRoundMaxStatements });

    await Promise.all([oneRound(), oneRound()]);

    const { results } = await db
      .prepare("SELECT id FROM jobs WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .all<{ id: string }>();
    const left = new Set(results.map((r) => r.id));
    const logged = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await env.BLOBS.list({ prefix: "logs/", ...(cursor ? { cursor } : {}) });
      for (const object of page.objects) logged.add(object.key.split("/")[1] as string);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    expect(left.size).toBeGreaterThan(0);
    expect(jobs.ids.filter((id) => logged.has(id) && !left.has(id))).toEqual([]);
    expect([...left].filter((id) => !logged.has(id))).toEqual([]);
  }, 60_000);
});

interface InsertedJobs {
  tenantId: string;
  ids: string[];
  /** R2 keys, by the job that points at them. */
  objects: Map<string, string[]>;
}

/**
 * `count` jobs of `tenantId`, inserted through the store on shard 0, many to a batch:
 * made `madeAgoMs` ago (40 days unless given), finished `finishedAgoMs` ago (null: unfinished, due in a day) with one
 * delivered event and its attempt each (on the event's row, as recorded
 * now; with `preMigration0013`, as a delivery log row, as recorded before
 * migration 0013); unless `objects` is false, every 10th has its input in
 * R2 and every 15th its result.
 */
async function insertJobs(
  tenantId: string,
  count: number,
  finishedAgoMs: number | null,
  { objects = true, preMigration0013 = false, madeAgoMs = 40 * DAY, held = false } = {},
): Promise<InsertedJobs> {
  const now = Date.now();
  const created = now - madeAgoMs;
  const result: InsertedJobs = { tenantId, ids: [], objects: new Map() };
  const db = databases(env).shards[0] as D1Database;
  let statements: D1PreparedStatement[] = [];
  for (let i = 0; i < count; i++) {
    const id = madeAt(created, newId.job(0));
    const keys = {
      input: objects && i % 10 === 0 ? inputKey(id) : null,
      result: objects && finishedAgoMs !== null && i % 15 === 0 ? resultKey(id, 1) : null,
    };
    const job = jobRecord(
      {
        id,
        tenantId,
        status: "scheduled",
        inputJson: keys.input ? null : "{}",
        inputKey: keys.input,
        callbackUrl: "https://example.com/hook",
        runAt: finishedAgoMs === null ? now + DAY : created,
      },
      created,
    );
    statements.push(insertJob(db, job));
    const eventId = newId.event(0);
    if (finishedAgoMs !== null) {
      const finishedAt = now - finishedAgoMs;
      const heldEvent = held ? { id: eventId, createdAt: finishedAt, delivered: null } : null;
      statements.push(
        updateJob(
          db,
          {
            ...job,
            status: "succeeded",
            attempts: 1,
            resultJson: keys.result ? null : "{}",
            resultKey: keys.result,
            startedAt: finishedAt - 1000,
            finishedAt,
            version: 2,
            updatedAt: finishedAt,
            heldEvent,
          },
          job,
        ),
      );
      if (held) {
        // Its event held on its row and delivered there (store/held-events.ts): no event row.
        const key = { tenantId, jobId: id, status: "succeeded", eventId } as const;
        statements.push(
          recordHeldDelivery(db, key, { attemptedAt: finishedAt, durationMs: 5, httpStatus: 200, responseBody: null }),
        );
      }
    }
    if (!held)
      statements.push(
        insertWebhookEvent(db, {
          id: eventId,
          tenantId,
          jobId: id,
          type: "job.succeeded",
          payload: "{}",
          payloadFromJob: false,
          callbackUrl: "https://example.com/hook",
          status: preMigration0013 ? "delivered" : "pending",
          attempts: preMigration0013 ? 1 : 0,
          nextAttemptAt: null,
          createdAt: created,
        }),
      );
    const attempt: DeliveryRecord = {
      eventId,
      jobId: id,
      tenantId,
      trigger: "scheduled",
      attemptedAt: created,
      durationMs: 5,
      httpStatus: 200,
      error: null,
      responseBody: null,
      nextAttemptAt: null,
    };
    if (!held)
      statements.push(
        ...(preMigration0013
          ? [insertLoggedAttempt(db, { ...attempt, attempt: 1 })]
          : recordAttempt(db, attempt, {
              status: "delivered",
              scheduledAttempt: 1,
              endsRedelivery: false,
              now: created,
            })),
      );
    const jobObjects = [keys.input, keys.result].filter((key) => key !== null);
    if (jobObjects.length > 0) result.objects.set(id, jobObjects);
    result.ids.push(id);
    if (statements.length >= 2000) {
      await db.batch(statements);
      statements = [];
    }
  }
  if (statements.length > 0) await db.batch(statements);
  const objectKeys = [...result.objects.values()].flat();
  for (let i = 0; i < objectKeys.length; i += 50) {
    await Promise.all(objectKeys.slice(i, i + 50).map((key) => env.BLOBS.put(key, "{}")));
  }
  return result;
}

/** What `jobs` would count if all of them were stored whole. */
function inserted(jobs: InsertedJobs) {
  const objects = jobs.ids.reduce((sum, id) => sum + (jobs.objects.get(id)?.length ?? 0), 0);
  return { jobs: jobs.ids.length, events: jobs.ids.length, deliveries: jobs.ids.length, objects };
}

/** How many of `jobs`, their events, delivery attempts and R2 objects are stored. */
async function countStored(jobs: InsertedJobs) {
  const ids = new Set(jobs.ids);
  const rows = async (table: string, column: string) => {
    const found = await onEveryShard((db) =>
      db.prepare(`SELECT ${column} AS id FROM ${table} WHERE tenant_id = ?`).bind(jobs.tenantId).all<{ id: string }>(),
    );
    return found.flatMap((r) => r.results).filter((r) => ids.has(r.id)).length;
  };
  const attemptsOnEventRows = async () => {
    const found = await onEveryShard((db) =>
      db
        .prepare("SELECT job_id AS id FROM webhook_events WHERE tenant_id = ? AND first_attempted_at IS NOT NULL")
        .bind(jobs.tenantId)
        .all<{ id: string }>(),
    );
    return found.flatMap((r) => r.results).filter((r) => ids.has(r.id)).length;
  };
  const wanted = new Set(jobs.ids.flatMap((id) => jobs.objects.get(id) ?? []));
  let objects = 0;
  for (const prefix of ["inputs/", "results/"]) {
    let cursor: string | undefined;
    do {
      const page = await env.BLOBS.list({ prefix, ...(cursor ? { cursor } : {}) });
      objects += page.objects.filter((o) => wanted.has(o.key)).length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return {
    jobs: await rows("jobs", "id"),
    events: await rows("webhook_events", "job_id"),
    // An attempt is on its event's row (first_attempted_at set) or a delivery log row.
    deliveries: (await rows("webhook_deliveries", "job_id")) + (await attemptsOnEventRows()),
    objects,
  };
}
