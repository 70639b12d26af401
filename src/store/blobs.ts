import { limits } from "../limits";

/** R2 holds inputs and results too large to keep inline in D1. */

export const inputKey = (jobId: string) => `inputs/${jobId}.json`;
/** One object per attempt, so a stale attempt can never overwrite the result that counted. */
export const resultKey = (jobId: string, attempt: number) => `results/${jobId}/${attempt}.json`;

export async function putJson(bucket: R2Bucket, key: string, json: string): Promise<void> {
  await bucket.put(key, json, { httpMetadata: { contentType: "application/json; charset=utf-8" } });
}

export async function getText(bucket: R2Bucket, key: string): Promise<string | null> {
  const object = await bucket.get(key);
  return object ? object.text() : null;
}

export async function getStream(bucket: R2Bucket, key: string): Promise<ReadableStream | null> {
  const object = await bucket.get(key);
  return object ? object.body : null;
}

export async function deleteObject(bucket: R2Bucket, key: string): Promise<void> {
  await bucket.delete(key);
}

/**
 * A job's log lines (`ctx.log`): one NDJSON object per attempt, rewritten
 * whole as the attempt logs more, with its line count and whether lines were
 * cut or dropped in its custom metadata.
 */
export const logKey = (jobId: string, attempt: number) => `${logPrefix(jobId)}${attempt}.ndjson`;
const logPrefix = (jobId: string) => `logs/${jobId}/`;

/**
 * What a log object's metadata says: its attempt, its line count, whether any
 * line was cut or dropped, and — for an attempt that failed — its error. A
 * failed attempt writes its object even when it logged nothing, so the
 * console can show every attempt's error; `uploaded` (Unix ms) is then about
 * when the attempt ended (its last write).
 */
export interface LogObjectInfo {
  key: string;
  attempt: number;
  lines: number;
  truncated: boolean;
  error: { code: string; message: string } | null;
  uploaded: number;
}

/** Writes (or rewrites) one attempt's log object: `ndjson` holds its `info.lines` lines. */
export async function putLogObject(
  bucket: R2Bucket,
  jobId: string,
  info: Omit<LogObjectInfo, "key" | "uploaded">,
  ndjson: string,
): Promise<void> {
  const error: Record<string, string> =
    info.error === null ? {} : { error_code: info.error.code, error_message: info.error.message };
  await bucket.put(logKey(jobId, info.attempt), ndjson, {
    httpMetadata: { contentType: "application/x-ndjson; charset=utf-8" },
    customMetadata: { lines: String(info.lines), truncated: String(info.truncated), ...error },
  });
}

/**
 * The job's log objects, by attempt: at most `limits.maxAttempts`, plus one an
 * attempt given back (one per 10 min of an R2 outage), far below a list page.
 */
export async function listLogObjects(bucket: R2Bucket, jobId: string): Promise<LogObjectInfo[]> {
  const listed = await bucket.list({ prefix: logPrefix(jobId), include: ["customMetadata"] });
  return listed.objects
    .map((object) => ({
      key: object.key,
      attempt: Number(object.key.slice(logPrefix(jobId).length, -".ndjson".length)),
      lines: Number(object.customMetadata?.lines ?? 0),
      truncated: object.customMetadata?.truncated === "true",
      error:
        object.customMetadata?.error_code === undefined
          ? null
          : { code: object.customMetadata.error_code, message: object.customMetadata.error_message ?? "" },
      uploaded: object.uploaded.getTime(),
    }))
    .sort((a, b) => a.attempt - b.attempt);
}

/** Deletes objects, up to `limits.r2MaxKeysPerDelete` per request; a key with no object is no error. */
export async function deleteObjects(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += limits.r2MaxKeysPerDelete) {
    await bucket.delete(keys.slice(i, i + limits.r2MaxKeysPerDelete));
  }
}
