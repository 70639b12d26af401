import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CallbackMessage, Env } from "../../src/env";
import { toJobView } from "../../src/jobs/view";
import { newId } from "../../src/platform/ids";
import { databases } from "../../src/store/databases";
import { insertJob, updateJob } from "../../src/store/jobs";
import { insertWebhookEvent } from "../../src/store/webhook-events";
import { record } from "../../src/webhooks/deliver";
import { buildEvent, callbackMessage } from "../../src/webhooks/events";
import { firstAttempts } from "../../src/webhooks/first-attempt";
import type { PostResult } from "../../src/webhooks/post";
import { standardSchedule } from "../../src/webhooks/schedule";
import { jobRecord } from "../support/job-record";
import { createTenant, withMethod } from "./helpers";
import { bareEvent } from "./webhook-helpers";

describe("callback events held on their jobs' rows (store/held-events.ts)", () => {
  it("gives a consumer's held events that its slow origin sends through the callbacks queue their rows in one D1 batch", async () => {
    const tenant = await createTenant();
    const db = databases(env).shards[3] as D1Database;
    const now = Date.now();
    // Eight jobs ended by a consumer, each holding its callback event, owed, on its row.
    const ended = Array.from({ length: 8 }, () => {
      const job = jobRecord(
        { id: newId.job(3), tenantId: tenant.tenantId, callbackUrl: "https://slow.example/hook" },
        now,
      );
      const done = { ...job, status: "succeeded" as const, attempts: 1, finishedAt: now, version: 2 };
      const event = buildEvent(tenant.tenantId, "https://slow.example/hook", "job.succeeded", toJobView(done), now);
      return { job, done: { ...done, heldEvent: { id: event.id, createdAt: now, delivered: null } }, event };
    });
    await db.batch(ended.flatMap(({ job, done }) => [insertJob(db, job), updateJob(db, done, job)]));

    let batches = 0;
    const counted = withMethod(db, "batch", (real) => (...statements) => {
      batches++;
      return real(...statements);
    });
    const sent: CallbackMessage[] = [];
    const slowOrigin = {
      getByName: () => ({ acquire: async () => [], release: async () => {}, reportSlow: async () => {} }),
    };
    const testEnv = {
      ...env,
      SHARD_3: counted,
      ORIGIN_GATE: slowOrigin,
      CALLBACKS: { send: async (message: CallbackMessage) => void sent.push(message) },
    } as unknown as Env;
    const deliver = firstAttempts(testEnv);
    const secrets = { current: tenant.webhookSecret, previous: [] };
    await Promise.all(ended.map(({ event }) => deliver({ event, secrets, held: true })));

    expect(batches).toBe(1);
    expect(sent.map((m) => [m.event_id, m.attempt])).toEqual(ended.map(({ event }) => [event.id, 1]));
    const rows = await db
      .prepare("SELECT status, COUNT(*) AS n FROM webhook_events WHERE tenant_id = ? GROUP BY status")
      .bind(tenant.tenantId)
      .all();
    expect(rows.results).toEqual([{ status: "sending", n: 8 }]);
    const jobs = await db
      .prepare("SELECT status, COUNT(*) AS n FROM jobs WHERE tenant_id = ? AND event_id IS NULL GROUP BY status")
      .bind(tenant.tenantId)
      .all();
    expect(jobs.results).toEqual([{ status: "succeeded", n: 8 }]);
  });

  it("queues the batch's retries even when recording a moved held event's attempt on its row fails", async () => {
    const db = databases(env).shards[5] as D1Database;
    const now = Date.now();
    // An event whose first attempt failed (a retry is due), and a held event whose job's row no longer holds it.
    const failing = bareEvent(5, "ten_moved", now);
    await insertWebhookEvent(db, failing).run();
    const moved = bareEvent(5, "ten_moved", now);
    let batches = 0;
    const secondFails = withMethod(db, "batch", (real) => (...statements) => {
      batches++;
      return batches === 2 ? Promise.reject(new Error("D1 overloaded")) : real(...statements);
    });
    const sent: unknown[] = [];
    const testEnv = { ...env, CALLBACKS: { sendBatch: async (batch: unknown[]) => void sent.push(...batch) } };
    const ended = (result: Partial<PostResult>) => ({
      attemptedAt: now,
      endedAt: now + 10,
      result: { httpStatus: 204, error: null, durationMs: 10, responseBody: null, retryAfter: null, ...result },
    });
    await record(testEnv as unknown as Env, secondFails, standardSchedule, [
      { message: callbackMessage(moved, 1), event: moved, held: true, ...ended({}) },
      { message: callbackMessage(failing, 1), event: failing, held: false, ...ended({ httpStatus: 500 }) },
    ]);

    expect(batches).toBe(2);
    expect(sent).toMatchObject([{ body: { event_id: failing.id, attempt: 2 } }]);
  });
});
