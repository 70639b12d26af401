import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { purgeExpired, retentionMs } from "../../src/jobs/retention";
import { limits } from "../../src/limits";
import {
  authed,
  createTenant,
  dbOf,
  eventually,
  onEveryShard,
  postJson,
  submit,
  type TestTenant,
  untilStatus,
} from "./helpers";

const DAY = 86_400_000;
const age = (table: string, column: string, where: string, id: string, byMs: number) =>
  dbOf(id).prepare(`UPDATE ${table} SET ${column} = ${column} - ? WHERE ${where} = ?`).bind(byMs, id).run();

const count = async (sql: string, id: string) => (await dbOf(id).prepare(sql).bind(id).first<{ n: number }>())?.n ?? 0;

/** What is stored of a job: its row, its R2 input and result, its webhook events and delivery attempts. */
async function stored(id: string) {
  return {
    job: await count("SELECT COUNT(*) AS n FROM jobs WHERE id = ?", id),
    input: (await env.BLOBS.list({ prefix: `inputs/${id}` })).objects.length,
    result: (await env.BLOBS.list({ prefix: `results/${id}/` })).objects.length,
    events: await count("SELECT COUNT(*) AS n FROM webhook_events WHERE job_id = ?", id),
    deliveries: await count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?", id),
  };
}
const everything = { job: 1, input: 1, result: 1, events: 1, deliveries: 1 };
const nothing = { job: 0, input: 0, result: 0, events: 0, deliveries: 0 };

/** A job with an input and result in R2 and a delivered callback, made to look finished `agoMs` ago. */
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
  await age("jobs", "finished_at", "id", job.id, agoMs);
  return job.id;
}

/** The minute's cron, with RETENTION_DAYS as given (wrangler.toml's "30" when undefined). */
const sweepWith = (retentionDays?: string) =>
  worker.scheduled(createScheduledController(), {
    ...env,
    ...(retentionDays === undefined ? {} : { RETENTION_DAYS: retentionDays }),
  });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("retention", () => {
  it("deletes finished jobs after the default 30 days, with their R2 objects and delivery logs", async () => {
    const tenant = await createTenant();
    const old = await finishedJob(tenant, 31 * DAY);
    const recent = await finishedJob(tenant, 29 * DAY);
    const waiting = await submit(tenant, { type: "echo", delay_seconds: 3600 });
    await age("jobs", "created_at", "id", waiting.id, 60 * DAY);

    await sweepWith();

    expect(await stored(old)).toEqual(nothing);
    expect((await authed(tenant, `/v1/jobs/${old}`)).status).toBe(404);
    expect(await stored(recent)).toEqual(everything);
    expect((await authed(tenant, `/v1/jobs/${waiting.id}`)).status).toBe(200);
  });

  it("follows RETENTION_DAYS: with 1 day, jobs finished 1.5 days ago go and those finished 0.5 days ago stay", async () => {
    const tenant = await createTenant();
    const older = await finishedJob(tenant, 1.5 * DAY);
    const younger = await finishedJob(tenant, 0.5 * DAY);

    await sweepWith("1");

    expect(await stored(older)).toEqual(nothing);
    expect(await stored(younger)).toEqual(everything);
  });

  it("takes a fraction of a day", async () => {
    const tenant = await createTenant();
    const older = await finishedJob(tenant, 0.75 * DAY);
    const younger = await finishedJob(tenant, 0.25 * DAY);

    await sweepWith("0.5");

    expect(retentionMs({ ...env, RETENTION_DAYS: "0.5" })).toBe(DAY / 2);
    expect(await stored(older)).toEqual(nothing);
    expect(await stored(younger)).toEqual(everything);
  });

  it("keeps the default and logs an error for a RETENTION_DAYS that is not a positive number", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const value of ["-1", "0", "", "thirty", "NaN", "Infinity"]) {
      expect(retentionMs({ ...env, RETENTION_DAYS: value }), value).toBe(limits.defaultRetentionDays * DAY);
    }
    expect(errors).toHaveBeenCalledTimes(6);
    expect(String(errors.mock.calls[0]?.[0])).toContain("RETENTION_DAYS");
    const tenant = await createTenant();
    const job = await finishedJob(tenant, 2 * DAY);
    await sweepWith("-1");
    expect(await stored(job)).toEqual(everything);
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
    const purged = await purgeExpired(env, Date.now(), 30 * DAY);
    expect(purged.keys).toBe(1);
    const keys = await onEveryShard((db) =>
      db.prepare("SELECT key FROM idempotency_keys WHERE tenant_id = ?").bind(tenant.tenantId).all<{ key: string }>(),
    );
    expect(keys.flatMap((r) => r.results).map((r) => r.key)).toEqual(["new-key"]);
  });
});
