import { getStream, getText } from "../store/blobs";
import type { JobRecord } from "./model";

/**
 * A job's input as the client sent it, from D1 or R2. Null only when its R2
 * object is gone (retention deleted it with the job).
 */
export async function readInputJson(bucket: R2Bucket, job: JobRecord): Promise<unknown> {
  const text = job.inputKey === null ? job.inputJson : await getText(bucket, job.inputKey);
  return text === null ? null : JSON.parse(text);
}

/** The input's JSON text for `GET /v1/jobs/{id}/input`: inline from D1, or streamed from R2 whatever its size. */
export async function readInputBody(bucket: R2Bucket, job: JobRecord): Promise<string | ReadableStream | null> {
  return job.inputKey === null ? job.inputJson : getStream(bucket, job.inputKey);
}
