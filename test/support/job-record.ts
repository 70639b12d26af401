import type { JobRecord } from "../../src/jobs/model";

/**
 * A job record as a test needs it: a queued echo job with `{}` as input, 3
 * attempts and a 60 s timeout, made, due and last changed at `at` (Unix ms),
 * `fields` over those. Works in Node and in workerd.
 */
export function jobRecord(fields: Partial<JobRecord> = {}, at = 0): JobRecord {
  return {
    id: "job_1",
    tenantId: "ten_1",
    type: "echo",
    status: "queued",
    inputJson: "{}",
    inputKey: null,
    progress: null,
    attempts: 0,
    givenBack: 0,
    maxAttempts: 3,
    timeoutSeconds: 60,
    resultJson: null,
    resultKey: null,
    error: null,
    callbackUrl: null,
    callbackEvents: null,
    metadataJson: null,
    createdAt: at,
    runAt: at,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: null,
    startToken: null,
    expiresAt: null,
    retryOf: null,
    batchId: null,
    scheduleId: null,
    version: 1,
    updatedAt: at,
    logged: false,
    ...fields,
  };
}
