import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CallbackMessage, Env } from "../../src/env";
import { toJobView } from "../../src/jobs/view";
import { newId } from "../../src/platform/ids";
import { databases } from "../../src/store/databases";
import { insertJob, updateJob } from "../../src/store/jobs";
import { buildEvent } from "../../src/webhooks/events";
import { firstAttempts } from "../../src/webhooks/first-attempt";
import { jobRecord } from "../support/job-record";
import { createTenant } from "./helpers";

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
    const counted = new Proxy(db, {
      get(target, name) {
        if (name === "batch")
          return (statements: D1PreparedStatement[]) => {
            batches++;
            return target.batch(statements);
          };
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const sent: CallbackMessage[] = [];
    const slowOrigin = {
      getByName: () => ({ acquire: async () => [], release: async () => {}, reportSlow: async () => {} }),
    };
    const testEnv = {
      ...Object.fromEntries(Object.entries(env).map(([name, binding]) => [name, binding === db ? counted : binding])),
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
});
