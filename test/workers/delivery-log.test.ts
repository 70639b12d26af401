import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { shardInId } from "../../src/platform/ids";
import { type HeldEventKey, materializeHeldEvents } from "../../src/store/held-events";
import { type DeliveryRecord, type EventAfterAttempt, recordAttempt } from "../../src/store/webhook-events";
import { describeDeliveries } from "../../src/webhooks/delivery-log";
import { authed, createTenant, dbOf, errorOf, eventually, submit, type TestTenant } from "./helpers";
import { deliveriesOf, insertLoggedAttempt, receivedOn, storedEvent, unique } from "./webhook-helpers";

/**
 * The delivery log as the API shows it, with each event's first attempt on
 * the event's own row (migration 0013) and later ones as log rows: every
 * reader merges the two, so the routes show what they showed before.
 */

/** How many attempts of the job's events are delivery log rows (the rest are on the events' rows). */
const logRows = async (jobId: string) =>
  (
    await dbOf(jobId)
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?")
      .bind(jobId)
      .first<{ n: number }>()
  )?.n;

/** An attempt of `eventId` (job `jobId`) to record through the store, as the callbacks consumer records one. */
const attemptOf = (tenant: TestTenant, jobId: string, eventId: string, fields: Partial<DeliveryRecord>) => ({
  eventId,
  jobId,
  tenantId: tenant.tenantId,
  trigger: "scheduled" as const,
  attemptedAt: Date.now(),
  durationMs: 5,
  httpStatus: 500,
  error: null,
  responseBody: null,
  nextAttemptAt: null,
  ...fields,
});

const recorded = (db: D1Database, attempt: DeliveryRecord, after: Partial<EventAfterAttempt>) =>
  recordAttempt(db, attempt, {
    status: "failed",
    scheduledAttempt: 1,
    endsRedelivery: false,
    now: Date.now(),
    ...after,
  });

interface Failing {
  events: {
    id: string;
    status: string;
    attempts: number;
    last_attempt: {
      attempted_at: string;
      http_status: number | null;
      error: string | null;
      response_body: string | null;
    };
  }[];
  next_cursor: string | null;
}

