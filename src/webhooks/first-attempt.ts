import { parseConfig } from "../config";
import type { CallbackMessage, Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { coalescedByKey } from "../platform/coalesce";
import { concurrencyLimit } from "../platform/concurrency";
import { shardOf } from "../store/databases";
import type { EventForDelivery } from "../store/webhook-events";
import { type Attempt, attempt, leaseOf, record } from "./deliver";
import { enqueueEvent, originOf } from "./events";
import { ticketRounds } from "./origin-gate";

/**
 * The first attempt of the callback a job's outcome causes, made by the job
 * consumer that recorded the outcome, right after its tracker stored the job
 * and the event: no callbacks-queue message and no claim, since only the
 * call that completed the job was handed the event. Retries go through the
 * callbacks queue as before. Within one consumer invocation, attempts for one
 * origin that start within a few ms pass its gate with one request, and
 * attempts that end within a few ms are recorded in one D1 batch, so under
 * load the gate and the database see a fraction of a request per job.
 *
 * An origin with no room, or slow lately (limits.quickOriginMs), gets the
 * event through the callbacks queue as attempt 1, like every other event:
 * a slow receiver never keeps job consumers waiting. If the invocation dies before the
 * attempt is recorded, the event is still pending and the sweep sends it
 * 30 s after it was due (limits.callbackLostAfterSeconds).
 *
 * Returns the function a consumer invocation calls per handed-back event; it
 * resolves once that attempt is recorded (or handed to the queue).
 */
export function firstAttempts(env: Env): (callback: EventForDelivery) => Promise<void> {
  const settings = parseConfig(env);
  const recordOn = coalescedByKey<D1Database, Attempt>(
    (db, ended) => record(env, db, settings.webhookRetryScheduleSeconds, ended),
    limits.callbackRecordCoalesceMs,
  );
  // The invocation's connections: a request waiting for one would count the wait as its origin's slowness.
  const connection = concurrencyLimit(limits.connectionsPerInvocation);

  /**
   * One origin's callbacks that arrived together, with one gate request: a
   * ticket per connection they can use (up to the invocation's 6), each
   * carrying its share of the callbacks in turn. Those no ticket carries
   * (the origin was nearly full, or slow) go through the callbacks queue.
   */
  const throughGate = async (origin: string, callbacks: EventForDelivery[]): Promise<void> => {
    const gate = env.ORIGIN_GATE.getByName(origin);
    const connections = Math.min(callbacks.length, limits.connectionsPerInvocation);
    let tickets: string[] = [];
    try {
      tickets = await gate.acquire(callbacks.length, leaseOf(settings), settings.webhookMaxInFlightPerOrigin, {
        quickOnly: true,
        connections,
      });
    } catch (error) {
      console.error("origin gate unavailable; the callbacks queue takes the first attempts", {
        origin,
        error: String(error),
      });
    }
    const carried = tickets.length * ticketRounds(callbacks.length, connections, tickets.length);
    const ticketed = concurrencyLimit(tickets.length);
    let slowestMs = 0;
    try {
      await Promise.all([
        ...callbacks.slice(0, carried).map(async (callback) => {
          slowestMs = Math.max(slowestMs, await attemptNow(origin, callback, ticketed));
        }),
        ...callbacks.slice(carried).map(({ event }) => enqueueEvent(env, event)),
      ]);
    } finally {
      if (tickets.length > 0) await gate.release(tickets, slowestMs);
    }
  };

  /**
   * Makes the attempt once its group's ticket and one of the invocation's
   * connections are free (`ticketed`: the group's bound), and records it;
   * answers how long its request took (ms).
   */
  const attemptNow = async (
    origin: string,
    { event, secrets }: EventForDelivery,
    ticketed: ReturnType<typeof concurrencyLimit>,
  ): Promise<number> => {
    const message: CallbackMessage = { event_id: event.id, attempt: 1, origin };
    const { attemptedAt, result } = await ticketed(() =>
      connection(async () => ({ attemptedAt: clock.now(), result: await attempt(settings, secrets, event) })),
    );
    try {
      await recordOn(shardOf(env, event.id), { message, event, attemptedAt, endedAt: clock.now(), result });
    } catch (error) {
      // The event stays pending, as if this attempt had died unrecorded: the sweep sends it again.
      console.error("first callback attempt not recorded; the sweep will send the event again", {
        eventId: event.id,
        error: String(error),
      });
    }
    return result.durationMs;
  };

  const toGate = coalescedByKey<string, EventForDelivery>(throughGate, limits.callbackRecordCoalesceMs);
  return (callback) => toGate(originOf(callback.event.callbackUrl), callback);
}
