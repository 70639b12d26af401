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

/** Deletes objects, up to `limits.r2MaxKeysPerDelete` per request; a key with no object is no error. */
export async function deleteObjects(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += limits.r2MaxKeysPerDelete) {
    await bucket.delete(keys.slice(i, i + limits.r2MaxKeysPerDelete));
  }
}
