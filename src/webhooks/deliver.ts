import { type Config, parseConfig } from "../config";
import type { CallbackMessage, Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { coalesced } from "../platform/coalesce";
import { retryLater, settleTogether } from "../platform/queue-messages";
import { settleAll } from "../platform/settle-all";
import { shardOf } from "../store/databases";
import { heldEventKey, materializeHeldEvents, recordHeldDelivery } from "../store/held-events";
import { jobFound, jobOfEvent } from "../store/jobs";
import {
  claimForDelivery,
  deliveryFound,
  type EventStatus,
  readForDelivery,
  recordAttempt,
  type SigningSecrets,
  type WebhookEventRecord,
} from "../store/webhook-events";
import { callbackMessage, payloadOf } from "./events";
import { type PostResult, postCallback } from "./post";
import { type AttemptVerdict, judgeAttempt, queueDelaySeconds } from "./schedule";
import { webhookHeaders } from "./sign";
import { checkCallbackUrl } from "./url-guard";

const FAILURE = "callback delivery could not be recorded; the queue will retry it";

/**
 * The callbacks queue consumer. Each origin's messages pass its gate with
 * one request for the whole batch: those it has room for are delivered, the
 * rest wait a moment and come back, without using an attempt.
 */
export async function consumeCallbacks(batch: MessageBatch<CallbackMessage>, env: Env): Promise<void> {
  const settings = parseConfig(env);
  // A message sent before migration 0016 names no job, so no event can be found by it: its event
  // stays pending and overdue, and the sweep sends it again with its job's id.
  const named: Message<CallbackMessage>[] = [];
  for (const message of batch.messages) {
    if (typeof message.body.job_id === "string") named.push(message);
    else message.ack();
  }
  const byOrigin = Map.groupBy(named, (message) => message.body.origin);
  await Promise.all(
    [...byOrigin].map(([origin, messages]) => deliverToOrigin(env, settings, origin, { queue: batch.queue, messages })),
  );
}

/** One origin's messages of a batch. */
async function deliverToOrigin(
  env: Env,
  settings: Config,
  origin: string,
  { queue, messages }: { queue: string; messages: Message<CallbackMessage>[] },
): Promise<void> {
  const gate = env.ORIGIN_GATE.getByName(origin);
  let tickets: string[];
  try {
    tickets = await gate.acquire(messages.length, leaseOf(settings), settings.webhookMaxInFlightPerOrigin);
  } catch (error) {
    console.error("origin gate unavailable; the queue will retry", { origin, error: String(error) });
    for (const message of messages) retryLater(message);
    return;
  }
  let slowestMs = 0;
  const deliverNoting = async (bodies: CallbackMessage[]) => {
    slowestMs = await deliver(env, settings, bodies);
  };
  try {
    await Promise.all([
      settleTogether({ queue, messages: messages.slice(0, tickets.length) }, deliverNoting, FAILURE),
      settleTogether({ queue, messages: messages.slice(tickets.length) }, (b) => waitForOrigin(env, b), FAILURE),
    ]);
  } finally {
    if (tickets.length > 0) await gate.release(tickets, slowestMs);
  }
}

/**
 * One attempt of each message's event; each event is on its job's shard.
 * Answers the longest request's duration (ms), which tells the origin's gate
 * whether the origin answers quickly.
 */
async function deliver(env: Env, settings: Config, messages: CallbackMessage[]): Promise<number> {
  const byShard = Map.groupBy(messages, (message) => shardOf(env, message.event_id));
  const slowest = await settleAll([...byShard].map(([db, some]) => deliverFrom(env, db, settings, some)));
  return Math.max(0, ...slowest);
}

/**
 * One attempt of each message's event, all on the shard `db`, with one D1
 * round trip before the requests to claim them all; answers the longest
 * request's duration (ms). A scheduled attempt first claims its number,
 * so duplicate messages make one request; a manual one (redeliver) does not
 * count against the schedule. Each attempt is recorded as it ends (those
 * ending within a few ms together), so its retry is timed from its own end
 * and queued at once, not after the batch's slowest request.
 */
async function deliverFrom(env: Env, db: D1Database, settings: Config, messages: CallbackMessage[]): Promise<number> {
  const now = clock.now();
  // Per message: the event (claimed, for a scheduled attempt) and the job to rebuild its payload from, if it needs one.
  const found = await db.batch(
    messages.flatMap((m) => [
      m.attempt === undefined
        ? readForDelivery(db, m.job_id, m.event_id)
        : claimForDelivery(db, m.job_id, m.event_id, m.attempt, now),
      jobOfEvent(db, m.job_id, m.event_id),
    ]),
  );
  const recordEnded = coalesced<Attempt>(
    (ended) => record(env, db, settings.webhookRetryScheduleSeconds, ended),
    limits.callbackRecordCoalesceMs,
  );
  let slowestMs = 0;
  // Every attempt is recorded (or has failed to be) before the batch is settled: none is cut off midway.
  await settleAll(
    messages.map(async (message, i) => {
      const delivery = deliveryFound(found[2 * i] as D1Result);
      if (!delivery) return;
      const payload = payloadOf(delivery.event, jobFound(found[2 * i + 1] as D1Result));
      const attemptedAt = clock.now();
      const result =
        payload === null ? jobGone : await attempt(settings, delivery.secrets, { ...delivery.event, payload });
      slowestMs = Math.max(slowestMs, result.durationMs);
      await recordEnded({ message, event: delivery.event, held: false, attemptedAt, endedAt: clock.now(), result });
    }),
  );
  return slowestMs;
}

/**
 * An attempt of an event whose job's row is gone, so its payload cannot be
 * rebuilt: no request, a failed attempt. Retention deletes a job's events
 * with it, so this needs a row deleted by hand.
 */
const jobGone: PostResult = {
  httpStatus: null,
  error: "the job this event is about is no longer stored",
  durationMs: 0,
  responseBody: null,
  retryAfter: null,
};

/** How long one request may hold its origin's slot: its timeout, the body's bound, and a margin to record it. */
export const leaseOf = (settings: Config) => settings.webhookTimeoutMs + limits.callbackBodyReadMs + 5_000;

/** Signs and POSTs the event once, unless its URL is refused now; never throws for the receiver's failures. */
export async function attempt(
  settings: Config,
  secrets: SigningSecrets,
  event: WebhookEventRecord,
): Promise<PostResult> {
  // Checked again before every attempt: the rules may have tightened since submit.
  const verdict = checkCallbackUrl(event.callbackUrl, { allowLocal: settings.allowLocalCallbacks });
  if (!verdict.ok) {
    const error = `callback_url ${verdict.reason}`;
    return { httpStatus: null, error, durationMs: 0, responseBody: null, retryAfter: null };
  }
  const now = clock.now();
  const headers = await webhookHeaders(validSecrets(secrets, now), event.id, Math.floor(now / 1000), event.payload);
  return postCallback(verdict.url, headers, event.payload, settings.webhookTimeoutMs);
}

/** An attempt that ended, to be recorded. */
export interface Attempt {
  message: CallbackMessage;
  event: WebhookEventRecord;
  /** The event is held on its job's row (store/held-events.ts): a job consumer's first attempt. */
  held: boolean;
  /** Its own start: the batch's requests end at different times, and the log shows each one's. */
  attemptedAt: number;
  /** Its own end: every delay that follows it counts from here (ms). */
  endedAt: number;
  result: PostResult;
}

/**
 * Records the attempts and moves their events on, in one transaction on
 * their shard `db` (an event's first attempt on its own row, later ones in
 * the delivery log: store/webhook-events.ts `recordAttempt`; a held event's
 * delivered first attempt on its job's row: store/held-events.ts, with a
 * second transaction only if the event was given its own row meanwhile);
 * then queues the retries.
 */
export async function record(
  env: Env,
  db: D1Database,
  schedule: readonly number[],
  attempts: Attempt[],
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  // A held event's delivered attempt, recorded on its job's row: where its statement is in the batch, and the
  // statements that record it on the event's own row instead, should the event have been given one meanwhile.
  const onJobRows: { at: number; otherwise: D1PreparedStatement[] }[] = [];
  const retries: { body: CallbackMessage; dueAt: number }[] = [];
  for (const { message, event, held, attemptedAt, endedAt, result } of attempts) {
    const manual = message.attempt === undefined;
    const scheduledAttempt = message.attempt ?? event.attempts;
    const verdict = judgeAttempt(scheduledAttempt, result.httpStatus, result.retryAfter, schedule, endedAt);
    const retry = verdict.kind === "retry" && !manual ? verdict : null;
    const status = eventStatusAfter(verdict, manual);
    const nextAttemptAt = retry ? endedAt + retry.delaySeconds * 1000 : null;
    const onEventRow = recordAttempt(
      db,
      {
        eventId: event.id,
        jobId: event.jobId,
        tenantId: event.tenantId,
        trigger: manual ? "manual" : "scheduled",
        attemptedAt,
        durationMs: result.durationMs,
        httpStatus: result.httpStatus,
        error: result.error,
        responseBody: result.responseBody,
        nextAttemptAt,
      },
      { status, scheduledAttempt, endsRedelivery: manual, now: endedAt },
    );
    const { durationMs, httpStatus, responseBody } = result;
    if (held && verdict.kind === "delivered" && httpStatus !== null) {
      const onJob = recordHeldDelivery(db, heldEventKey(event), { attemptedAt, durationMs, httpStatus, responseBody });
      onJobRows.push({ at: statements.push(onJob) - 1, otherwise: onEventRow });
    } else {
      // A held event's other outcomes are recorded on a row of its own, given to it first.
      if (held) statements.push(...materializeHeldEvents(db, [heldEventKey(event)]));
      statements.push(...onEventRow);
    }
    if (verdict.kind !== "delivered") {
      console.warn("callback attempt failed", {
        eventId: event.id,
        jobId: event.jobId,
        httpStatus: result.httpStatus,
        error: result.error,
        next: verdict.kind,
      });
    }
    if (retry && nextAttemptAt !== null) {
      retries.push({
        body: callbackMessage(event, scheduledAttempt + 1),
        dueAt: nextAttemptAt,
      });
    }
  }
  const results = await db.batch(statements);
  // Rare: the sweep or a redelivery gave the event its row before this attempt was recorded.
  const moved = onJobRows.flatMap(({ at, otherwise }) => (results[at]?.meta.changes !== 1 ? otherwise : []));
  await Promise.all([queueRetries(env, retries), recordMoved(db, moved)]);
}

/** Queues each retry (a message per event's next attempt) with the delay its due time asks for. */
async function queueRetries(env: Env, retries: { body: CallbackMessage; dueAt: number }[]): Promise<void> {
  if (retries.length === 0) return;
  const sentAt = clock.now();
  await env.CALLBACKS.sendBatch(
    retries.map(({ body, dueAt }) => ({ body, delaySeconds: queueDelaySeconds(dueAt, sentAt) })),
  );
}

/**
 * Records on their events' own rows the held events' attempts whose job's
 * row no longer held them. Never throws: the first transaction stood, and
 * an attempt this one fails to record leaves its event unsettled on its
 * row, which the sweep sends again (at least once, that attempt unlisted).
 */
async function recordMoved(db: D1Database, statements: D1PreparedStatement[]): Promise<void> {
  if (statements.length === 0) return;
  try {
    await db.batch(statements);
  } catch (error) {
    console.error("callback attempt not recorded on its event's row; the sweep will send the event again", {
      error: String(error),
    });
  }
}

/** Where the event stands after an attempt; null leaves it as it was. */
function eventStatusAfter(verdict: AttemptVerdict, manual: boolean): EventStatus | null {
  if (verdict.kind === "delivered") return "delivered";
  // A manual attempt only ever settles an event by delivering it; it never starts retries.
  if (manual) return null;
  return verdict.kind === "retry" ? "pending" : "failed";
}

/** The origin has its fill of requests in flight: try again shortly, without using an attempt. */
async function waitForOrigin(env: Env, messages: CallbackMessage[]): Promise<void> {
  const delay = () => limits.originBusyDelaySeconds + Math.round(Math.random() * limits.originBusyDelaySeconds);
  await env.CALLBACKS.sendBatch(messages.map((body) => ({ body, delaySeconds: delay() })));
}

/** The current secret, plus each rotated-out one until its own `previous_valid_until` (API.md, rotation). */
function validSecrets(secrets: SigningSecrets, now: number): string[] {
  return [secrets.current, ...secrets.previous.filter((p) => p.validUntil > now).map((p) => p.secret)];
}