describe("delivery log", () => {
  it("shows a first attempt that failed (on the event's row) and its retry that succeeded (logged), in order, with each one's fields", async () => {
    const tenant = await createTenant();
    const path = `/flaky/1/${unique()}`;
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.events[0]?.status === "delivered",
    );
    expect(log.events).toMatchObject([{ type: "job.succeeded", status: "delivered", attempts: 2 }]);
    const [first, second] = log.deliveries;
    expect(log.deliveries).toHaveLength(2);
    expect(first).toMatchObject({
      event_id: log.events[0]?.id,
      event_type: "job.succeeded",
      attempt: 1,
      trigger: "scheduled",
      http_status: 500,
      error: null,
    });
    // Its retry was scheduled (1 s later on the test schedule); the retry ended the event.
    expect(Date.parse(first?.next_attempt_at as string)).toBeGreaterThan(Date.parse(first?.attempted_at as string));
    expect(first?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(second).toMatchObject({ attempt: 2, trigger: "scheduled", http_status: 204, next_attempt_at: null });
    expect(Date.parse(second?.attempted_at as string)).toBeGreaterThanOrEqual(
      Date.parse(first?.attempted_at as string),
    );
    // Attempt 1 wrote no log row; the retry did.
    expect(await logRows(job.id)).toBe(1);
    // Another tenant sees nothing of it.
    const other = await createTenant();
    expect(await errorOf(await authed(other, `/v1/jobs/${job.id}/deliveries`))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("shows a redelivered event's first attempt (from its row) and the redelivery (logged) as attempts 1 and 2", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
    const delivered = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.events[0]?.status === "delivered",
    );
    const eventId = delivered.events[0]?.id as string;
    const sent = await authed(tenant, `/v1/jobs/${job.id}/deliveries/${eventId}/redeliver`, { method: "POST" });
    expect(sent.status).toBe(202);
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.deliveries.length === 2,
    );
    expect(log.deliveries.map((d) => [d.event_id, d.attempt, d.trigger, d.http_status])).toEqual([
      [eventId, 1, "scheduled", 204],
      [eventId, 2, "manual", 204],
    ]);
    expect(log.events).toMatchObject([{ id: eventId, status: "delivered", attempts: 2 }]);
    expect(await receivedOn(path)).toHaveLength(2);
    expect(await logRows(job.id)).toBe(1);
  });

  it("shows an event recorded before migration 0013 (attempt 1 in the log) once, and numbers its redelivery 2", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    const db = dbOf(eventId);
    const attemptedAt = Date.now() - 60_000;
    await db.batch([
      insertLoggedAttempt(db, {
        ...attemptOf(tenant, jobId, eventId, { attemptedAt, httpStatus: 503, responseBody: "busy" }),
        nextAttemptAt: attemptedAt + 5_000,
        attempt: 1,
      }),
      db
        .prepare("UPDATE webhook_events SET attempts = 1, next_attempt_at = ? WHERE id = ?")
        .bind(attemptedAt + 5_000, eventId),
    ]);
    const before = await deliveriesOf(tenant, jobId);
    expect(before.deliveries).toEqual([
      {
        event_id: eventId,
        event_type: "job.succeeded",
        attempt: 1,
        trigger: "scheduled",
        attempted_at: new Date(attemptedAt).toISOString(),
        duration_ms: 5,
        http_status: 503,
        error: null,
        response_body: "busy",
        next_attempt_at: new Date(attemptedAt + 5_000).toISOString(),
      },
    ]);
    expect(before.events).toMatchObject([{ id: eventId, attempts: 1 }]);
    expect((await authed(tenant, `/v1/jobs/${jobId}/deliveries/${eventId}/redeliver`, { method: "POST" })).status).toBe(
      202,
    );
    const after = await eventually(
      () => deliveriesOf(tenant, jobId),
      (d) => d.deliveries.length === 2,
    );
    expect(after.deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([
      [1, "scheduled", 503],
      [2, "manual", 204],
    ]);
    // The event's row never took an attempt: its attempt 1 was logged already.
    const row = await db.prepare("SELECT first_attempted_at FROM webhook_events WHERE id = ?").bind(eventId).first();
    expect(row).toEqual({ first_attempted_at: null });
    expect(await logRows(jobId)).toBe(2);
  });

  it("takes attempt 1 for exactly one of two attempts recorded in one transaction, and logs the other as attempt 2", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    const db = dbOf(eventId);
    const now = Date.now();
    await db.batch([
      ...recorded(db, attemptOf(tenant, jobId, eventId, { attemptedAt: now, httpStatus: 500 }), {
        status: "pending",
      }),
      ...recorded(db, attemptOf(tenant, jobId, eventId, { attemptedAt: now + 1, trigger: "manual", httpStatus: 204 }), {
        status: "delivered",
        endsRedelivery: true,
      }),
    ]);
    const log = await deliveriesOf(tenant, jobId);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([
      [1, "scheduled", 500],
      [2, "manual", 204],
    ]);
    expect(log.events).toMatchObject([{ status: "delivered", attempts: 2 }]);
    expect(await logRows(jobId)).toBe(1);
  });

  it("lists an event's attempts by number, also when attempt 1 ended after attempt 2", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    const db = dbOf(eventId);
    const t = Date.now() - 60_000;
    const base = { eventId, jobId, tenantId: tenant.tenantId, error: null, responseBody: null, nextAttemptAt: null };
    // A manual redelivery ending at t+400 is recorded first (attempt 1); the scheduled attempt that ended at t+200
    // a moment later (attempt 2).
    const manual: DeliveryRecord = {
      ...base,
      trigger: "manual",
      attemptedAt: t + 300,
      durationMs: 100,
      httpStatus: 500,
    };
    await db.batch(
      recordAttempt(db, manual, { status: null, scheduledAttempt: 1, endsRedelivery: true, now: t + 400 }),
    );
    const scheduled: DeliveryRecord = {
      ...base,
      trigger: "scheduled",
      attemptedAt: t,
      durationMs: 200,
      httpStatus: 204,
    };
    await db.batch(
      recordAttempt(db, scheduled, { status: "delivered", scheduledAttempt: 1, endsRedelivery: false, now: t + 200 }),
    );
    const log = await deliveriesOf(tenant, jobId);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger])).toEqual([
      [1, "manual"],
      [2, "scheduled"],
    ]);
  });

  it("lists failing callbacks page by page, each with its latest attempt wherever it is stored", async () => {
    const tenant = await createTenant();
    const hook = `${env.RECEIVER_URL}/status/500/${unique()}`;
    const now = Date.now();
    // Oldest: recorded before migration 0013, its one attempt in the log.
    const legacy = await storedEvent(tenant, hook);
    const legacyDb = dbOf(legacy.eventId);
    await legacyDb.batch([
      insertLoggedAttempt(legacyDb, {
        ...attemptOf(tenant, legacy.jobId, legacy.eventId, { attemptedAt: now - 3_000, error: "legacy" }),
        attempt: 1,
      }),
      legacyDb.prepare("UPDATE webhook_events SET status = 'failed', attempts = 1 WHERE id = ?").bind(legacy.eventId),
    ]);
    // Failed at its first attempt: the attempt is on the event's row.
    const once = await storedEvent(tenant, hook);
    await dbOf(once.eventId).batch(
      recorded(
        dbOf(once.eventId),
        attemptOf(tenant, once.jobId, once.eventId, { attemptedAt: now - 2_000, error: "once" }),
        {},
      ),
    );
    // Failed at its second: the first on the row, the second (the latest) in the log.
    const twice = await storedEvent(tenant, hook);
    const twiceDb = dbOf(twice.eventId);
    await twiceDb.batch([
      ...recorded(
        twiceDb,
        attemptOf(tenant, twice.jobId, twice.eventId, { attemptedAt: now - 1_500, error: "first" }),
        {
          status: "pending",
        },
      ),
      ...recorded(
        twiceDb,
        attemptOf(tenant, twice.jobId, twice.eventId, { attemptedAt: now - 1_000, error: "second" }),
        {
          scheduledAttempt: 2,
        },
      ),
    ]);

    const seen: Failing["events"] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: Failing = await (
        await authed(tenant, `/v1/failing-deliveries?limit=1${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      expect(page.events.length).toBeLessThanOrEqual(1);
      seen.push(...page.events);
      cursor = page.next_cursor;
    }
    expect(seen.map((e) => [e.id, e.status, e.attempts, e.last_attempt.error])).toEqual([
      [twice.eventId, "failed", 2, "second"],
      [once.eventId, "failed", 1, "once"],
      [legacy.eventId, "failed", 1, "legacy"],
    ]);
    expect(seen.map((e) => e.last_attempt.attempted_at)).toEqual(
      [now - 1_000, now - 2_000, now - 3_000].map((t) => new Date(t).toISOString()),
    );
    expect((await deliveriesOf(tenant, twice.jobId)).deliveries.map((d) => [d.attempt, d.error])).toEqual([
      [1, "first"],
      [2, "second"],
    ]);
  });
});

describe("the delivery log of an event held on its job's row", () => {
  it("shows the event and its attempt once when the event gets a row of its own between the job's read and the log's", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}/ok/${unique()}` });
    const db = dbOf(job.id);
    const heldRow = await eventually(
      () =>
        db
          .prepare("SELECT event_id, event_attempted_at FROM jobs WHERE tenant_id = ? AND id = ?")
          .bind(tenant.tenantId, job.id)
          .first<{ event_id: string; event_attempted_at: number | null }>(),
      (row) => row?.event_attempted_at != null,
    );
    const key = { tenantId: tenant.tenantId, jobId: job.id, status: "succeeded", eventId: heldRow?.event_id as string };
    // A redelivery (or the sweep) gives the event its row once the route has read the job, before it reads the log.
    let given = false;
    const givingFirst = new Proxy(db, {
      get(target, name) {
        if (name === "prepare")
          return (query: string) => {
            if (!given && /FROM webhook_events/.test(query)) {
              given = true;
              return { bind: (...values: unknown[]) => giveRowThen(target.prepare(query).bind(...values)) };
            }
            return target.prepare(query);
          };
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const giveRowThen = (statement: D1PreparedStatement) => ({
      all: async () => {
        await db.batch(materializeHeldEvents(db, [key as HeldEventKey]));
        return statement.all();
      },
    });
    const log = await describeDeliveries(
      { ...env, [`SHARD_${shardInId(job.id)}`]: givingFirst } as Env,
      tenant.tenantId,
      job.id,
    );

    expect(given).toBe(true);
    expect(log.events.map((e) => [e.id, e.status, e.attempts])).toEqual([[key.eventId, "delivered", 1]]);
    expect(log.deliveries.map((d) => [d.event_id, d.attempt])).toEqual([[key.eventId, 1]]);
  });
});
