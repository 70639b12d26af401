import { isoTime } from "../platform/clock";
import { inputPath, type JobRecord, type JobView, resultPath } from "./model";

/**
 * The job as the API, its streams and callbacks show it. Only what D1 holds
 * inline goes in: an input or result over 64 KiB is `null` here and served
 * by `input_url` / `result_url`, so no view, stream frame or stored event
 * grows with it.
 */
export function toJobView(job: JobRecord): JobView {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    input: job.inputJson === null ? null : JSON.parse(job.inputJson),
    input_url: inputPath(job.id),
    progress: job.progress && { ...job.progress, updated_at: isoTime(job.progress.updated_at) as string },
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    timeout_seconds: job.timeoutSeconds,
    result: job.resultJson === null ? null : JSON.parse(job.resultJson),
    result_url: job.resultJson !== null || job.resultKey !== null ? resultPath(job.id) : null,
    error: job.error,
    callback_url: job.callbackUrl,
    callback_events: job.callbackEvents,
    metadata: job.metadataJson === null ? null : JSON.parse(job.metadataJson),
    created_at: isoTime(job.createdAt) as string,
    run_at: isoTime(job.runAt) as string,
    started_at: isoTime(job.startedAt),
    finished_at: isoTime(job.finishedAt),
    // `?? null`: a tracker may hold a record stored before these fields existed.
    expires_at: isoTime(job.expiresAt ?? null),
    retry_of: job.retryOf ?? null,
    batch_id: job.batchId ?? null,
    schedule_id: job.scheduleId ?? null,
    version: job.version,
  };
}
