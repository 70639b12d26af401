import { limits } from "../limits";
import { backoffSeconds } from "../platform/backoff";

/**
 * Seconds to wait before the next attempt after `failedAttempts` failures:
 * base, doubling each time, capped at 15 min, then ±20 % jitter so a burst of
 * failures does not retry in lockstep. `random` is in [0, 1).
 */
export function nextRetryDelaySeconds(failedAttempts: number, baseSeconds: number, random = Math.random()): number {
  const backoff = { baseSeconds, maxSeconds: limits.retryMaxDelaySeconds, jitter: limits.retryJitter };
  return backoffSeconds(failedAttempts, backoff, random);
}
