import type { z } from "zod";
import {
  type CallbackEventType,
  callbackEventTypes,
  type JobSchema,
  type JobStatus,
  jobStatuses,
  type OnCompleteSchema,
  type SubmitJobSchema,
  terminalJobStatuses,
} from "../contract/schemas";
import type { JobRecord } from "../store/job-record";

export type { JobError, JobRecord, Progress } from "../store/job-record";
export type { CallbackEventType, JobStatus };
export { callbackEventTypes, jobStatuses };

/** The job as the domain sees it: the stored record, the contract's views. Times are Unix milliseconds. */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const terminalStatuses: ReadonlySet<JobStatus> = new Set(terminalJobStatuses);
export const isTerminal = (status: JobStatus): boolean => terminalStatuses.has(status);

export const defaultCallbackEvents: CallbackEventType[] = ["job.succeeded", "job.failed", "job.canceled"];

/** The public representation of a job (API.md "Jobs"): the contract's schema's type. */
export type JobView = z.output<typeof JobSchema>;

export const resultPath = (jobId: string) => `/v1/jobs/${jobId}/result`;
export const inputPath = (jobId: string) => `/v1/jobs/${jobId}/input`;

/** Whether the job asked to be told about this event. */
export function wantsEvent(job: JobRecord, type: CallbackEventType): boolean {
  if (job.callbackUrl === null) return false;
  return (job.callbackEvents ?? defaultCallbackEvents).includes(type);
}

/** A submit body, already checked for shape and ranges by the contract's schema. */
export type SubmitJobRequest = z.output<typeof SubmitJobSchema>;

/** A batch's `on_complete`, already checked for shape by the contract's schema. */
export type OnCompleteRequest = z.output<typeof OnCompleteSchema>;
