import type { CallbackMessage, Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { settleTogether } from "../platform/queue-messages";
import {
  claimForDelivery,
  deliveryFound,
  type EventStatus,
  insertDelivery,
  readForDelivery,
  type SigningSecrets,
  settleEvent,
  type WebhookEventRecord,
} from "../store/webhook-events";
import { type PostResult, postCallback } from "./post";
import { type AttemptVerdict, judgeAttempt } from "./schedule";
import { type WebhookSettings, webhookSettings } from "./settings";
import { webhookHeaders } from "./sign";
import { checkCallbackUrl } from "./url-guard";

const FAILURE = "callback delivery could not be recorded; the queue will retry it";

/**
 * The callbacks queue consumer. Each origin's messages pass its gate with
 * one request for the whole batch: those it has room for are delivered, the
 * rest wait a moment and come back, without using an attempt.
 */
export async function consumeCallbacks(batch: MessageBatch<CallbackMessage>, env: Env): Promise<void> {
  const settings = webhookSettings(env);
  const byOrigin = Map.groupBy(batch.messages, (message) => message.body.origin);
  await Promise.all(
    [...byOrigin].map(([origin, messages]) => deliverToOrigin(env, settings, origin, { queue: batch.queue, messages })),
  );
}

/** One origin's messages of a batch. */
async function deliverToOrigin(
  env: Env,
  settings: WebhookSettings,
  origin: string,
  { queue, messages }: { queue: string; messages: Message<CallbackMessage>[] },
): Promise<void> {
  const gate = env.ORIGIN_GATE.getByName(origin);
  let tickets: string[];
  try {
    tickets = await gate.acquire(messages.length, leaseOf(settings), settings.maxInFlightPerOrigin);
  } catch (error) {
    console.error("origin gate unavailable; the queue will retry", { origin, error: String(error) });
    for (const message of messages) message.retry();
    return;
  }
  try {
    await Promise.all([
      settleTogether({ queue, messages: messages.slice(0, tickets.length) }, (b) => deliver(env, settings, b), FAILURE),
      settleTogether({ queue, messages: messages.slice(tickets.length) }, (b) => waitForOrigin(env, b), FAILURE),
    ]);
  } finally {
    if (tickets.length > 0) await gate.release(tickets);
  }
}

/**
 * One attempt of each message's event, with one D1 round trip before the
 * requests and one after, however many there are. A scheduled attempt first
 * claims its number, so duplicate messages make one request; a manual one
 * (redeliver) does not count against the schedule. Either way the attempt is
 * logged, and a scheduled one that failed queues the next, signed afresh
 * when it runs.
 */
async function deliver(env: Env, settings: WebhookSettings, messages: CallbackMessage[]): Promise<void> {
  const now = clock.now();
  const found = await env.DB.batch(
    messages.map((m) =>
      m.attempt === undefined
        ? readForDelivery(env.DB, m.event_id)
        : claimForDelivery(env.DB, m.event_id, m.attempt, now),
    ),
  );
  const attempts = await Promise.all(
    messages.map(async (message, i) => {
      const delivery = deliveryFound(found[i] as D1Result);
      if (!delivery) return null;
      const attemptedAt = clock.now();
      const result = await attempt(settings, delivery.secrets, delivery.event);
      return { message, event: delivery.event, attemptedAt, result };
    }),
  );
  await record(
    env,
    settings.schedule,
    attempts.filter((a) => a !== null),
  );
}

/** How long one request may hold its origin's slot: its timeout, and a margin to record it. */
const leaseOf = (settings: WebhookSettings) => settings.timeoutMs + 5_000;

async function attempt(
  settings: WebhookSettings,
  secrets: SigningSecrets,
  event: WebhookEventRecord,
): Promise<PostResult> {
  // Checked again before every attempt: the rules may have tightened since submit.
  const verdict = checkCallbackUrl(event.callbackUrl, { allowLocal: settings.allowLocal });
  if (!verdict.ok) {
    const error = `callback_url ${verdict.reason}`;
    return { httpStatus: null, error, durationMs: 0, responseBody: null, retryAfter: null };
  }
  const now = clock.now();
  const headers = await webhookHeaders(signingSecrets(secrets, now), event.id, Math.floor(now / 1000), event.payload);
  return postCallback(verdict.url, headers, event.payload, settings.timeoutMs);
}

interface Attempt {
  message: CallbackMessage;
  event: WebhookEventRecord;
  /** Its own start: the batch's requests end at different times, and the log shows each one's. */
  attemptedAt: number;
  result: PostResult;
}

/** Logs the attempts and moves their events on, in one transaction; then queues the retries. */
async function record(env: Env, schedule: readonly number[], attempts: Attempt[]): Promise<void> {
  if (attempts.length === 0) return;
  const now = clock.now();
  const statements: D1PreparedStatement[] = [];
  const retries: MessageSendRequest<CallbackMessage>[] = [];
  for (const { message, event, attemptedAt, result } of attempts) {
    const manual = message.attempt === undefined;
    const scheduledAttempt = message.attempt ?? event.attempts;
    const verdict = judgeAttempt(scheduledAttempt, result.httpStatus, result.retryAfter, schedule, now);
    const retry = verdict.kind === "retry" && !manual ? verdict : null;
    const status = eventStatusAfter(verdict, manual);
    const nextAttemptAt = retry ? now + retry.delaySeconds * 1000 : null;
    statements.push(
      insertDelivery(env.DB, {
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
      }),
    );
    if (status) statements.push(settleEvent(env.DB, event.id, status, nextAttemptAt, now));
    if (verdict.kind !== "delivered") {
      console.warn("callback attempt failed", {
        eventId: event.id,
        jobId: event.jobId,
        httpStatus: result.httpStatus,
        error: result.error,
        next: verdict.kind,
      });
    }
    if (retry) {
      retries.push({
        body: { event_id: event.id, attempt: scheduledAttempt + 1, origin: message.origin },
        delaySeconds: retry.delaySeconds,
      });
    }
  }
  await env.DB.batch(statements);
  if (retries.length > 0) await env.CALLBACKS.sendBatch(retries);
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

/** The current secret, plus the previous one during the 24 h after a rotation. */
function signingSecrets(secrets: SigningSecrets, now: number): string[] {
  const previousValid = secrets.previous !== null && (secrets.previousValidUntil ?? 0) > now;
  return previousValid ? [secrets.current, secrets.previous as string] : [secrets.current];
}
