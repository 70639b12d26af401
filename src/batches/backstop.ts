import type { Env } from "../env";
import { limits } from "../limits";
import { listStalledBatchIds } from "../store/batches";

/**
 * The sweep's backstop for batches on one shard: a batch still running
 * whose jobs have all been terminal for `limits.batchReportGraceSeconds`
 * lost a job's report (its tracker stored the job, then died before telling
 * the batch) or its completion failed; its tracker reconciles it against the
 * jobs' rows. Answers how many it asked.
 */
export async function finishStalledBatches(env: Env, db: D1Database, now: number): Promise<number> {
  const ids = await listStalledBatchIds(db, now - limits.batchReportGraceSeconds * 1000, limits.sweepBatch);
  await Promise.all(ids.map((id) => env.BATCH_TRACKER.getByName(id).reconcile()));
  return ids.length;
}
