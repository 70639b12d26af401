import { parseConfig } from "../config";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { coalescedByKey } from "../platform/coalesce";
import { concurrencyLimit } from "../platform/concurrency";
import { shardOf } from "../store/databases";
import type { EventForDelivery, WebhookEventRecord } from "../store/webhook-events";
import { type Attempt, attempt, leaseOf, record } from "./deliver";
import { callbackMessage, enqueueEvent, enqueueHeldEvents, originOf } from "./events";

/** One origin's callbacks of a consumer invocation that passed its gate together. */
interface Group {
  /** A turn on one of the group's tickets (one connection each), in arrival order. */
  turn: ReturnType<typeof concurrencyLimit>;
  /** The origin has no room, or was found slow: the rest go through the callbacks queue. */
  slow: boolean;
  /** Requests made, and those of them that took longer than quickOriginMs. */
  made: number;
  late: number;
  /** The longest request made so far (ms), for the gate's release. */
  slowestMs: number;
  /**
   * Counts a request that took `durationMs`; at limits.lateRequestsForSlowOrigin
   * late ones, marks the group slow and tells the gate, once.
   */
  ended: (durationMs: number) => void;
}

/**
 * The first attempt of the callback a job's outcome causes, made by the job
 * consumer that recorded the outcome, right after its tracker stored the job
 * and the event: no callbacks-queue message and no claim, since only the
 * call that completed the job was handed the event, which its job's row
 * holds meanwhile (store/held-events.ts): a delivered attempt is recorded
 * there, and any other outcome gives the event a row of its own first, as
 * does handing it to the callbacks queue. Retries go through the
 * callbacks queue as before. Within one consumer invocation, attempts for one
 * origin that start within a few ms pass its gate with one request, and
 * attempts that end within a few ms are recorded in one D1 batch (a second
 * one only for a held event given its own row meanwhile), so under
 * load the gate and the database see a fraction of a request per job.
 *
 * An origin with no room, or slow lately (limits.quickOriginMs), gets the
 * event through the callbacks queue as attempt 1, like every other event:
 * a slow receiver never keeps job consumers waiting. So does a callback
 * whose turn on its group's tickets would start past
 * limits.firstAttemptCarryMs after its event was stored, or come after
 * limits.lateRequestsForSlowOrigin of the group's requests took longer than
 * quickOriginMs. If the invocation dies before the attempt is
 * recorded, the event is still pending and the sweep sends it 30 s after it
 * was due (limits.callbackLostAfterSeconds), when no attempt started here
 * can still be in flight.
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
  // Held events handed to the callbacks queue together get their rows in one D1 batch per shard.
  const heldToQueueOn = coalescedByKey<D1Database, WebhookEventRecord>(
    (db, events) => enqueueHeldEvents(env, db, events),
    limits.callbackRecordCoalesceMs,
  );
  // The invocation's connections: a request waiting for one would count the wait as its origin's slowness.
  const connection = concurrencyLimit(limits.connectionsPerInvocation);

  /**
   * One origin's callbacks that arrived together, with one gate request: a
   * ticket per connection they can use (up to the invocation's 6), each
   * carrying the callbacks in turn. A callback goes through the callbacks
   * queue instead when it got no ticket's turn within
   * limits.firstAttemptCarryMs of its event's storage (the origin was nearly
   * full), or once limits.lateRequestsForSlowOrigin of the group's
   * requests took longer than quickOriginMs: then the gate hears of it at once, so
   * neither this group nor another consumer keeps sending to a slow or hung
   * origin.
   */
  const throughGate = async (origin: string, callbacks: EventForDelivery[]): Promise<void> => {
    const gate = env.ORIGIN_GATE.getByName(origin);
    let tickets: string[] = [];
    try {
      tickets = await gate.acquire(callbacks.length, leaseOf(settings), settings.webhookMaxInFlightPerOrigin, {
        quickOnly: true,
        connections: limits.connectionsPerInvocation,
      });
    } catch (error) {
      console.error("origin gate unavailable; the callbacks queue takes the first attempts", {
        origin,
        error: String(error),
      });
    }
    const group: Group = {
      turn: concurrencyLimit(Math.max(1, tickets.length)),
      slow: tickets.length === 0,
      made: 0,
      late: 0,
      slowestMs: 0,
      ended: (durationMs) => {
        group.made++;
        group.slowestMs = Math.max(group.slowestMs, durationMs);
        if (durationMs > limits.quickOriginMs) group.late++;
        if (group.slow || group.late < Math.min(limits.lateRequestsForSlowOrigin, callbacks.length)) return;
        group.slow = true;
        gate.reportSlow().catch((error: unknown) => {
          console.error("origin gate not told of a slow origin", { origin, error: String(error) });
        });
      },
    };
    try {
      await Promise.all(
        callbacks.map(async (callback) => {
          if (await attemptNow(callback, group)) return;
          const { event, held } = callback;
          await (held ? heldToQueueOn(shardOf(env, event.id), event) : enqueueEvent(env, event));
        }),
      );
    } finally {
      // The group's verdict: a straggler alone does not make its origin slow, but a group that made
      // fewer requests than the rule asks for (few tickets, its window over) is slow if they all were late.
      const slow =
        group.slow || (group.made > 0 && group.late >= Math.min(limits.lateRequestsForSlowOrigin, group.made));
      if (tickets.length > 0) await gate.release(tickets, slow ? group.slowestMs : 0);
    }
  };

  /**
   * Makes the attempt once its group's ticket and one of the invocation's
   * connections are free, unless its group found the origin slow or its
   * turn came too late (then answers false: nothing was sent), and records
   * it. A request that took longer than quickOriginMs counts as late (by
   * its own duration: no timer, which a busy isolate would fire late).
   */
  const attemptNow = async ({ event, secrets, held }: EventForDelivery, group: Group): Promise<boolean> => {
    const message = callbackMessage(event, 1);
    const sent = await group.turn(() =>
      connection(async () => {
        // Timed from the event's storage, which the sweep's grace counts from, whatever the gate took.
        if (group.slow || clock.now() > event.createdAt + limits.firstAttemptCarryMs) return null;
        return { attemptedAt: clock.now(), result: await attempt(settings, secrets, event) };
      }),
    );
    if (!sent) return false;
    const { attemptedAt, result } = sent;
    group.ended(result.durationMs);
    try {
      await recordOn(shardOf(env, event.id), { message, event, held, attemptedAt, endedAt: clock.now(), result });
    } catch (error) {
      // The event stays pending, as if this attempt had died unrecorded: the sweep sends it again.
      console.error("first callback attempt not recorded; the sweep will send the event again", {
        eventId: event.id,
        error: String(error),
      });
    }
    return true;
  };

  const toGate = coalescedByKey<string, EventForDelivery>(throughGate, limits.callbackRecordCoalesceMs);
  return (callback) => toGate(originOf(callback.event.callbackUrl), callback);
}
