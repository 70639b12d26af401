import { limits } from "../limits";

/** Shape of an exponential backoff: the first delay, its cap and the jitter's fraction (0.2 = ±20 %). */
export interface Backoff {
  baseSeconds: number;
  maxSeconds: number;
  jitter: number;
}

/**
 * Seconds to wait after the `n`th failure (n ≥ 1): `baseSeconds`, doubling
 * each time, capped at `maxSeconds`, then jittered so a burst of failures
 * does not retry in lockstep (never above the cap). `random` is in [0, 1).
 */
export function backoffSeconds(
  n: number,
  { baseSeconds, maxSeconds, jitter }: Backoff,
  random = Math.random(),
): number {
  const capped = Math.min(baseSeconds * 2 ** Math.max(0, n - 1), maxSeconds);
  return Math.min(maxSeconds, Math.max(0, capped * (1 + jitter * (2 * random - 1))));
}

/**
 * Seconds to wait after the `n`th failure (n ≥ 1) of work that met an
 * infrastructure failure (D1 overloaded or down, a Durable Object
 * unreachable): back-pressure, 5 s doubling to 10 min, jittered
 * (`limits.infraRetryBaseDelaySeconds` …). Whole seconds, as a queue
 * message's `retry({ delaySeconds })` takes them (`n`: its delivery count).
 */
export function infraRetryDelaySeconds(n: number, random = Math.random()): number {
  const backoff = {
    baseSeconds: limits.infraRetryBaseDelaySeconds,
    maxSeconds: limits.infraRetryMaxDelaySeconds,
    jitter: limits.retryJitter,
  };
  return Math.ceil(backoffSeconds(n, backoff, random));
}
