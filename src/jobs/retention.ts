import type { Env } from "../env";
import { limits } from "../limits";
import { deleteLogObjects, deleteObject } from "../store/blobs";
import { databases } from "../store/databases";
import { deleteIdempotencyKeysBefore } from "../store/idempotency";
import { deleteFinishedJobs, listFinishedBefore } from "../store/jobs";

/**
 * How long finished jobs are kept, in ms: `RETENTION_DAYS`, any positive
 * number of days (fractions too: "0.5" is 12 h), else the default 30 days.
 * A value that is not a positive number (negative, zero, not a number) is
 * logged as an error on every sweep and the default applies: keeping data
 * longer than asked is the mistake that loses nothing.
 */
export function retentionMs(env: Env): number {
  const days = Number(env.RETENTION_DAYS);
  if (Number.isFinite(days) && days > 0) return days * DAY_MS;
  if (env.RETENTION_DAYS !== undefined) {
    console.error("RETENTION_DAYS is not a positive number of days; keeping finished jobs the default time", {
      value: env.RETENTION_DAYS,
      defaultDays: limits.defaultRetentionDays,
    });
  }
  return limits.defaultRetentionDays * DAY_MS;
}

const DAY_MS = 86_400_000;

/**
 * Deletes what has outlived its use: finished jobs older than the retention
 * period with their R2 objects and delivery logs, and idempotency keys past
 * their 24 h window. R2 goes first, so a failure leaves rows that point at
 * nothing rather than objects nothing points at.
 */
export async function purgeExpired(env: Env, now: number, keepMs: number): Promise<{ jobs: number; keys: number }> {
  const purged = await Promise.all(databases(env).shards.map((db) => purgeShard(env, db, now, keepMs)));
  return purged.reduce((sum, p) => ({ jobs: sum.jobs + p.jobs, keys: sum.keys + p.keys }));
}

async function purgeShard(env: Env, db: D1Database, now: number, keepMs: number) {
  const expired = await listFinishedBefore(db, now - keepMs, limits.retentionBatch);
  const objects = expired.flatMap((job) => [job.inputKey, job.resultKey]).filter((key) => key !== null);
  await Promise.all(objects.map((key) => deleteObject(env.BLOBS, key)));
  // Their logs (`ctx.log`): one R2 list per job, as no row says whether a job logged.
  await Promise.all(expired.map((job) => deleteLogObjects(env.BLOBS, job.id)));
  if (expired.length > 0)
    await deleteFinishedJobs(
      db,
      expired.map((job) => job.id),
    );
  const keys = await deleteIdempotencyKeysBefore(db, now - limits.idempotencyWindowMs);
  return { jobs: expired.length, keys };
}
