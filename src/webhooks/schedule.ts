import { limits } from "../limits";
import { parseRetryAfter } from "../platform/retry-after";

/**
 * The Standard Webhooks retry schedule: the delay before each attempt,
 * starting with the first (immediately), 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
 */
export const standardSchedule: readonly number[] = [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

export type AttemptVerdict =
  | { kind: "delivered" }
  | { kind: "gone" }
  | { kind: "retry"; delaySeconds: number }
  | { kind: "exhausted" };

/**
 * What follows attempt `attempt` (1-based) that answered `status` (null: no
 * answer): success on a 2xx; stop on 410 Gone; else the next slot of the
 * schedule with ±20 % jitter, or at least a 429/503's Retry-After, capped
 * at twice the scheduled delay. The delay counts from `endedAt`, that
 * attempt's own end (ms), which is also the "now" a Retry-After date is read
 * against. `random` is in [0, 1).
 */
export function judgeAttempt(
  attempt: number,
  status: number | null,
  retryAfter: string | null,
  schedule: readonly number[],
  endedAt: number,
  random = Math.random(),
): AttemptVerdict {
  if (status !== null && status >= 200 && status < 300) return { kind: "delivered" };
  if (status === 410) return { kind: "gone" };
  const scheduled = schedule[attempt];
  if (scheduled === undefined) return { kind: "exhausted" };
  const jittered = scheduled * (1 + limits.webhookRetryJitter * (2 * random - 1));
  const asked = status === 429 || status === 503 ? parseRetryAfter(retryAfter, endedAt) : null;
  const delaySeconds = asked === null ? jittered : Math.max(jittered, Math.min(asked, 2 * scheduled));
  return { kind: "retry", delaySeconds: Math.round(delaySeconds) };
}

/**
 * The queue delay (whole seconds, ≥ 0) that makes a retry due at `dueAt`
 * (ms) arrive then when its message is sent at `sentAt` (ms): the time
 * spent recording the attempt comes off the delay rather than on top of it.
 */
export function queueDelaySeconds(dueAt: number, sentAt: number): number {
  return Math.max(0, Math.round((dueAt - sentAt) / 1000));
}
