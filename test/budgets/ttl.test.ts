import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createTenant, dbOf, eventually, submit, type TestTenant, tracker } from "../workers/helpers";

const JOBS = 3;

const meter = async () => (await (await call("/__metrics")).json()) as Record<string, number>;

/** Runs `JOBS` echo jobs (with `ttl_seconds` if given) one after another; answers what they cost per job. */
async function perJob(tenant: TestTenant, ttlSeconds?: number) {
  await call("/__metrics/reset", { method: "POST" });
  const alarms: (number | null)[] = [];
  for (let i = 0; i < JOBS; i++) {
    const job = await submit(tenant, { type: "echo", input: i, ttl_seconds: ttlSeconds });
    alarms.push(await alarmOf(job.id));
    await eventually(
      () => dbOf(job.id).prepare("SELECT status FROM jobs WHERE id = ?").bind(job.id).first<{ status: string }>(),
      (row) => row?.status === "succeeded",
    );
    // A finished job's tracker holds no storage, its expiry's alarm included.
    expect(await alarmOf(job.id)).toBeNull();
  }
  const counts = await meter();
  const sum = (suffix: string) =>
    Object.entries(counts).reduce((total, [key, n]) => (key.endsWith(suffix) ? total + n : total), 0) / JOBS;
  return {
    d1RoundTrips: sum(":round_trips"),
    rowsWritten: sum("d1_rows_written"),
    queueMessages: sum(":messages"),
    trackerRequests: (counts["do:JOB_TRACKER:requests"] ?? 0) / JOBS,
    alarms,
  };
}

/**
 * The tracker's pending alarm. Read directly: the metering counts storage
 * writes over every object, the rate limiter's too, whose leases follow the clock.
 */
const alarmOf = (id: string) => runInDurableObject(tracker(id), (_instance, state) => state.storage.getAlarm());

describe("a job with ttl_seconds and the operation budgets", () => {
  it("costs one tracker request, three Durable Object storage writes and its start's row more than a plain job", async () => {
    const tenant = await createTenant();
    await perJob(tenant); // the isolate learns the key
    const plain = await perJob(tenant);
    const expiring = await perJob(tenant, 3600);
    // The expiry's alarm is armed at submit (one request; two storage writes: the alarm and the job's
    // tenant beside it) and deleted with the tracker's storage when the job finishes (one more write).
    // Its first attempt's start is written as it begins (lifecycle.ts storesStartAtOnce), not with its
    // end: an alarm in a fresh instance must find it started. The queue sees no difference.
    expect(expiring).toEqual({
      ...plain,
      d1RoundTrips: plain.d1RoundTrips + 1,
      rowsWritten: plain.rowsWritten + 1,
      trackerRequests: plain.trackerRequests + 1,
      alarms: Array.from({ length: JOBS }, () => expect.any(Number)),
    });
    expect(plain.alarms).toEqual(Array.from({ length: JOBS }, () => null));
  });
});
