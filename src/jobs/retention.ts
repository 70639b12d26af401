import { idempotencyWindowMs, parseConfig, reuseWindowMs } from "../config";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { deleteObjects, logKey } from "../store/blobs";
import { everyDatabase } from "../store/databases";
import {
  type Deleted,
  deleteBatchesWithoutJobs,
  deleteExpiredJobs,
  deleteIdempotencyKeysBefore,
  fromStart,
  listExpiredJobs,
} from "../store/retention";

/**
 * What a sweep may still spend on retention: wall-clock time (until this
 * `clock.now()`, ms) and D1 statements. One budget is shared by every
 * database a sweep purges; purging spends from it.
 */
export interface RetentionBudget {
  until: number;
  statements: number;
}

/** A sweep's whole budget, from `now` (ms). */
export function retentionBudget(now: number): RetentionBudget {
  return { until: now + limits.retentionSweepMs, statements: limits.retentionSweepMaxStatements };
}

/**
 * The most D1 statements a round of expired jobs runs: its list, the update
 * that clears the R2 keys of the jobs whose objects went, and three deletes
 * (`deleteExpiredJobs`).
 */
export const jobRoundMaxStatements = 1 + 1 + 3;
/** A round of batches: three deletes (`deleteBatchesWithoutJobs`). */
const batchRoundStatements = 3;

/** What a purge deleted, and whether it got through everything that had expired. */
export interface Purged {
  jobs: number;
  /** Batches deleted once their jobs were all gone. */
  batches: number;
  keys: number;
  /** D1 rows written by the deletes, index entries included (D1 bills each). */
  rowsWritten: number;
  /** False when the budget ran out first: the next sweep goes on. */
  complete: boolean;
}

/**
 * Deletes from one database and its bucket what has outlived its use: jobs
 * that finished more than `keepMs` before `now` (ms; null: none expire),
 * and `reuseWindowMs(keepMs)` more (src/config.ts), with
 * their R2 objects (inputs, results, logs), webhook events and delivery attempts, then completed
 * batches whose jobs are all gone (with their events and attempts), then idempotency keys past their 24 h. Rounds of `limits.retentionChunk` jobs follow one
 * another until nothing expired is left or `budget` is spent. In each round
 * R2 goes first and a job's row only once its objects are gone, so a failure
 * leaves at worst rows that point at nothing, never objects nothing points at.
 */
export async function purgeDatabase(
  db: D1Database,
  bucket: R2Bucket,
  now: number,
  keepMs: number | null,
  budget: RetentionBudget,
): Promise<Purged> {
  const purged: Purged = { jobs: 0, batches: 0, keys: 0, rowsWritten: 0, complete: false };
  const tally = (deleted: Deleted) => {
    purged.rowsWritten += deleted.rowsWritten;
    return deleted.count;
  };
  // Statements are taken from the budget before they run, with no await between the check and the taking:
  // however many databases purge at once, they never overrun it together (src/limits.ts counts on it).
  const take = (statements: number) => {
    const affordable = budget.statements >= statements && clock.now() < budget.until;
    if (affordable) budget.statements -= statements;
    return affordable;
  };

  // An expired job's row waits a while for a new job of its tenant to take it over (store/jobs.ts
  // `reuseExpiredJob`), which spares its delete; the sweep deletes what none took.
  const before = keepMs === null ? null : now - keepMs - reuseWindowMs(keepMs);
  let jobsLeft = before !== null;
  // Each round lists after the last job the one before listed: the jobs it read and left (not expired
  // yet) are read once per sweep, not once per round.
  let after = fromStart;
  while (before !== null && jobsLeft && take(1)) {
    const expired = await listExpiredJobs(db, before, after, limits.retentionChunk);
    jobsLeft = expired.length === limits.retentionChunk;
    // Nothing is deleted before the deletes are affordable: a round cut here leaves its jobs whole.
    if (expired.length === 0) break;
    if (!take(jobRoundMaxStatements - 1)) {
      jobsLeft = true;
      break;
    }
    const withObjects = expired.filter((job) => job.inputKey !== null || job.resultKey !== null);
    // Log objects (`ctx.log`) are named by attempt, so they go without a list request: R2 deletes are
    // free, and a key with no object is no error.
    const logs = expired.flatMap((job) => Array.from({ length: job.attempts }, (_, i) => logKey(job.id, i + 1)));
    await deleteObjects(bucket, [
      ...withObjects.flatMap((job) => [job.inputKey, job.resultKey]).filter((key) => key !== null),
      ...logs,
    ]);
    const deleted = await deleteExpiredJobs(db, before, expired, withObjects);
    // The deletes took a round's most; what they did not run goes back.
    budget.statements += jobRoundMaxStatements - 1 - deleted.statements;
    purged.jobs += tally(deleted);
    after = expired.at(-1) ?? after;
  }

  // Batches whose jobs are all gone, with their events: after the jobs, so a round's deletions count.
  let batchesLeft = before !== null;
  while (before !== null && batchesLeft && take(batchRoundStatements)) {
    const deleted = tally(await deleteBatchesWithoutJobs(db, before, limits.retentionChunk));
    purged.batches += deleted;
    batchesLeft = deleted === limits.retentionChunk;
  }

  let keysLeft = true;
  while (keysLeft && take(1)) {
    const deleted = tally(
      await deleteIdempotencyKeysBefore(db, now - idempotencyWindowMs(keepMs), limits.retentionChunk),
    );
    purged.keys += deleted;
    keysLeft = deleted === limits.retentionChunk;
  }
  purged.complete = !jobsLeft && !batchesLeft && !keysLeft;
  return purged;
}

/**
 * The sweep's retention: `purgeDatabase` over every database at once (the
 * control database holds no job, but the keys of schedule creates), sharing
 * one budget, with RETENTION_DAYS (src/config.ts). Logs an error on every
 * sweep while RETENTION_DAYS is invalid (no job expires then), and a warning
 * when the budget ran out before everything expired was deleted.
 */
export async function purgeExpired(env: Env, now: number, budget = retentionBudget(now)): Promise<Purged> {
  const { retentionMs } = parseConfig(env);
  if (retentionMs === null) console.error("RETENTION_DAYS is invalid: no job is deleted until it is fixed");
  const each = await Promise.all(
    everyDatabase(env).map((db) => purgeDatabase(db, env.BLOBS, now, retentionMs, budget)),
  );
  const purged = each.reduce((sum, p) => ({
    jobs: sum.jobs + p.jobs,
    batches: sum.batches + p.batches,
    keys: sum.keys + p.keys,
    rowsWritten: sum.rowsWritten + p.rowsWritten,
    complete: sum.complete && p.complete,
  }));
  if (!purged.complete) console.warn("retention ran out of its sweep's budget; the next sweep goes on", purged);
  return purged;
}
