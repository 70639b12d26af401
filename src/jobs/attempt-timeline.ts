import { isoTime } from "../platform/clock";
import type { LogObjectInfo } from "../store/blobs";
import type { JobError, JobRecord } from "./model";

/** One attempt in `GET /v1/jobs/{id}/attempts` (shape: contract/schemas.ts `JobAttempts`). */
export interface AttemptView {
  attempt: number;
  status: "running" | "succeeded" | "failed" | "canceled";
  /** About when the attempt ended (RFC 3339), or null when unknown or still running. */
  ended_at: string | null;
  /** The attempt's error; null for a success, or for an earlier attempt whose error was not kept (its worker died). */
  error: JobError | null;
}

/**
 * Each attempt's outcome from what is kept: the latest attempt's from the
 * job's row (status, error, finish time), earlier ones' from the error each
 * failed attempt wrote to its log object (job-log.ts `recordFailure`). An
 * earlier attempt with none failed without its consumer (`worker_lost`, the
 * tracker's verdict, is kept on the row only until the next attempt ends).
 */
export function attemptTimeline(job: JobRecord, logs: LogObjectInfo[]): AttemptView[] {
  const recorded = new Map(logs.filter((o) => o.error !== null).map((o) => [o.attempt, o]));
  return Array.from({ length: job.attempts }, (_, i): AttemptView => {
    const attempt = i + 1;
    const kept = recorded.get(attempt);
    const ended = isoTime(kept?.uploaded ?? null);
    if (attempt < job.attempts) return { attempt, status: "failed", ended_at: ended, error: kept?.error ?? null };
    switch (job.status) {
      case "running":
        return { attempt, status: "running", ended_at: null, error: null };
      case "succeeded":
        return { attempt, status: "succeeded", ended_at: isoTime(job.finishedAt), error: null };
      case "failed":
        return {
          attempt,
          status: "failed",
          ended_at: isoTime(job.finishedAt),
          error: job.error ?? kept?.error ?? null,
        };
      case "canceled":
        // Canceled while waiting for its retry: this attempt had failed before, with an error of its own.
        if (kept?.error && kept.error.code !== "canceled") {
          return { attempt, status: "failed", ended_at: ended, error: kept.error };
        }
        // A canceled job's row has no error (API.md); a running attempt that was stopped kept its own.
        return { attempt, status: "canceled", ended_at: isoTime(job.finishedAt), error: kept?.error ?? job.error };
      default:
        // Waiting for its retry: the row holds this attempt's error.
        return { attempt, status: "failed", ended_at: ended, error: job.error ?? kept?.error ?? null };
    }
  });
}
