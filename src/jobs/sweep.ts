import { finishStalledBatches } from "../batches/backstop";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { wakeOverdueSchedules } from "../schedules/backstop";
import { databases } from "../store/databases";
import { listStrandedJobs } from "../store/jobs";
import { listOverdueEvents, postponeEvents } from "../store/overdue-events";
import { repairReplicas } from "../tenants/replica-repair";
import { callbackMessage } from "../webhooks/events";

/**
 * The cron sweep. Queue messages can be lost (a failed send, a consumer that
 * died, a local `wrangler dev` restart that empties its in-memory queues), so
 * every minute it hands stranded jobs back to their trackers (which
 * re-enqueue them, or reclaim a running attempt that has stopped heartbeating)
 * and re-sends events that are still pending, each after a grace of seconds,
 * and finishes batches whose jobs all ended but whose count missed one.
 * Every shard is swept at once, each on its own. Meanwhile schedules whose
 * timer missed a due time are woken (schedules/backstop.ts), and shards'
 * copies of tenants and API keys that differ from the control database's
 * are mended (tenants/replica-repair.ts).
 */
export async function sweep(env: Env): Promise<{ jobs: number; events: number }> {
  const now = clock.now();
  // Each part stands alone: one that fails (a database down, a job its tracker cannot load) is
  // logged and taken up again by the next sweep, and stops none of the others, nor the
  // retention that follows.
  const [swept] = await Promise.all([
    Promise.all(databases(env).shards.map((db) => sweepShard(env, db, now))),
    logged("waking overdue schedules", () => wakeOverdueSchedules(env, now), undefined),
    logged("replica repair", () => repairReplicas(env, now), undefined),
  ]);
  return swept.reduce((sum, s) => ({ jobs: sum.jobs + s.jobs, events: sum.events + s.events }));
}

async function sweepShard(env: Env, db: D1Database, now: number): Promise<{ jobs: number; events: number }> {
  const [jobs, events] = await Promise.all([
    logged("recovering stranded jobs", () => recoverStrandedJobs(env, db, now), 0),
    logged("re-sending overdue events", () => resendOverdueEvents(env, db, now), 0),
    logged("finishing stalled batches", () => finishStalledBatches(env, db, now), 0),
  ]);
  return { jobs, events };
}

/** Hands stranded jobs back to their trackers; answers how many. A tracker that fails is logged, not the rest. */
async function recoverStrandedJobs(env: Env, db: D1Database, now: number): Promise<number> {
  const jobs = await listStrandedJobs(db, now, limits.enqueueGraceSeconds * 1000, limits.sweepBatch);
  const outcomes = await Promise.allSettled(jobs.map((j) => env.JOB_TRACKER.getByName(j.id).recover(j.tenantId)));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "rejected")
      console.error("a stranded job could not be recovered", jobs[i]?.id, outcome.reason);
  });
  return jobs.length;
}

/** Re-sends events whose attempt was lost (no record within the grace); answers how many. */
async function resendOverdueEvents(env: Env, db: D1Database, now: number): Promise<number> {
  const eventGraceMs = limits.callbackLostAfterSeconds * 1000;
  const events = await listOverdueEvents(db, now - eventGraceMs, limits.sweepBatch);
  if (events.length > 0) {
    await postponeEvents(db, events, now + eventGraceMs);
    await env.CALLBACKS.sendBatch(events.map((e) => ({ body: callbackMessage(e, e.attempts + 1) })));
  }
  return events.length;
}

/** `part()`, or `otherwise` once its error is logged: the next sweep takes the part up again. */
async function logged<T>(name: string, part: () => Promise<T>, otherwise: T): Promise<T> {
  try {
    return await part();
  } catch (error) {
    console.error(`${name} failed; the next sweep retries`, error);
    return otherwise;
  }
}
