/**
 * What a handler throws to say how its attempt failed. Any other throw fails
 * the attempt with `error.code: "handler_error"` and is retried while
 * attempts remain.
 */

/** Codes the service itself gives a job's error: a handler may not claim them (they would mislead). */
const platformCodes: ReadonlySet<string> = new Set([
  "timeout",
  "canceled",
  "worker_lost",
  "unknown_job_type",
  "invalid_input",
  "expired",
  "storage_unavailable",
]);

/** A handler's own error code: snake_case, starting with a letter, at most 64 characters. */
const codePattern = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The code a failed attempt's `error.code` shows for a handler's `code`: the
 * code itself when it is snake_case (`codePattern`) and not one the service
 * uses for its own failures, else `"handler_error"`.
 */
export function handlerErrorCode(code: unknown): string {
  return typeof code === "string" && codePattern.test(code) && !platformCodes.has(code) ? code : "handler_error";
}

export interface JobErrorOptions {
  /** The attempt's `error.code` (snake_case; anything else shows as `handler_error`). */
  code?: string;
  /**
   * Seconds before the next attempt, instead of the backoff; capped at the
   * backoff's maximum (`limits.retryMaxDelaySeconds`, 15 min). Ignored when
   * no attempt remains.
   */
  retryAfterSeconds?: number;
}

/**
 * Fails this attempt with the handler's own `code` (and, with
 * `retryAfterSeconds`, its own delay before the next one); retried while
 * attempts remain, like any throw.
 */
export class JobError extends Error {
  override name = "JobError";
  readonly code: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: JobErrorOptions = {}) {
    super(message);
    this.code = options.code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * Ends the job `failed` at once with `code` (snake_case; anything else shows
 * as `handler_error`), whatever attempts remain: for failures a retry cannot
 * fix (bad input the schema could not see, a resource that is gone).
 */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
  readonly code: string | undefined;

  constructor(message: string, options: { code?: string } = {}) {
    super(message);
    this.code = options.code;
  }
}
