import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobQueues } from "../../src/jobs/job-queues";
import { limits } from "../../src/limits";
import { databases } from "../../src/store/databases";
import { call, createTenant, dbOf, eventually, postJson, type TestTenant } from "../workers/helpers";

/**
 * What a batch costs on top of its jobs (a plain job's budget is in
 * operations.test.ts and unchanged: the batch hook does nothing for a job
 * without a batch). Counted over one batch of `SIZE` echo jobs without
 * callbacks of their own, run to completion.
 */
const SIZE = 5;

const budget = {
  /**
   * Per job: its start's read and its end (its insert shares the batch's one).
   * Per batch: the insert of the batch and its jobs; the batch's tracker
   * reading the batch once; the completion (the batch's final counts, and
   * its event when it has one, in one transaction).
   */
  shardRoundTrips: 2 * SIZE + 3,
  /**
   * Per job 4: a plain job's 2 without its callback (insert, and end with its
   * start, which a quick attempt's tracker holds: a row each, keyed by
   * status: migration 0019) and the batch index's entry at each, which holds
   * the row's key and so moves with its status. Per batch 4: the batch row
   * and its running-index entry, and the completion's update of both.
   */
  rowsWritten: 4 * SIZE + 4,
  /** One report per job to the batch's tracker, nothing else (each records one row in its storage). */
  batchTrackerRequests: SIZE,
  /** The batch's jobs share a queue (their shard's) and travel packed, ten to a message (jobs/job-packs.ts). */
  queueMessages: Math.ceil(SIZE / limits.jobsPerPack),
};

/** With `on_complete`: its event, delivered like a job's through the callbacks queue. */
const onCompleteBudget = {
  /** The claim of the attempt and its record. */
  shardRoundTrips: budget.shardRoundTrips + 2,
  /**
   * The event (its row alone, stored `sending`: migrations 0016 and 0020),
   * the claim, the event settled with its first attempt on its row.
   */
  rowsWritten: budget.rowsWritten + 3,
  batchTrackerRequests: SIZE,
  /** Plus the event's callbacks-queue message. */
  queueMessages: budget.queueMessages + 1,
};

const meter = async () => (await (await call("/__metrics")).json()) as Record<string, number>;

/** Runs a batch of `SIZE` echo jobs (with `on_complete` to `path`, if given) until it completed and any event was delivered. */
async function runBatch(tenant: TestTenant, path: string | null): Promise<void> {
  const res = await postJson(tenant, "/v1/jobs/batch", {
    jobs: Array.from({ length: SIZE }, (_, i) => ({ type: "echo", input: i })),
    ...(path ? { on_complete: { callback_url: `${env.RECEIVER_URL}${path}` } } : {}),
  });
  const { batch_id } = (await res.json()) as { batch_id: string };
  const db = dbOf(batch_id);
  await eventually(
    () =>
      db
        .prepare(
          "SELECT b.status, e.status AS event FROM batches b LEFT JOIN webhook_events e ON e.job_id = b.id WHERE b.id = ?",
        )
        .bind(batch_id)
        .first<{ status: string; event: string | null }>(),
    (row) => row?.status === "completed" && (path === null || row.event === "delivered"),
  );
}

async function measure(tenant: TestTenant, path: string | null) {
  await call("/__metrics/reset", { method: "POST" });
  await runBatch(tenant, path);
  const counts = await meter();
  return {
    shardRoundTrips: databases(env).shards.reduce((sum, _, k) => sum + (counts[`d1:SHARD_${k}:round_trips`] ?? 0), 0),
    rowsWritten: counts.d1_rows_written,
    batchTrackerRequests: counts["do:BATCH_TRACKER:requests"],
    queueMessages:
      jobQueues(env).reduce((sum, _, k) => sum + (counts[`queue:JOBS_${k}:messages`] ?? 0), 0) +
      (counts["queue:CALLBACKS:messages"] ?? 0),
  };
}

describe("operations per batch (budgets)", () => {
  it("costs a batch job one report to its batch and one index entry more than a job, and the batch a few round trips", async () => {
    const tenant = await createTenant();
    await runBatch(tenant, null); // the isolate learns the key
    expect(await measure(tenant, null)).toEqual(budget);
    expect(await measure(tenant, "/ok/batch-budget")).toEqual(onCompleteBudget);
  });
});
