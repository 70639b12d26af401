import { describe, expect, it } from "vitest";
import { attemptTimeline } from "../../src/jobs/attempt-timeline";
import type { LogObjectInfo } from "../../src/store/blobs";
import { jobRecord } from "../support/job-record";

const NOW = 1_800_000_000_000;

/** The log object an attempt that failed with `code` wrote when it ended, at `uploaded` (ms). */
const failedLog = (attempt: number, code: string, uploaded: number): LogObjectInfo => ({
  key: `logs/job_1/${attempt}.ndjson`,
  attempt,
  lines: 0,
  truncated: false,
  error: { code, message: `${code} on attempt ${attempt}` },
  uploaded,
});

describe("attemptTimeline", () => {
  it("shows an attempt that failed before the job was canceled, in its wait for a retry, as failed when it ended", () => {
    const job = jobRecord({ status: "canceled", attempts: 1, error: null, finishedAt: NOW });
    expect(attemptTimeline(job, [failedLog(1, "boom", NOW - 60_000)])).toEqual([
      {
        attempt: 1,
        status: "failed",
        ended_at: new Date(NOW - 60_000).toISOString(),
        error: { code: "boom", message: "boom on attempt 1" },
      },
    ]);
  });

  it("shows a running attempt stopped by the cancel as canceled, at the job's end", () => {
    const job = jobRecord({ status: "canceled", attempts: 2, error: null, finishedAt: NOW });
    const logs = [failedLog(1, "handler_error", NOW - 60_000), failedLog(2, "canceled", NOW)];
    expect(attemptTimeline(job, logs).map((a) => [a.attempt, a.status, a.ended_at, a.error?.code])).toEqual([
      [1, "failed", new Date(NOW - 60_000).toISOString(), "handler_error"],
      [2, "canceled", new Date(NOW).toISOString(), "canceled"],
    ]);
  });
});
