import { isoTime } from "../platform/clock";
import { getText } from "../store/blobs";
import { type JobRecord, type JobView, resultPath } from "./model";

/** The job as the API and callbacks show it. Reads the input from R2 when it lives there. */
export async function renderJob(bucket: R2Bucket, job: JobRecord): Promise<JobView> {
  return toJobView(job, await readInput(bucket, job));
}

export async function readInput(bucket: R2Bucket, job: JobRecord): Promise<unknown> {
  const text = job.inputKey === null ? job.inputJson : await getText(bucket, job.inputKey);
  return text === null ? null : JSON.parse(text);
}

export function toJobView(job: JobRecord, input: unknown): JobView {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    input,
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
    version: job.version,
  };
}
