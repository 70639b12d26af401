import type { CallbackMessage, Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { settleEach } from "../platform/queue-messages";
import {
  claimAttempt,
  type EventStatus,
  findEventForDelivery,
  insertDelivery,
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
  const leaseMs = leaseOf(settings);
  const byOrigin = Map.groupBy(batch.messages, (message) => message.body.origin);
  await Promise.all(
    [...byOrigin].map(async ([origin, messages]) => {
      const gate = env.ORIGIN_GATE.getByName(origin);
      let tickets: string[];
      try {
        tickets = await gate.acquire(messages.length, leaseMs, settings.maxInFlightPerOrigin);
      } catch (error) {
        console.error("origin gate unavailable; the queue will retry", { origin, error: String(error) });
        for (const message of messages) message.retry();
        return;
      }
      const admitted = messages.slice(0, tickets.length);
      const waiting = messages.slice(tickets.length);
      try {
        await Promise.all([
          settleEach({ queue: batch.queue, messages: admitted }, (body) => deliver(env, body, settings), FAILURE),
          settleEach({ queue: batch.queue, messages: waiting }, (body) => waitForOrigin(env, body), FAILURE),
        ]);
      } finally {
        if (tickets.length > 0) await gate.release(tickets);
      }
    }),
  );
}

/**
 * One attempt of one event. A scheduled attempt first claims its number, so
 * duplicate messages make one request; a manual one (redeliver) does not
 * count against the schedule. Either way the attempt is logged, and a
 * scheduled one that failed queues the next, signed afresh when it runs.
 */
export async function deliver(env: Env, message: CallbackMessage, settings: WebhookSettings): Promise<void> {
  const found = await findEventForDelivery(env.DB, message.event_id);
  if (!found) return;
  const { event, secrets } = found;
  const manual = message.attempt === undefined;
  if (!manual && event.status !== "pending") return;
  const now = clock.now();
  const claimUntil = now + leaseOf(settings) * 2;
  if (!manual && !(await claimAttempt(env.DB, event.id, message.attempt as number, claimUntil, now))) return;
  const result = await attempt(settings, secrets, event);
  await record(env, settings, event, message, result);
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

async function record(
  env: Env,
  { schedule }: WebhookSettings,
  event: WebhookEventRecord,
  message: CallbackMessage,
  result: PostResult,
) {
  const now = clock.now();
  const scheduledAttempt = message.attempt ?? event.attempts;
  const verdict = judgeAttempt(scheduledAttempt, result.httpStatus, result.retryAfter, schedule, now);
  const manual = message.attempt === undefined;
  const retry = verdict.kind === "retry" && !manual ? verdict : null;
  const status = eventStatusAfter(verdict, manual);
  const nextAttemptAt = retry ? now + retry.delaySeconds * 1000 : null;
  const statements = [
    insertDelivery(env.DB, {
      eventId: event.id,
      jobId: event.jobId,
      tenantId: event.tenantId,
      trigger: manual ? "manual" : "scheduled",
      attemptedAt: now - result.durationMs,
      durationMs: result.durationMs,
      httpStatus: result.httpStatus,
      error: result.error,
      responseBody: result.responseBody,
      nextAttemptAt,
    }),
  ];
  if (status) statements.push(settleEvent(env.DB, event.id, status, nextAttemptAt, now));
  await env.DB.batch(statements);
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
    await env.CALLBACKS.send(
      { event_id: event.id, attempt: scheduledAttempt + 1, origin: message.origin },
      { delaySeconds: retry.delaySeconds },
    );
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
async function waitForOrigin(env: Env, message: CallbackMessage): Promise<void> {
  const delaySeconds = limits.originBusyDelaySeconds + Math.round(Math.random() * limits.originBusyDelaySeconds);
  await env.CALLBACKS.send(message, { delaySeconds });
}

/** The current secret, plus the previous one during the 24 h after a rotation. */
function signingSecrets(secrets: SigningSecrets, now: number): string[] {
  const previousValid = secrets.previous !== null && (secrets.previousValidUntil ?? 0) > now;
  return previousValid ? [secrets.current, secrets.previous as string] : [secrets.current];
}
