import { limits } from "../limits";

/**
 * Seconds to wait before the next attempt after `failedAttempts` failures:
 * base, doubling each time, capped at 15 min, then ±20 % jitter so a burst of
 * failures does not retry in lockstep. `random` is in [0, 1).
 */
export function nextRetryDelaySeconds(failedAttempts: number, baseSeconds: number, random = Math.random()): number {
  const exponential = baseSeconds * 2 ** Math.max(0, failedAttempts - 1);
  const capped = Math.min(exponential, limits.retryMaxDelaySeconds);
  const jitter = 1 + limits.retryJitter * (2 * random - 1);
  return Math.min(limits.retryMaxDelaySeconds, Math.max(0, capped * jitter));
}
