/** The job as the domain sees it. Times are Unix milliseconds. */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export const jobStatuses = ["scheduled", "queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof jobStatuses)[number];

const terminalStatuses: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "canceled"]);
export const isTerminal = (status: JobStatus): boolean => terminalStatuses.has(status);

export const callbackEventTypes = ["job.succeeded", "job.failed", "job.canceled", "job.progress"] as const;
export type CallbackEventType = (typeof callbackEventTypes)[number];
export const defaultCallbackEvents: CallbackEventType[] = ["job.succeeded", "job.failed", "job.canceled"];

export interface Progress {
  percent: number;
  message: string | null;
  updated_at: number;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  id: string;
  tenantId: string;
  type: string;
  status: JobStatus;
  /** The input as the client sent it, as JSON text ≤ 64 KiB; null when it lives in R2 under `inputKey`. */
  inputJson: string | null;
  inputKey: string | null;
  progress: Progress | null;
  attempts: number;
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
  version: number;
  updatedAt: number;
}

/** The public representation of a job (API.md "Jobs"). */
export interface JobView {
  id: string;
  type: string;
  status: JobStatus;
  /** The input as sent when its JSON is ≤ 64 KiB, else null: `input_url` serves it whatever its size. */
  input: unknown;
  /** `/v1/jobs/{id}/input`, always set. */
  input_url: string;
  progress: { percent: number; message: string | null; updated_at: string } | null;
  attempts: number;
  max_attempts: number;
  timeout_seconds: number;
  result: unknown;
  result_url: string | null;
  error: JobError | null;
  callback_url: string | null;
  callback_events: CallbackEventType[] | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
  run_at: string;
  started_at: string | null;
  finished_at: string | null;
  version: number;
}

export const resultPath = (jobId: string) => `/v1/jobs/${jobId}/result`;
export const inputPath = (jobId: string) => `/v1/jobs/${jobId}/input`;

/** Whether the job asked to be told about this event. */
export function wantsEvent(job: JobRecord, type: CallbackEventType): boolean {
  if (job.callbackUrl === null) return false;
  return (job.callbackEvents ?? defaultCallbackEvents).includes(type);
}

/** A submit body, already checked for shape and ranges by the API schema. */
export interface SubmitJobRequest {
  type: string;
  input?: unknown;
  callback_url?: string | null;
  callback_events?: CallbackEventType[] | null;
  delay_seconds?: number;
  max_attempts?: number;
  timeout_seconds?: number;
  metadata?: Record<string, unknown> | null;
}
