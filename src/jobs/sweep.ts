import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { listStrandedJobIds } from "../store/jobs";
import { listOverdueEvents, postponeEvent } from "../store/webhook-events";
import { originOf } from "../webhooks/events";

/**
 * The cron sweep. Queue messages can be lost (a failed send, a consumer that
 * died, a local `wrangler dev` restart that empties its in-memory queues), so
 * every minute it hands stranded jobs back to their trackers and re-sends
 * events that are still pending.
 */
export async function sweep(env: Env): Promise<{ jobs: number; events: number }> {
  const now = clock.now();
  const graceMs = limits.enqueueGraceSeconds * 1000;
  const jobIds = await listStrandedJobIds(env.DB, now, graceMs, limits.sweepBatch);
  await Promise.all(jobIds.map((id) => env.JOB_TRACKER.getByName(id).recover()));
  const events = await listOverdueEvents(env.DB, now - graceMs, limits.sweepBatch);
  for (const event of events) await postponeEvent(env.DB, event.id, now + graceMs);
  if (events.length > 0) {
    await env.CALLBACKS.sendBatch(
      events.map((e) => ({ body: { event_id: e.id, attempt: e.attempts + 1, origin: originOf(e.callbackUrl) } })),
    );
  }
  return { jobs: jobIds.length, events: events.length };
}
