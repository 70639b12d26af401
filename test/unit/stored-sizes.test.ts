import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../src/jobs/model";
import { toJobView } from "../../src/jobs/view";
import { limits } from "../../src/limits";
import { buildEvent } from "../../src/webhooks/events";

/** D1: "Maximum string, BLOB or table row size: 2,000,000 bytes" (developers.cloudflare.com/d1/platform/limits). */
const d1MaxValueBytes = 2_000_000;
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

/** A JSON text of exactly `size` bytes, as the API stores it (a string; re-serialising gives the same bytes). */
const storedJson = (size: number) => JSON.stringify("é".repeat((size - 2) / 2));
/** The longest message a bound allows, in its most expensive JSON form: each control character becomes `\u0000`. */
const worstMessage = (chars: number) => "\u0000".repeat(chars);

/** The largest job the limits allow: every field that reaches a job row or an event at its bound. */
const largestJob: JobRecord = {
  id: "job_01JD7Z3Q1X0000000000000000",
  tenantId: "ten_01JD7Z3Q1X0000000000000000",
  type: "t".repeat(100),
  status: "failed",
  inputJson: storedJson(limits.maxInlineJsonBytes),
  inputKey: null,
  progress: { percent: 100, message: worstMessage(limits.maxProgressMessageChars), updated_at: 0 },
  attempts: limits.maxAttempts,
  givenBack: 0,
  maxAttempts: limits.maxAttempts,
  timeoutSeconds: limits.maxTimeoutSeconds,
  resultJson: storedJson(limits.maxInlineJsonBytes),
  resultKey: null,
  error: { code: "handler_error", message: worstMessage(limits.maxErrorMessageChars) },
  callbackUrl: `https://client.example/${"€".repeat(limits.maxCallbackUrlLength - 23)}`,
  callbackEvents: ["job.succeeded", "job.failed", "job.canceled", "job.progress"],
  metadataJson: JSON.stringify({ m: "x".repeat(limits.maxMetadataBytes - 8) }),
  createdAt: 0,
  runAt: 0,
  startedAt: 0,
  finishedAt: 0,
  leaseExpiresAt: null,
  startToken: "t".repeat(Math.ceil((limits.startTokenBytes * 4) / 3)), // base64url
  expiresAt: 0,
  retryOf: "job_01JD7Z3Q1X0000000000000000",
  batchId: "bat_01JD7Z3Q1X0000000000000000",
  scheduleId: "sch_01JD7Z3Q1X0000000000000000",
  version: 1_000_000,
  updatedAt: 0,
  logged: true,
};

describe("stored sizes", () => {
  it("builds the largest job from fields each at its bound", () => {
    expect(bytes(largestJob.inputJson as string)).toBe(limits.maxInlineJsonBytes);
    expect(bytes(largestJob.metadataJson as string)).toBe(limits.maxMetadataBytes);
    expect(largestJob.callbackUrl).toHaveLength(limits.maxCallbackUrlLength);
  });

  it("keeps the largest job's webhook event far below D1's 2 MB per value", () => {
    const view = toJobView(largestJob);
    expect(view.input).not.toBeNull();
    const event = buildEvent(largestJob.tenantId, largestJob.callbackUrl as string, "job.failed", view, 0);
    // 2 × 64 KiB inline JSON, 4 KiB metadata, 2 × 6 KB of escaped messages, a 6 KB URL, the envelope.
    expect(bytes(event.payload)).toBeLessThan(160 * 1024);
    expect(bytes(event.payload)).toBeLessThan(d1MaxValueBytes);
  });

  it("keeps the largest job's row, all columns together, far below D1's 2 MB per row", () => {
    expect(bytes(JSON.stringify(largestJob))).toBeLessThan(d1MaxValueBytes / 10);
  });

  it("shows an input stored in R2 as null, so no view or event grows with it", () => {
    const view = toJobView({ ...largestJob, inputJson: null, inputKey: "inputs/job_x.json" });
    expect(view).toMatchObject({ input: null, input_url: `/v1/jobs/${largestJob.id}/input` });
  });
});
