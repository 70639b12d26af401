import { createMessageBatch, createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import type { CallbackMessage, Env, JobMessage } from "../../src/env";
import worker from "../../src/index";
import { limits } from "../../src/limits";
import { newId } from "../../src/platform/ids";
import { readMeter, resetMeter } from "../../src/platform/metering";
import { databases } from "../../src/store/databases";
import { listOverdueEvents, postponeEvents } from "../../src/store/overdue-events";
import { claimForDelivery, insertWebhookEvent, recordAttempt } from "../../src/store/webhook-events";
import type { JobTracker } from "../../src/tracker/job-tracker";
import { originOf } from "../../src/webhooks/events";
import {
  authed,
  BASE,
  call,
  createTenant,
  dbOf,
  eventually,
  everyJobQueueAs,
  onEveryDatabase,
  onEveryShard,
  submit,
  type TestTenant,
} from "./helpers";
import { bareEvent, deliveriesOf, deliverMessages, receivedOn, storedEvent, unique } from "./webhook-helpers";

/** Submits an echo job that calls back to `path` on the receiver. */
async function jobCallingBack(tenant: TestTenant, path: string, base = env.RECEIVER_URL) {
  return submit(tenant, { type: "echo", input: path, callback_url: `${base}${path}` });
}

const eventSettled = (tenant: TestTenant, jobId: string) =>
  eventually(
    () => deliveriesOf(tenant, jobId),
    (d) => d.events.length > 0 && d.events.every((e) => e.status !== "pending"),
  );

describe("webhook delivery", () => {
  it("retries a failing receiver on the schedule with the same webhook-id, signed afresh each time", async () => {
    const tenant = await createTenant();
    const path = `/flaky/2/${unique()}`;
    const job = await jobCallingBack(tenant, path);
    const log = await eventSettled(tenant, job.id);
    expect(log.events).toMatchObject([{ type: "job.succeeded", status: "delivered", attempts: 3 }]);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger, d.http_status])).toEqual([
      [1, "scheduled", 500],
      [2, "scheduled", 500],
      [3, "scheduled", 204],
    ]);
    expect(log.deliveries[0]?.next_attempt_at).not.toBeNull();
    expect(log.deliveries[2]?.next_attempt_at).toBeNull();
    const requests = await receivedOn(path);
    expect(new Set(requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([log.events[0]?.id]));
    for (const request of requests) new Webhook(tenant.webhookSecret).verify(request.body, request.headers);
    // Retries came about a second apart (the test schedule), not at once.
    expect((requests[2]?.receivedAt ?? 0) - (requests[0]?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1500);
  });

  it("stores a terminal event without its payload and sends every retry byte for byte as the first attempt, rebuilt from the job's row", async () => {
    const tenant = await createTenant();
    const callback = (name: string) => `${env.RECEIVER_URL}/flaky/1/${unique()}-${name}`;
    const big = { text: "é€😀\u0000".repeat(20_000) }; // over 64 KiB: input and result live in R2
    const specs = {
      succeeded: {
        type: "echo",
        input: { n: 1.5, big: 1e21, neg: -2.5e-7, s: '"quoted" \u2028', nested: [null, true, { "": 0 }] },
        metadata: { order: "A-1", ключ: "значение" },
        callback_events: ["job.succeeded", "job.failed"],
        ttl_seconds: 3600,
      },
      failed: {
        type: "fail",
        input: { fail_attempts: 1, message: 'bad <input> & "more", a lone \ud800 surrogate', retryable: false },
      },
      large: { type: "echo", input: big },
      canceled: { type: "echo", input: {}, delay_seconds: 600 },
    };
    const jobs = Object.fromEntries(
      await Promise.all(
        Object.entries(specs).map(async ([name, spec]) => {
          const url = callback(name);
          return [name, { url, job: await submit(tenant, { ...spec, callback_url: url }) }] as const;
        }),
      ),
    );
    const cancel = await authed(tenant, `/v1/jobs/${jobs.canceled?.job.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    for (const { url, job } of Object.values(jobs)) {
      const path = new URL(url).pathname;
      const [first, second] = await eventually(
        () => receivedOn(path),
        (r) => r.length === 2,
      );
      // The retry's body is the first attempt's, to the byte, and both verify.
      expect(second?.body).toBe(first?.body);
      for (const request of [first, second])
        new Webhook(tenant.webhookSecret).verify(request?.body ?? "", request?.headers ?? {});
      const stored = await dbOf(job.id)
        .prepare("SELECT payload FROM webhook_events WHERE job_id = ?")
        .bind(job.id)
        .all<{ payload: string }>();
      expect(stored.results).toEqual([{ payload: "" }]);
    }
    const bodies = await Promise.all(
      Object.values(jobs).map(async ({ url }) => JSON.parse((await receivedOn(new URL(url).pathname))[0]?.body ?? "")),
    );
    expect(bodies.map((b) => [b.type, b.data.status])).toEqual([
      ["job.succeeded", "succeeded"],
      ["job.failed", "failed"],
      ["job.succeeded", "succeeded"],
      ["job.canceled", "canceled"],
    ]);
    expect(bodies[0].data).toMatchObject({ input: specs.succeeded.input, metadata: specs.succeeded.metadata });
    expect(bodies[2].data).toMatchObject({ input: null, result: null });
  });

  it("stores no event for a change whose job's row was deleted under its tracker", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "echo",
      delay_seconds: 600,
      callback_url: `${env.RECEIVER_URL}/ok/${unique()}`,
    });
    const tracker = env.JOB_TRACKER.getByName(job.id);
    expect(await tracker.isRunning()).toBe(false); // the tracker now holds the job
    await dbOf(job.id).prepare("DELETE FROM jobs WHERE id = ?").bind(job.id).run();
    await runInDurableObject(tracker, async (instance: JobTracker) => {
      await expect(instance.cancel()).rejects.toThrow(/changed outside its tracker/);
    });
    const events = await dbOf(job.id).prepare("SELECT id FROM webhook_events WHERE job_id = ?").bind(job.id).all();
    expect(events.results).toEqual([]);
  });

  it("records a failed attempt, with no request, for a stored event whose job's row is gone", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    await dbOf(jobId).prepare("DELETE FROM jobs WHERE id = ?").bind(jobId).run();
    await deliverMessages([{ event_id: eventId, job_id: jobId, attempt: 1, origin: originOf(env.RECEIVER_URL) }]);
    const attempt = await dbOf(eventId)
      .prepare("SELECT status, attempts, first_error AS error FROM webhook_events WHERE id = ?")
      .bind(eventId)
      .first();
    expect(attempt).toEqual({
      status: "pending",
      attempts: 1,
      error: "the job this event is about is no longer stored",
    });
    expect(await receivedOn(path)).toEqual([]);
  });

  it("marks an event failed after the last attempt and keeps it for redelivery", async () => {
    const tenant = await createTenant();
    const path = `/flaky/4/${unique()}`;
    const job = await jobCallingBack(tenant, path);
    const failed = await eventSettled(tenant, job.id);
    expect(failed.events).toMatchObject([{ status: "failed", attempts: 4 }]);
    const eventId = failed.events[0]?.id as string;
    const res = await authed(tenant, `/v1/jobs/${job.id}/deliveries/${eventId}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    const after = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.events[0]?.status === "delivered",
    );
    expect(after.deliveries.at(-1)).toMatchObject({ attempt: 5, trigger: "manual", http_status: 204 });
    const requests = await receivedOn(path);
    expect(requests).toHaveLength(5);
    expect(requests[4]?.headers["webhook-id"]).toBe(eventId);
    expect(requests[4]?.headers["webhook-timestamp"]).not.toBe(requests[0]?.headers["webhook-timestamp"]);
  });

  it("gives up on an event at once when the receiver answers 410 Gone", async () => {
    const tenant = await createTenant();
    const path = `/status/410/${unique()}`;
    const job = await jobCallingBack(tenant, path);
    const log = await eventSettled(tenant, job.id);
    expect(log.events).toMatchObject([{ status: "failed", attempts: 1 }]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await receivedOn(path)).toHaveLength(1);
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const tenant = await createTenant();
    const id = unique();
    const job = await jobCallingBack(tenant, `/status/302/${id}`);
    const log = await eventSettled(tenant, job.id);
    expect(log.deliveries.map((d) => d.http_status)).toEqual([302, 302, 302, 302]);
    expect(await receivedOn(`/ok/${id}`)).toEqual([]);
  });

  it("times out a receiver that does not answer", async () => {
    const tenant = await createTenant();
    const job = await jobCallingBack(tenant, `/slow/5000/${unique()}`);
    const log = await eventually(
      () => deliveriesOf(tenant, job.id),
      (d) => d.deliveries.length > 0,
    );
    const [first] = log.deliveries;
    expect(first?.http_status).toBeNull();
    expect(first?.error).toContain("timed out");
    expect(first?.duration_ms).toBeGreaterThanOrEqual(1400);
    expect(first?.duration_ms).toBeLessThan(3000);
  });

  it("honours Retry-After on a 429", async () => {
    const tenant = await createTenant();
    const path = `/retry-after/2/${unique()}`;
    await jobCallingBack(tenant, path);
    const [first, second] = await eventually(
      () => receivedOn(path),
      (r) => r.length >= 2,
    );
    // The schedule says 1 s; Retry-After asks 2 s (within twice the schedule).
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1900);
  });

  it("reads at most 1 KiB of a huge or endless answer", async () => {
    const tenant = await createTenant();
    const job = await jobCallingBack(tenant, `/stream/${unique()}`);
    const log = await eventSettled(tenant, job.id);
    expect(log.events[0]?.status).toBe("delivered");
    const [delivery] = log.deliveries;
    expect(delivery?.http_status).toBe(200);
    expect(delivery?.response_body?.length).toBe(1024);
    expect(delivery?.duration_ms).toBeLessThan(1000);
  });

  it("signs with the new and the old secret for 24 h after a rotation", async () => {
    const tenant = await createTenant();
    const res = await authed(tenant, "/v1/webhook-secret/rotate", { method: "POST" });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { webhook_secret: string; previous_valid_until: string };
    expect(rotated.webhook_secret).toMatch(/^whsec_/);
    expect(rotated.webhook_secret).not.toBe(tenant.webhookSecret);
    const validFor = Date.parse(rotated.previous_valid_until) - Date.now();
    expect(validFor).toBeGreaterThan(86_000_000);
    expect(validFor).toBeLessThanOrEqual(86_400_000);
    const path = `/ok/${unique()}`;
    await jobCallingBack(tenant, path);
    const [request] = await eventually(
      () => receivedOn(path),
      (r) => r.length > 0,
    );
    expect(request?.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [rotated.webhook_secret, tenant.webhookSecret]) {
      new Webhook(secret).verify(request?.body as string, request?.headers ?? {});
      new SvixWebhook(secret).verify(request?.body as string, request?.headers ?? {});
    }
    // Once the 24 h are over, only the new secret signs.
    await onEveryDatabase((db) =>
      db.prepare("UPDATE tenants SET previous_secret_valid_until = 0 WHERE id = ?").bind(tenant.tenantId).run(),
    );
    const laterPath = `/ok/${unique()}`;
    await jobCallingBack(tenant, laterPath);
    const [later] = await eventually(
      () => receivedOn(laterPath),
      (r) => r.length > 0,
    );
    expect(later?.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(() => new Webhook(tenant.webhookSecret).verify(later?.body as string, later?.headers ?? {})).toThrow();
  });

  it("sends job.progress at most once a second, with the latest progress", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const job = await submit(tenant, {
      type: "sleep",
      input: { seconds: 2.5, steps: 25 },
      callback_url: `${env.RECEIVER_URL}${path}`,
      callback_events: ["job.progress", "job.succeeded"],
    });
    await eventually(
      () => receivedOn(path),
      (r) => r.some((x) => JSON.parse(x.body).type === "job.succeeded"),
    );
    const events = (await receivedOn(path)).map(
      (r) =>
        JSON.parse(r.body) as {
          type: string;
          timestamp: string;
          data: { version: number; progress: { percent: number } };
        },
    );
    const progress = events.filter((e) => e.type === "job.progress").sort((a, b) => a.data.version - b.data.version);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < progress.length; i++) {
      const gap = Date.parse(progress[i]?.timestamp ?? "") - Date.parse(progress[i - 1]?.timestamp ?? "");
      expect(gap).toBeGreaterThanOrEqual(990);
      expect(progress[i]?.data.progress.percent).toBeGreaterThan(progress[i - 1]?.data.progress.percent ?? 100);
    }
    const succeeded = events.find((e) => e.type === "job.succeeded");
    expect(succeeded?.data.version).toBeGreaterThan(progress.at(-1)?.data.version ?? Infinity);
    expect(job.callback_events).toEqual(["job.progress", "job.succeeded"]);
  });

  it("makes one request when the same scheduled attempt is delivered twice", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    const message = { event_id: eventId, job_id: jobId, attempt: 1, origin: env.RECEIVER_URL };
    await Promise.all([deliverMessages([message]), deliverMessages([message])]);
    expect(await receivedOn(path)).toHaveLength(1);
  });

  it("acks a callbacks message sent before migration 0016 (no job id), and the sweep sends its event again", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const { eventId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    const older = { event_id: eventId, attempt: 1, origin: env.RECEIVER_URL } as unknown as CallbackMessage;
    const settled = await deliverMessages([older]);
    expect(settled.explicitAcks).toHaveLength(1);
    expect(await receivedOn(path)).toHaveLength(0);
    const dueAt = Date.now() - 31_000;
    await dbOf(eventId)
      .prepare("UPDATE webhook_events SET next_attempt_at = ?, updated_at = ? WHERE id = ?")
      .bind(dueAt, dueAt, eventId)
      .run();
    await worker.scheduled(createScheduledController(), env);
    const [received] = await eventually(
      () => receivedOn(path),
      (r) => r.length > 0,
    );
    expect(received?.headers["webhook-id"]).toBe(eventId);
  });

  it("has the sweep send again an event whose attempt died before it was recorded", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    // A consumer claimed attempt 1 and died: nothing was sent or recorded.
    expect((await claimForDelivery(dbOf(eventId), jobId, eventId, 1, Date.now()).run()).results).toHaveLength(1);
    await deliverMessages([{ event_id: eventId, job_id: jobId, attempt: 1, origin: env.RECEIVER_URL }]); // its redelivered message
    expect(await receivedOn(path)).toHaveLength(0);
    // Due 31 s ago, but claimed just now: the attempt may still be in flight, so the sweep leaves it.
    const dueAt = Date.now() - 31_000;
    await dbOf(eventId)
      .prepare("UPDATE webhook_events SET next_attempt_at = ? WHERE id = ?")
      .bind(dueAt, eventId)
      .run();
    await worker.scheduled(createScheduledController(), env);
    const untouched = dbOf(eventId).prepare("SELECT next_attempt_at FROM webhook_events WHERE id = ?").bind(eventId);
    expect(await untouched.first("next_attempt_at")).toBe(dueAt);
    // Claimed 31 s ago too (the grace is 30 s, longer than an attempt): it is sent again as attempt 2.
    await dbOf(eventId).prepare("UPDATE webhook_events SET updated_at = ? WHERE id = ?").bind(dueAt, eventId).run();
    await worker.scheduled(createScheduledController(), env);
    const [received] = await eventually(
      () => receivedOn(path),
      (r) => r.length > 0,
    );
    expect(received?.headers["webhook-id"]).toBe(eventId);
    const log = await eventually(
      () => dbOf(eventId).prepare("SELECT status, attempts FROM webhook_events WHERE id = ?").bind(eventId).first(),
      (row) => row?.status === "delivered",
    );
    expect(log).toEqual({ status: "delivered", attempts: 2 });
  });

  it("finds a lost retry and a backlog of unsent new events in turn: neither keeps the other waiting", async () => {
    const db = databases(env).shards[1] as D1Database;
    const base = Date.now();
    const event = (createdAt: number, callbackUrl: string) => bareEvent(1, "ten_sweep_turns", createdAt, callbackUrl);
    // A retry whose attempt 2 was claimed 10 minutes ago and died unrecorded.
    const retry = event(base - 600_000, "https://fine.example/");
    await insertWebhookEvent(db, { ...retry, attempts: 1 }).run();
    await postponeEvents(db, [{ ...retry, held: null }], base - 600_000);
    expect(await claimForDelivery(db, retry.jobId, retry.id, 2, base - 600_000).first()).not.toBeNull();
    // 150 events stored a minute ago, still `sending`: their messages wait for a busy origin's room.
    const backlog = Array.from({ length: 150 }, () => event(base - 60_000, "https://busy.example/"));
    await db.batch(backlog.map((e) => insertWebhookEvent(db, e)));
    const found = new Set<string>();
    const sweepsFindingRetry: number[] = [];
    for (let sweep = 0; sweep < 3; sweep++) {
      const now = base + sweep * 60_001;
      const overdue = await listOverdueEvents(db, now - 30_000, 100);
      if (overdue.length > 0) await postponeEvents(db, overdue, now + 30_000);
      for (const e of overdue) found.add(e.id);
      if (overdue.some((e) => e.id === retry.id)) sweepsFindingRetry.push(sweep);
    }
    expect(sweepsFindingRetry[0]).toBe(0);
    // Each sweep's postponement puts what it found at the back of the line: the whole backlog within three sweeps.
    expect(backlog.filter((e) => !found.has(e.id))).toEqual([]);
  });

  it("claims a retry for 2 D1 rows, its row and its entry in the failing list, as before events were keyed by status", async () => {
    const db = databases(env).shards[0] as D1Database;
    const now = Date.now();
    const event = bareEvent(0, "ten_claim_rows", now);
    const written = (results: D1Result[]) => results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
    expect(written(await db.batch([insertWebhookEvent(db, event)]))).toBe(1);
    const attempt1 = recordAttempt(
      db,
      {
        eventId: event.id,
        jobId: event.jobId,
        tenantId: event.tenantId,
        trigger: "scheduled",
        attemptedAt: now,
        durationMs: 1,
        httpStatus: 500,
        error: null,
        responseBody: null,
        nextAttemptAt: now + 1000,
      },
      { status: "pending", scheduledAttempt: 1, endsRedelivery: false, now },
    );
    await db.batch(attempt1);

    expect(written(await db.batch([claimForDelivery(db, event.jobId, event.id, 2, now + 1)]))).toBe(2);
  });

  it("keeps one cron invocation within D1's 1,000 queries, with sweepBatch overdue events of every kind on every shard", async () => {
    const { shards } = databases(env);
    const long = Date.now() - 3_600_000;
    const ids = shards.map((_, k) => Array.from({ length: limits.sweepBatch }, () => newId.event(k)));
    const jobIds = shards.map((_, k) => (ids[k] as string[]).map(() => newId.job(k)));
    // A callbacks outage: every shard's sweep finds a full batch of overdue events to send again, of all three
    // kinds, so its postponement runs every statement it has: retries (`pending`), first attempts not recorded
    // (`sending`), and events held on their job's row, owed (store/held-events.ts).
    await Promise.all(
      shards.map((db, k) =>
        db.batch(
          (ids[k] as string[]).map((id, i) => {
            const jobId = (jobIds[k] as string[])[i];
            return i % 3 === 2
              ? db
                  .prepare(
                    `INSERT INTO jobs (tenant_id, status, id, type, max_attempts, timeout_seconds, callback_url,
                      created_at, run_at, finished_at, version, updated_at, event_id, event_created_at)
                    VALUES ('ten_x', 'succeeded:owed', ?, 'echo', 1, 60, 'https://receiver.example/hook', ?, ?, ?, 2, ?,
                      ?, ?)`,
                  )
                  .bind(jobId, long, long, long, long, id, long)
              : db
                  .prepare(
                    `INSERT INTO webhook_events (id, tenant_id, job_id, type, payload, callback_url, status, attempts,
                      created_at, updated_at, next_attempt_at) VALUES (?, 'ten_x', ?, 'job.succeeded', '{}',
                      'https://receiver.example/hook', ?, ?, ?, ?, ?)`,
                  )
                  .bind(id, jobId, i % 3 === 0 ? "pending" : "sending", i % 3 === 0 ? 1 : 0, long, long, long);
          }),
        ),
      ),
    );
    const sent: unknown[] = [];
    const callbacks = { send: async () => {}, sendBatch: async (batch: unknown[]) => void sent.push(...batch) };
    resetMeter();
    try {
      await worker.scheduled(createScheduledController(), {
        ...env,
        METERING: "true",
        CALLBACKS: callbacks as unknown as typeof env.CALLBACKS,
      });
      // Counting each statement of a batch, as limits.retentionSweepMaxStatements does.
      const statements = Object.entries(readMeter())
        .filter(([name]) => /^d1:.*:statements$/.test(name))
        .reduce((sum, [, n]) => sum + n, 0);
      expect(sent).toHaveLength(shards.length * limits.sweepBatch);
      expect(statements).toBeLessThanOrEqual(limits.d1QueriesPerInvocation);
      // Each held one was given a row of its own, pending, and its job moved to the status shown.
      const owed = await onEveryShard((db) =>
        db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = 'ten_x' AND status = 'succeeded:owed'").first(),
      );
      expect(owed.map((r) => r?.n)).toEqual(shards.map(() => 0));
    } finally {
      // Sent to a sink: no later sweep of this file should find them.
      await Promise.all(
        shards.map((db, k) =>
          db.batch([
            db
              .prepare("DELETE FROM webhook_events WHERE id IN (SELECT value FROM json_each(?))")
              .bind(JSON.stringify(ids[k])),
            db
              .prepare("DELETE FROM jobs WHERE tenant_id = 'ten_x' AND id IN (SELECT value FROM json_each(?))")
              .bind(JSON.stringify(jobIds[k])),
          ]),
        ),
      );
    }
  }, 120_000);

  it("checks the callback URL again before every attempt", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, "https://10.0.0.1/hook");
    await deliverMessages([{ event_id: eventId, job_id: jobId, attempt: 1, origin: "https://10.0.0.1" }]);
    const { deliveries } = await deliveriesOf(tenant, jobId);
    expect(deliveries.map((d) => ({ error: d.error, http_status: d.http_status }))).toEqual([
      { error: "callback_url must name a public address", http_status: null },
    ]);
  });

  it("bounds requests in flight to one origin, so another origin's callbacks go on", async () => {
    const tenant = await createTenant();
    const slowPrefix = `/slow/${1200 + Math.floor(Math.random() * 100)}`;
    await authed(tenant, "/v1/jobs/batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jobs: Array.from({ length: 12 }, (_, i) => ({
          type: "echo",
          callback_url: `${env.OTHER_RECEIVER_URL}${slowPrefix}/${i}`,
        })),
      }),
    });
    const fastPath = `/ok/${unique()}`;
    const submitted = Date.now();
    await jobCallingBack(tenant, fastPath);
    const [fast] = await eventually(
      () => receivedOn(fastPath),
      (r) => r.length > 0,
    );
    expect((fast?.receivedAt ?? 0) - submitted).toBeLessThan(3000);
    await eventually(
      async () =>
        (await fetch(`${env.OTHER_RECEIVER_URL}/__received?path=${slowPrefix}/11`)).json() as Promise<unknown[]>,
      (r) => r.length > 0,
    );
    const stats = (await (await fetch(`${env.OTHER_RECEIVER_URL}/__stats?prefix=${slowPrefix}`)).json()) as {
      maxInFlight: number;
    };
    expect(stats.maxInFlight).toBeGreaterThan(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4); // WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN in the tests
  });

  /**
   * `jobs` jobs to one origin of their own answering in `receiverMs`, handed
   * to one consumer invocation as one batch, with room for `maxInFlight`
   * requests at the origin; another job consumer asks the gate twice a
   * second meanwhile. Answers what the receiver saw, the first attempts the
   * consumer recorded (each one's duration and start after its event was
   * stored), the events sent to the callbacks queue instead, the prober's
   * refusals and whether the gate refuses first attempts right after.
   */
  async function firstAttemptsOfOneBatch(options: {
    maxInFlight: number;
    jobs: number;
    receiverMs: number;
    /** The first job's callback answers in 1.6 s instead: one straggler. */
    straggler?: boolean;
    /** WEBHOOK_TIMEOUT_MS for the consumer (the tests' is 1.5 s). */
    timeoutMs?: number;
    /** How long each of the consumer's gate acquires takes (a busy gate object). */
    gateDelayMs?: number;
    /** The other receiver (another origin): a test that leaves its origin slow keeps it from the next. */
    otherOrigin?: boolean;
  }) {
    const tenant = await createTenant();
    await call(`/v1/tenants/${tenant.tenantId}`, {
      method: "PATCH",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ max_running_jobs: options.jobs }),
    });
    // The receiver counts requests in flight by `/slow/<ms>`: a few ms more than asked make the count this test's.
    const prefix = `/slow/${options.receiverMs + Math.floor(Math.random() * 50)}`;
    // An origin of its own (the same receiver by another name): earlier tests' slow answers mark theirs slow.
    const receiver = (options.otherOrigin ? env.OTHER_RECEIVER_URL : env.RECEIVER_URL).replace(
      "127.0.0.1",
      "localhost",
    );
    const gate = env.ORIGIN_GATE.getByName(originOf(receiver));
    await gate.release([], 0); // wakes the object, whatever an earlier test left in it, before the clock starts
    const messages: JobMessage[] = [];
    const keeping = {
      sendBatch: async (batch: { body: JobMessage }[]) => void messages.push(...batch.map((m) => m.body)),
    };
    const submitted = await app.fetch(
      new Request(`${BASE}/v1/jobs/batch`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          jobs: Array.from({ length: options.jobs }, (_, i) => ({
            type: "echo",
            callback_url:
              options.straggler && i === 0 ? `${receiver}/slow/1600/${unique()}` : `${receiver}${prefix}/${i}`,
          })),
        }),
      }),
      { ...env, ...everyJobQueueAs(keeping) },
    );
    expect(submitted.status).toBe(202);
    const batch = createMessageBatch(
      "edgejobs-jobs-0",
      messages.map((body, i) => ({ id: `m-${unique()}-${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const queued: CallbackMessage[] = [];
    const callbacks = {
      send: async (message: CallbackMessage) => void queued.push(message),
    } as unknown as Env["CALLBACKS"];
    let consumed = false;
    const startedAt = Date.now();
    const slowGates = {
      getByName: (name: string) => {
        const stub = env.ORIGIN_GATE.getByName(name);
        return {
          acquire: async (...args: Parameters<typeof stub.acquire>) => {
            await new Promise((resolve) => setTimeout(resolve, options.gateDelayMs));
            return stub.acquire(...args);
          },
          release: (...args: Parameters<typeof stub.release>) => stub.release(...args),
          reportSlow: () => stub.reportSlow(),
        };
      },
    } as unknown as Env["ORIGIN_GATE"];
    const consuming = worker
      .queue(batch, {
        ...env,
        CALLBACKS: callbacks,
        WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN: String(options.maxInFlight),
        ...(options.timeoutMs === undefined ? {} : { WEBHOOK_TIMEOUT_MS: String(options.timeoutMs) }),
        ...(options.gateDelayMs === undefined ? {} : { ORIGIN_GATE: slowGates }),
      })
      .finally(() => (consumed = true));
    const refusals: number[] = [];
    while (!consumed) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (consumed) break;
      const tickets = await gate.acquire(1, 60_000, 128, { quickOnly: true });
      if (tickets.length === 0) refusals.push(Date.now());
      else await gate.release(tickets, 0);
    }
    await consuming;
    const consumedInMs = Date.now() - startedAt;
    const after = await gate.acquire(1, 60_000, 128, { quickOnly: true });
    await gate.release(after, 0);
    const refusedAfter = after.length === 0;
    const stats = (await (await fetch(`${receiver}/__stats?prefix=${prefix}`)).json()) as { maxInFlight: number };
    // A delivered first attempt is on its job's row (store/held-events.ts), any other on its event's.
    const firstAttempts = await onEveryShard((db) =>
      db
        .prepare(
          `SELECT first_duration_ms AS ms, first_attempted_at - created_at AS startedAfter
          FROM webhook_events WHERE tenant_id = ?1 AND first_attempted_at IS NOT NULL
          UNION ALL SELECT event_duration_ms, event_attempted_at - event_created_at
          FROM jobs WHERE tenant_id = ?1 AND event_attempted_at IS NOT NULL`,
        )
        .bind(tenant.tenantId)
        .all<{ ms: number; startedAfter: number }>(),
    );
    const attempts = firstAttempts.flatMap((r) => r.results);
    return { stats, attempts, queued, refusals, consumedInMs, refusedAfter };
  }

  it("makes a consumer batch's first attempts 6 at a time, each timed and holding its origin's ticket only while it is sent", async () => {
    // Room for 6 at the origin: the batch's 6 connections carry all 50 (9 rounds, 4.5 s), none goes through the queue.
    const { stats, attempts, queued, refusals } = await firstAttemptsOfOneBatch({
      maxInFlight: limits.connectionsPerInvocation,
      jobs: 50,
      receiverMs: 500,
    });
    expect(stats.maxInFlight).toBe(limits.connectionsPerInvocation);
    expect(attempts).toHaveLength(50);
    expect(queued).toEqual([]);
    // Each request alone, not its wait for a connection; and no ticket counted as hung while it carried
    // its 9 requests in turn, so the origin stayed quick for every other consumer.
    expect(Math.max(...attempts.map((a) => a.ms))).toBeLessThan(limits.quickOriginMs);
    expect(refusals).toEqual([]);
  }, 30_000);

  it("starts no first attempt so late that the sweep could send its event again: the rest go through the callbacks queue", async () => {
    // Room for 1: at 500 ms a request, 50 callbacks would take 25 s on one connection, near the sweep's 30 s.
    const { attempts, queued } = await firstAttemptsOfOneBatch({ maxInFlight: 1, jobs: 50, receiverMs: 500 });
    expect(attempts.length + queued.length).toBe(50);
    expect(attempts.length).toBeGreaterThan(1);
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.every((message) => message.attempt === 1)).toBe(true);
    // None started past the carry window (timed from the group's tickets, a moment after its events were
    // stored), so each ends (timeout, body) before the sweep's grace for its event is over.
    expect(Math.max(...attempts.map((a) => a.startedAfter))).toBeLessThan(limits.firstAttemptCarryMs + 1_000);
  }, 30_000);

  it("times the carry window from each event's storage, however long the gate took to answer", async () => {
    const { attempts, queued } = await firstAttemptsOfOneBatch({
      maxInFlight: 1,
      jobs: 40,
      receiverMs: 500,
      gateDelayMs: 4_000,
    });
    expect(attempts.length + queued.length).toBe(40);
    expect(Math.max(...attempts.map((a) => a.startedAfter))).toBeLessThanOrEqual(limits.firstAttemptCarryMs);
  }, 30_000);

  it("does not take one straggler for a slow origin: the group goes on and the origin stays quick", async () => {
    const { attempts, queued, refusedAfter } = await firstAttemptsOfOneBatch({
      maxInFlight: 128,
      jobs: 20,
      receiverMs: 200,
      straggler: true,
    });
    expect(attempts).toHaveLength(20);
    expect(queued).toEqual([]);
    expect(refusedAfter).toBe(false);
  }, 30_000);

  it("tells the gate of a slow origin when its group could make fewer requests than the rule counts, all late", async () => {
    // Room for 1, requests of 5.5 s: two fit in the carry window, both late.
    const { attempts, queued, refusedAfter } = await firstAttemptsOfOneBatch({
      maxInFlight: 1,
      jobs: 5,
      receiverMs: 5_500,
      timeoutMs: 8_000,
      otherOrigin: true,
    });
    expect(attempts).toHaveLength(2);
    expect(queued).toHaveLength(3);
    expect(refusedAfter).toBe(true);
  }, 30_000);

  it("stops a group's first attempts once 3 of its requests took over quickOriginMs, and tells the gate at once", async () => {
    // A receiver answering in 1.5 s: about one round is sent, the rest go through the callbacks queue.
    const { attempts, queued, consumedInMs, refusedAfter } = await firstAttemptsOfOneBatch({
      maxInFlight: 128,
      jobs: 50,
      receiverMs: 1500,
    });
    // The first round, and the few of the second that started as its first requests came back, before the third.
    expect(attempts.length).toBeGreaterThanOrEqual(limits.connectionsPerInvocation);
    expect(attempts.length).toBeLessThan(2 * limits.connectionsPerInvocation);
    expect(queued).toHaveLength(50 - attempts.length);
    expect(consumedInMs).toBeLessThan(6000); // two rounds at most, not 9
    expect(refusedAfter).toBe(true);
  }, 30_000);
});
