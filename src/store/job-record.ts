import type { CallbackEventType, JobStatus } from "../contract/schemas";

/**
 * A job as it is stored, and as the domain (jobs/) works with it. Times are
 * Unix milliseconds. Storage defines it, so storage never imports the domain.
 */
/** The latest progress an attempt reported. */
export interface Progress {
  percent: number;
  message: string | null;
  updated_at: number;
}

/** Why the last attempt failed. */
export interface JobError {
  code: string;
  message: string;
}

/**
 * The one delivered attempt of a held event (`HeldEvent`): only a first
 * attempt that delivered is recorded on the job's row.
 */
export interface HeldAttempt {
  attemptedAt: number;
  durationMs: number;
  httpStatus: number;
  /** Up to the first KiB of the receiver's answer (limits.maxCallbackResponseBytes). */
  responseBody: string | null;
}

/**
 * A finished job's callback event held on the job's row instead of a row
 * of its own in `webhook_events` (migration 0021): while `delivered` is
 * null its first attempt is owed (the job consumer that finished the job
 * makes it; the sweep hands a lost one to the callbacks queue), then it is
 * that attempt, delivered. Its type is `job.<status>`, its URL the job's.
 */
export interface HeldEvent {
  id: string;
  createdAt: number;
  delivered: HeldAttempt | null;
}

/** One job: everything its row holds. */
export interface JobRecord {
  id: string;
  tenantId: string;
  type: string;
  status: JobStatus;
  /** The input as the client sent it, as JSON text ≤ 64 KiB; null when it lives in R2 under `inputKey`. */
  inputJson: string | null;
  inputKey: string | null;
  progress: Progress | null;
  /** Attempts started so far (API.md), given-back ones included. */
  attempts: number;
  /** Attempts given back because R2 stayed unavailable: started, but not counted toward `maxAttempts`. */
  givenBack: number;
  maxAttempts: number;
  timeoutSeconds: number;
  /** The result as JSON text when ≤ 64 KiB; else null and the result lives in R2 under `resultKey`. */
  resultJson: string | null;
  resultKey: string | null;
  error: JobError | null;
  callbackUrl: string | null;
  callbackEvents: CallbackEventType[] | null;
  /** The caller's metadata object as JSON text. */
  metadataJson: string | null;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseExpiresAt: number | null;
  /**
   * The token of the begin call that started the running (or last) attempt,
   * chosen by its caller (jobs/run.ts); null when the caller named none.
   */
  startToken: string | null;
  /** From `ttl_seconds`: a job not started by then ends canceled with code `expired`. */
  expiresAt: number | null;
  /** The job this one re-runs (`POST /v1/jobs/{id}/retry`). */
  retryOf: string | null;
  /** The batch it was submitted in (`POST /v1/jobs/batch`). */
  batchId: string | null;
  /** The schedule that created it. */
  scheduleId: string | null;
  version: number;
  updatedAt: number;
  /**
   * Whether the job may have left a log object in R2 (`ctx.log`, or a failed
   * attempt's error): true until its first attempt succeeds reporting that it
   * wrote none, which makes it false, and true after anything else. Only a
   * job with none may have its row taken over once expired
   * (`reuseExpiredJob`), so no object is left that nothing names. A writer
   * that does not know the field (a Worker from before migration 0022)
   * leaves it as the insert made it: true.
   */
  logged: boolean;
  /** Its terminal callback event while the row holds it; null or absent (a record kept from before 0021) when none. */
  heldEvent?: HeldEvent | null;
}
