import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { AttemptLog, readJobLog } from "../../src/jobs/job-log";
import type { JobView } from "../../src/jobs/model";
import { purgeExpired } from "../../src/jobs/retention";
import { limits } from "../../src/limits";
import { authed, createTenant, errorOf, eventually, getJob, submit, type TestTenant, untilStatus } from "./helpers";
import { registerProbe } from "./probe-type";

beforeAll(registerProbe);

interface Logs {
  logs: { at: string; attempt: number; level: string; message: string }[];
  truncated: boolean;
}

async function logsOf(tenant: TestTenant, id: string): Promise<Logs> {
  const res = await authed(tenant, `/v1/jobs/${id}/logs`);
  expect(res.status).toBe(200);
  return (await res.json()) as Logs;
}

const logObjects = async (id: string) => (await env.BLOBS.list({ prefix: `logs/${id}/` })).objects.map((o) => o.key);

describe("handler errors", () => {
  it("ends a job failed at once on a NonRetryableError, with its code, whatever attempts remain", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 5, retryable: false, code: "card_declined", message: "declined" },
      max_attempts: 5,
    });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 1, error: { code: "card_declined", message: "declined" } });
  });

  it("shows a NonRetryableError without a valid code as handler_error, still not retried", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 5, retryable: false, code: "Card-Declined" },
      max_attempts: 5,
    });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 1, error: { code: "handler_error" } });
  });

  it("fails each attempt with a JobError's own code and retries it while attempts remain", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 9, code: "quota_exceeded" },
      max_attempts: 2,
    });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 2, error: { code: "quota_exceeded" } });
    const bad = await submit(tenant, { type: "fail", input: { fail_attempts: 9, code: "timeout" }, max_attempts: 1 });
    expect((await untilStatus(tenant, bad.id, "failed")).error?.code).toBe("handler_error");
  });

  it("waits a JobError's retryAfterSeconds before the next attempt instead of the backoff", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "test_probe", input: { action: "retry_after" } });
    const waiting = await eventually(
      () => getJob(tenant, job.id),
      (j) => j.status === "queued" && j.attempts === 1,
    );
    expect(waiting.error).toEqual({ code: "upstream_busy", message: "upstream busy" });
    // The backoff would wait about 1 s here (RETRY_BASE_DELAY_SECONDS); the handler asked for 4.
    const delayMs = Date.parse(waiting.run_at) - Date.parse(waiting.started_at as string);
    expect(delayMs).toBeGreaterThanOrEqual(4_000);
    expect(delayMs).toBeLessThan(5_000);
    expect(await untilStatus(tenant, job.id, "succeeded")).toMatchObject({ attempts: 2, result: { attempt: 2 } });
  });

  // Before (new user, 2026-12-01), Infinity fell back to the ~2 s backoff: "above 900 s it waits 900 s".
  it("waits 900 s for a JobError's retryAfterSeconds of Infinity", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "test_probe",
      input: { action: "throw", odd: "infinite_retry_after" },
      max_attempts: 2,
    });
    const waiting = await eventually(
      () => getJob(tenant, job.id),
      (j) => j.status === "scheduled" || (j.status === "queued" && j.attempts === 1),
    );
    const delayMs = Date.parse(waiting.run_at) - Date.parse(waiting.started_at as string);
    expect(delayMs).toBeGreaterThanOrEqual(900_000);
    expect(delayMs).toBeLessThan(901_000);
  });

  // Before, a result JSON.stringify answers undefined for was kept by the tracker as if D1 were down, for good:
  // the job stayed running, kept its tenant's slot and answered a cancel 500. A thrown value whose message
  // could not be read threw in the consumer, and the job ended an hour later as worker_lost.
  it("fails the attempt of a handler whose result JSON cannot encode, or whose thrown value cannot be read, as handler_error", async () => {
    const tenant = await createTenant();
    const cases = [
      ["return", "function", "The handler's result cannot be encoded as JSON (typeof function)."],
      ["return", "symbol", "The handler's result cannot be encoded as JSON (typeof symbol)."],
      ["return", "to_json_undefined", "The handler's result cannot be encoded as JSON (typeof object)."],
      ["return", "bigint", "Do not know how to serialize a BigInt"],
      ["return", "cycle", "Converting circular structure to JSON"],
      ["throw", "numeric_message", "404"],
      ["throw", "null_prototype", "The handler threw a value that cannot be read."],
      ["throw", "throwing_message", "The handler threw a value that cannot be read."],
      ["throw", "revoked_proxy", "The handler threw a value that cannot be read."],
      ["throw", "undefined", "undefined"],
    ] as const;
    const jobs = await Promise.all(
      cases.map(([action, odd]) => submit(tenant, { type: "test_probe", input: { action, odd }, max_attempts: 1 })),
    );
    for (const [k, [, odd, message]] of cases.entries()) {
      const done = await untilStatus(tenant, (jobs[k] as JobView).id, "failed");
      expect({ odd, attempts: done.attempts, code: done.error?.code }).toEqual({
        odd,
        attempts: 1,
        code: "handler_error",
      });
      expect(done.error?.message).toContain(message);
    }
    // What can be read of it still counts (breaker): a NonRetryableError whose message cannot be read keeps its code.
    const final = await submit(tenant, {
      type: "test_probe",
      input: { action: "throw", odd: "final_unreadable_message" },
      max_attempts: 2,
    });
    expect(await untilStatus(tenant, final.id, "failed")).toMatchObject({
      attempts: 1,
      error: { code: "gone", message: "The handler threw a value that cannot be read." },
    });
  });
});

