import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/env";
import type { JobRecord } from "../../src/jobs/model";
import { purgeDatabase, retentionBudget } from "../../src/jobs/retention";
import { newId } from "../../src/platform/ids";
import { databases } from "../../src/store/databases";
import { storeNewJob } from "../../src/store/jobs";
import { insertWebhookEvent } from "../../src/store/webhook-events";
import { jobRecord } from "../support/job-record";
import {
  at,
  authed,
  createTenant,
  dbOf,
  deliverJobMessages,
  onEveryShard,
  storeEndedJob,
  submit,
  untilStatus,
} from "./helpers";
import { insertLoggedAttempt } from "./webhook-helpers";

const DAY = 86_400_000;
const RETENTION = 7 * DAY;
const shard = (k: number) => databases(env).shards[k] as D1Database;

/** Stores a new job of `tenantId` on `db` at `now` as a submit does; answers its row and the rows D1 wrote. */
async function storeNew(db: D1Database, tenantId: string, now: number, keyHash: string | null = null) {
  const job = jobRecord({ id: newId.job(0), tenantId }, now);
  const results = await db.batch(storeNewJob(db, job, keyHash, now - RETENTION));
  const rowsWritten = results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
  return { job, rowsWritten };
}

const rowOf = (db: D1Database, id: string) => db.prepare("SELECT * FROM jobs WHERE id = ?").bind(id).first();
const tenantRows = async (db: D1Database, tenantId: string) =>
  (
    await db.prepare("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY id").bind(tenantId).all<{ id: string }>()
  ).results.map((r) => r.id);

