/**
 * When the client retries: 429 and 503 only, a bounded number of times,
 * sleeping what Retry-After asks (else 1 s, 2 s, 4 s, …), never more in all
 * than `maxWaitSeconds`.
 */
export interface RetryPolicy {
  /** Requests per call in all, the first included: 4 allows 3 retries; 1 turns retrying off. */
  attempts: number;
  /**
   * Most seconds one call sleeps across its retries. A Retry-After asking for
   * more than is left is not waited for: the error is thrown at once, with
   * its `retryAfter`, for the caller to decide.
   */
  maxWaitSeconds: number;
}

/** 4 requests and 30 s of waiting: a rate limit's next minute, or a short storage outage (the service asks 5 s). */
export const defaultRetryPolicy: RetryPolicy = { attempts: 4, maxWaitSeconds: 30 };

/** One failed request, as the retry decision sees it. */
export interface FailedRequest {
  method: string;
  /** Whether the request carried an Idempotency-Key. */
  idempotencyKey: boolean;
  status: number;
  /** Retry-After in seconds, or null. */
  retryAfter: number | null;
  /** 1 for the first request of the call, 2 for the first retry, … */
  attempt: number;
  /** Milliseconds already slept by this call's earlier retries. */
  waitedMs: number;
}

/**
 * Milliseconds to sleep before sending `failed` again, or null to throw its error.
 *
 * - 429 is retried whatever the method: the rate limiter answers it before any
 *   route runs, so a refused `POST /v1/jobs` created nothing.
 * - 503 is retried for GETs, and for POSTs only with an Idempotency-Key: the
 *   service answers 503 when its storage failed, possibly after the write took
 *   effect, so a repeat without a key could run a job twice; with the key the
 *   service answers the original instead.
 */
export function retryDelayMs(failed: FailedRequest, policy: RetryPolicy): number | null {
  if (failed.status !== 429 && failed.status !== 503) return null;
  if (failed.status === 503 && failed.method !== "GET" && !failed.idempotencyKey) return null;
  if (failed.attempt >= policy.attempts) return null;
  const delayMs = failed.retryAfter !== null ? failed.retryAfter * 1000 : 1000 * 2 ** (failed.attempt - 1);
  return failed.waitedMs + delayMs > policy.maxWaitSeconds * 1000 ? null : delayMs;
}