describe("ctx.env", () => {
  it("gives a handler the Worker's bindings", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "test_probe", input: { action: "env" } });
    await untilStatus(tenant, job.id, "succeeded");
    expect(await (await env.BLOBS.get(`probe/${job.id}`))?.text()).toBe("written through ctx.env");
  });
});

describe("ctx.log and GET /v1/jobs/{id}/logs", () => {
  it("serves the lines sleep logs after each step, oldest first, with attempt, level and time", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.3, steps: 3 } });
    const done = await untilStatus(tenant, job.id, "succeeded");
    const { logs, truncated } = await logsOf(tenant, job.id);
    expect(truncated).toBe(false);
    expect(logs.map(({ attempt, level, message }) => ({ attempt, level, message }))).toEqual(
      [1, 2, 3].map((k) => ({ attempt: 1, level: "info", message: `step ${k} of 3` })),
    );
    for (const line of logs) {
      expect(Date.parse(line.at)).toBeGreaterThanOrEqual(Date.parse(done.started_at as string));
      expect(Date.parse(line.at)).toBeLessThanOrEqual(Date.parse(done.finished_at as string));
    }
    expect(await logObjects(job.id)).toEqual([`logs/${job.id}/1.ndjson`]);
  });

  it("stores nothing for a job that logs nothing, and serves an empty log", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: 1 });
    await untilStatus(tenant, job.id, "succeeded");
    expect(await logsOf(tenant, job.id)).toEqual({ logs: [], truncated: false });
    expect(await logObjects(job.id)).toEqual([]);
  });

  it("keeps 500 lines of at most 2 KiB each, then says truncated", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "test_probe", input: { action: "log", lines: 600, repeat: 3000 } });
    await untilStatus(tenant, job.id, "succeeded");
    const { logs, truncated } = await logsOf(tenant, job.id);
    expect(truncated).toBe(true);
    expect(logs).toHaveLength(limits.maxLogLines);
    expect(logs.at(-1)?.message.startsWith("1:500:")).toBe(true);
    for (const line of logs) expect(new TextEncoder().encode(line.message).byteLength).toBe(limits.maxLogLineBytes);
    expect(logs[0]).toMatchObject({ attempt: 1, level: "warn" });
  });

  it("keeps a line of exactly 2 KiB whole, and cuts a longer one without splitting a character", async () => {
    const tenant = await createTenant();
    // "1:1:" and 2044 × "x": 2048 bytes.
    const whole = await submit(tenant, { type: "test_probe", input: { action: "log", lines: 1, repeat: 2044 } });
    // "1:1:" and 700 × "€" (3 bytes each): cut after 681 of them, 2047 bytes.
    const cut = await submit(tenant, {
      type: "test_probe",
      input: { action: "log", lines: 1, repeat: 700, fill: "€" },
    });
    await untilStatus(tenant, whole.id, "succeeded");
    await untilStatus(tenant, cut.id, "succeeded");
    expect(await logsOf(tenant, whole.id)).toMatchObject({
      truncated: false,
      logs: [{ message: `1:1:${"x".repeat(2044)}` }],
    });
    expect(await logsOf(tenant, cut.id)).toMatchObject({
      truncated: true,
      logs: [{ message: `1:1:${"€".repeat(681)}` }],
    });
  });

  it("counts the 500 lines over all the job's attempts", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "test_probe", input: { action: "log_per_attempt", lines: 300 } });
    await untilStatus(tenant, job.id, "succeeded");
    const { logs, truncated } = await logsOf(tenant, job.id);
    expect(truncated).toBe(true);
    expect(logs.filter((l) => l.attempt === 1)).toHaveLength(300);
    expect(logs.filter((l) => l.attempt === 2)).toHaveLength(200);
    expect(logs.map((l) => l.attempt)).toEqual([...logs.map((l) => l.attempt)].sort());
  });

  it("writes a running attempt's log every 100 lines, before the attempt ends", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "test_probe",
      input: { action: "log_then_wait", lines: 150, wait_ms: 3000 },
    });
    const seen = await eventually(
      () => logsOf(tenant, job.id),
      (l) => l.logs.length > 0,
    );
    // Within the 3 s wait, long before the heartbeat interval's write: the 100th line's write (with every line since).
    expect(seen.logs).toHaveLength(150);
    // Still running (shown once its first heartbeat, 1 s in, stored the start), not finished.
    expect((await untilStatus(tenant, job.id, "running", "succeeded")).status).toBe("running");
  });

  it(
    "writes a running attempt's waiting lines every heartbeat interval",
    async () => {
      const tenant = await createTenant();
      const waitMs = (limits.heartbeatIntervalSeconds + 3) * 1000;
      const job = await submit(tenant, {
        type: "test_probe",
        input: { action: "log_then_wait", lines: 2, wait_ms: waitMs },
      });
      const seen = await eventually(
        () => logsOf(tenant, job.id),
        (l) => l.logs.length > 0,
        waitMs,
      );
      expect(seen.logs).toHaveLength(2);
      expect((await getJob(tenant, job.id)).status).toBe("running");
    },
    (limits.heartbeatIntervalSeconds + 10) * 1000,
  );

  it("fails the attempt of a handler that logs at an unknown level", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "test_probe", input: { action: "bad_level" }, max_attempts: 1 });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done.error).toMatchObject({ code: "handler_error", message: expect.stringContaining("log level") });
  });

  it("drops a line logged after its attempt ended (a handler that ignored its signal)", async () => {
    const log = new AttemptLog(env.BLOBS, "job_late_logger", 1);
    log.log("in time");
    await log.close();
    log.log("too late");
    await log.close();
    expect(await readJobLog(env.BLOBS, "job_late_logger")).toMatchObject({
      truncated: false,
      logs: [{ message: "in time" }],
    });
  });

  it("answers 404 for another tenant's job's logs, and for an id that never existed", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await submit(owner, { type: "sleep", input: { seconds: 0, steps: 1 } });
    await untilStatus(owner, job.id, "succeeded");
    expect((await logsOf(owner, job.id)).logs).toHaveLength(1);
    expect(await errorOf(await authed(other, `/v1/jobs/${job.id}/logs`))).toMatchObject({
      status: 404,
      code: "not_found",
    });
    const missing = "job_01JD7Z3Q1X0000000000000000";
    expect(await errorOf(await authed(owner, `/v1/jobs/${missing}/logs`))).toMatchObject({ status: 404 });
  });

  it("deletes a job's logs with the job when retention purges it", async () => {
    const tenant = await createTenant();
    const job: JobView = await submit(tenant, { type: "sleep", input: { seconds: 0, steps: 2 } });
    await untilStatus(tenant, job.id, "succeeded");
    expect(await logObjects(job.id)).toHaveLength(1);
    // A sweep 8 days later: past the default retention of 7.
    await purgeExpired(env, Date.now() + 8 * 86_400_000);
    expect(await logObjects(job.id)).toEqual([]);
  });
});
