import { finishStalledBatches } from "../batches/backstop";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { wakeOverdueSchedules } from "../schedules/backstop";
import { databases } from "../store/databases";
import { listStrandedJobIds } from "../store/jobs";
import { listOverdueEvents, postponeEvent } from "../store/webhook-events";
import { originOf } from "../webhooks/events";

/**
 * The cron sweep. Queue messages can be lost (a failed send, a consumer that
 * died, a local `wrangler dev` restart that empties its in-memory queues), so
 * every minute it hands stranded jobs back to their trackers (which
 * re-enqueue them, or reclaim a running attempt that has stopped heartbeating)
 * and re-sends events that are still pending, each after a grace of seconds,
 * and finishes batches whose jobs all ended but whose count missed one.
 * Every shard is swept at once, each on its own; and schedules whose timer
 * missed a due time are woken (schedules/backstop.ts).
 */
export async function sweep(env: Env): Promise<{ jobs: number; events: number }> {
  const now = clock.now();
  const [swept] = await Promise.all([
    Promise.all(databases(env).shards.map((db) => sweepShard(env, db, now))),
    wakeOverdueSchedules(env, now),
  ]);
  return swept.reduce((sum, s) => ({ jobs: sum.jobs + s.jobs, events: sum.events + s.events }));
}

async function sweepShard(env: Env, db: D1Database, now: number): Promise<{ jobs: number; events: number }> {
  const jobIds = await listStrandedJobIds(db, now, limits.enqueueGraceSeconds * 1000, limits.sweepBatch);
  await Promise.all(jobIds.map((id) => env.JOB_TRACKER.getByName(id).recover()));
  const eventGraceMs = limits.callbackLostAfterSeconds * 1000;
  const events = await listOverdueEvents(db, now - eventGraceMs, limits.sweepBatch);
  for (const event of events) await postponeEvent(db, event.id, now + eventGraceMs);
  if (events.length > 0) {
    await env.CALLBACKS.sendBatch(
      events.map((e) => ({ body: { event_id: e.id, attempt: e.attempts + 1, origin: originOf(e.callbackUrl) } })),
    );
  }
  await finishStalledBatches(env, db, now);
  return { jobs: jobIds.length, events: events.length };
}