describe("an expired job's row taken over by a new job", () => {
  it("stores the new job in the row of its tenant's expired job for 1 row written, as an insert; the old job is gone", async () => {
    const now = Date.now();
    const db = shard(0);
    const old = await storeEndedJob(db, "ten_reuse_a", now, RETENTION + 1000);
    const { job, rowsWritten } = await storeNew(db, "ten_reuse_a", now);
    expect(rowsWritten).toBe(1);
    expect(await tenantRows(db, "ten_reuse_a")).toEqual([job.id]);
    expect(await rowOf(db, old.id)).toBeNull();
    // With nothing left to take over, the next one is inserted: 1 row too.
    const next = await storeNew(db, "ten_reuse_a", now);
    expect(next.rowsWritten).toBe(1);
    expect(await tenantRows(db, "ten_reuse_a")).toEqual([job.id, next.job.id].sort());
  });

  it("writes every column, so the taken-over row is the row an insert would have written", async () => {
    const now = Date.now();
    const db = shard(0);
    const old = await storeEndedJob(db, "ten_reuse_b", now, RETENTION + 1000);
    // Every column a job can be taken over with gets a value of the old job's own, whatever columns
    // migrations add: a column the new job does not write would keep it.
    const { results: columns } = await db.prepare("PRAGMA table_info(jobs)").all<{ name: string; type: string }>();
    const kept = new Set(["tenant_id", "status", "id", "attempts", "logged", "input_key", "result_key", "finished_at"]);
    const dirty = columns.filter((c) => !kept.has(c.name));
    expect(dirty.length).toBeGreaterThan(25);
    await db
      .prepare(`UPDATE jobs SET ${dirty.map((c) => `${c.name} = ?`).join(", ")} WHERE id = ?`)
      .bind(...dirty.map((c) => (c.type === "INTEGER" ? 7 : "old")), old.id)
      .run();
    const job = jobRecord({ id: newId.job(0), tenantId: "ten_reuse_b", callbackUrl: "https://x.test/h" }, now);
    await db.batch(storeNewJob(db, job, null, now - RETENTION));
    expect(await rowOf(db, old.id)).toBeNull();
    // The same job inserted where there is nothing to take over.
    const fresh = shard(1);
    await fresh.batch(storeNewJob(fresh, job, null, now - RETENTION));
    expect(await rowOf(db, job.id)).toEqual(await rowOf(fresh, job.id));
  });

  it("takes over only its own tenant's succeeded jobs, expired, at their first attempt, with nothing left elsewhere", async () => {
    const now = Date.now();
    const db = shard(0);
    const expired = RETENTION + 1000;
    const event = (jobId: string, tenantId: string) =>
      insertWebhookEvent(db, {
        id: newId.event(0),
        tenantId,
        jobId,
        type: "job.succeeded",
        payload: "{}",
        payloadFromJob: false,
        callbackUrl: "https://x.test/h",
        status: "delivered",
        attempts: 1,
        nextAttemptAt: null,
        createdAt: now - RETENTION,
      }).run();
    const attempt = (jobId: string, tenantId: string) =>
      insertLoggedAttempt(db, {
        eventId: newId.event(0),
        jobId,
        tenantId,
        trigger: "manual",
        attemptedAt: now - RETENTION,
        durationMs: 1,
        httpStatus: 200,
        error: null,
        responseBody: null,
        nextAttemptAt: null,
        attempt: 1,
      }).run();
    const cases: [string, number, Partial<JobRecord>, ((jobId: string, tenantId: string) => Promise<unknown>)?][] = [
      ["not expired yet", RETENTION - 60_000, {}],
      ["made before the cutoff, finished since", RETENTION - 60_000, { createdAt: now - 2 * RETENTION }],
      ["may have logged", expired, { logged: true }],
      ["input in R2", expired, { inputKey: "inputs/x.json", inputJson: null }],
      ["result in R2", expired, { resultKey: "results/x/1.json", resultJson: null }],
      ["a second attempt", expired, { attempts: 2 }],
      ["failed", expired, { status: "failed", error: { code: "e", message: "" } }],
      ["canceled", expired, { status: "canceled" }],
      // Its callback's first attempt still owed: the row is stored at "succeeded:owed".
      ["callback owed", expired, { heldEvent: { id: newId.event(0), createdAt: now - RETENTION, delivered: null } }],
      ["an event row", expired, {}, event],
      ["a delivery attempt row", expired, {}, attempt],
    ];
    for (const [name, finishedAgo, done, leftElsewhere] of cases) {
      const tenantId = `ten_reuse_c_${name.replaceAll(" ", "_")}`;
      const old = await storeEndedJob(db, tenantId, now, finishedAgo, done);
      await leftElsewhere?.(old.id, tenantId);
      const { job } = await storeNew(db, tenantId, now);
      expect(await tenantRows(db, tenantId), name).toEqual([old.id, job.id].sort());
    }
    // Another tenant's expired job is not taken over either.
    const other = await storeEndedJob(db, "ten_reuse_c_other", now, expired);
    const { job } = await storeNew(db, "ten_reuse_c_mine", now);
    expect(await rowOf(db, other.id)).not.toBeNull();
    expect(await tenantRows(db, "ten_reuse_c_mine")).toEqual([job.id]);
  });

  it("gives two new jobs of one batch two rows, and inserts the third when only two had expired", async () => {
    const now = Date.now();
    const db = shard(0);
    const olds = [
      await storeEndedJob(db, "ten_reuse_d", now, RETENTION + 2000),
      await storeEndedJob(db, "ten_reuse_d", now, RETENTION + 1000),
    ];
    const jobs = [0, 1, 2].map(() => jobRecord({ id: newId.job(0), tenantId: "ten_reuse_d" }, now));
    const results = await db.batch(jobs.flatMap((job) => storeNewJob(db, job, null, now - RETENTION)));
    expect(results.map((r) => r.meta.changes)).toEqual([1, 0, 1, 0, 0, 1]);
    expect(await tenantRows(db, "ten_reuse_d")).toEqual(jobs.map((j) => j.id).sort());
    for (const old of olds) expect(await rowOf(db, old.id)).toBeNull();
  });

  it("neither takes over nor inserts for a revoked key", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    const db = shard(0);
    const old = await storeEndedJob(db, tenant.tenantId, now, RETENTION + 1000);
    const keyHash = "a".repeat(64); // no such key
    const { job } = await storeNew(db, tenant.tenantId, now, keyHash);
    expect(await rowOf(db, job.id)).toBeNull();
    expect(await rowOf(db, old.id)).not.toBeNull();
  });

  it("serves a submit through the API in an expired job's row: the old job answers 404, the new one runs", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    // One expired job on every shard, so the submit finds one wherever it lands.
    const olds = await Promise.all(
      databases(env).shards.map((db) => storeEndedJob(db, tenant.tenantId, now, RETENTION + 1000)),
    );
    const job = await at(now, () => submit(tenant, { type: "echo", input: { n: 1 } }));
    const taken = olds.filter((old) => old.id.at(-1) === job.id.at(-1));
    expect(taken).toHaveLength(1);
    expect((await authed(tenant, `/v1/jobs/${taken[0]?.id}`)).status).toBe(404);
    expect((await untilStatus(tenant, job.id, "succeeded")).result).toEqual({ n: 1 });
    const rows = await onEveryShard(async (db) => (await tenantRows(db, tenant.tenantId)).length);
    expect(rows.reduce((a, b) => a + b)).toBe(olds.length);
  });

  it("records whether a job's attempts may have logged: an echo job did not, a sleep job (which logs) did", async () => {
    const tenant = await createTenant();
    const quiet = await submit(tenant, { type: "echo", input: {} });
    const chatty = await submit(tenant, { type: "sleep", input: { seconds: 0 } });
    await untilStatus(tenant, quiet.id, "succeeded");
    await untilStatus(tenant, chatty.id, "succeeded");
    const logged = async (id: string) => (await rowOf(dbOf(id), id))?.logged;
    expect(await logged(quiet.id)).toBe(0);
    expect(await logged(chatty.id)).toBe(1);
    // Not known before its first attempt succeeds: a writer from before migration 0022, which never
    // writes the column, leaves the job as one that may have logged.
    const waiting = await submit(tenant, { type: "echo", input: {}, delay_seconds: 3600 });
    expect(await logged(waiting.id)).toBe(1);
  });

  it("counts a job as logged when its attempt may follow an unseen run of it: any message but its submit's, first delivered, to the slot's grantee", async () => {
    const tenant = await createTenant();
    /** A job due now whose own message will not come (it waits an hour), run by `body` on its `deliveries`th delivery. */
    const loggedAfter = async (
      body: Omit<JobMessage, "job_id">,
      deliveries: number,
      before?: (id: string) => Promise<unknown>,
    ) => {
      const job = await submit(tenant, { type: "echo", input: {}, delay_seconds: 3600 });
      await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
      await before?.(job.id);
      await deliverJobMessages([{ job_id: job.id, ...body }], deliveries);
      await untilStatus(tenant, job.id, "succeeded");
      return (await rowOf(dbOf(job.id), job.id))?.logged;
    };
    const first = { tenant_id: tenant.tenantId, first: true as const };
    expect(await loggedAfter(first, 1)).toBe(0);
    // Its message came again: the first delivery's run may have begun.
    expect(await loggedAfter(first, 2)).toBe(1);
    // A re-send, a slot hand-off, a dead letter put back.
    expect(await loggedAfter({ tenant_id: tenant.tenantId }, 1)).toBe(1);
    // The job held its slot before this invocation (a lease ago: a begin within one waits, taking the
    // slot's grantee for a run it cannot see): a consumer that took it may have run it.
    const slotTaken = (id: string) =>
      at(Date.now() - 60_000, () => env.TENANT_SLOTS.getByName(tenant.tenantId).acquireGrants([id]));
    expect(await loggedAfter(first, 1, slotTaken)).toBe(1);
  });

  it("leaves an expired job to new jobs for an hour before the sweep deletes it", async () => {
    const now = Date.now();
    const db = shard(0);
    const waiting = await storeEndedJob(db, "ten_reuse_e", now, RETENTION + 30 * 60_000);
    const left = await storeEndedJob(db, "ten_reuse_e", now, RETENTION + 61 * 60_000);
    await purgeDatabase(db, env.BLOBS, now, RETENTION, retentionBudget(now));
    expect(await rowOf(db, waiting.id)).not.toBeNull();
    expect(await rowOf(db, left.id)).toBeNull();
    // A short retention is not stretched by an hour: the wait is as long as the retention then.
    const short = 10_000;
    const young = await storeEndedJob(db, "ten_reuse_e", now, short + 5_000);
    const gone = await storeEndedJob(db, "ten_reuse_e", now, 2 * short + 1_000);
    await purgeDatabase(db, env.BLOBS, now, short, retentionBudget(now));
    expect(await rowOf(db, young.id)).not.toBeNull();
    expect(await rowOf(db, gone.id)).toBeNull();
  });
});
