import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobTypes } from "../../src/job-types";
import { defineJobType } from "../../src/job-types/define";
import type { JobView } from "../../src/jobs/model";
import { parseEventStream } from "../support/event-stream";
import {
  authed,
  call,
  createTenant,
  dbOf,
  errorOf,
  getJob,
  submit,
  type TestTenant,
  tracker,
  untilStatus,
} from "./helpers";

/** Reads a whole SSE response (it ends after the terminal status). */
async function readEventStream(res: Response) {
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  return parseEventStream(await res.text());
}

const watch = (tenant: TestTenant, id: string) => authed(tenant, `/v1/jobs/${id}/events`);

// A handler that ignores its abort signal and never returns: only the runtime's guards can end its attempt.
const stubborn = defineJobType({
  name: "test-stubborn",
  description: "Never returns and ignores its signal.",
  input: (await import("zod")).z.null(),
  defaults: { maxAttempts: 1, timeoutSeconds: 1 },
  run: () => new Promise(() => {}),
});
(jobTypes as Map<string, typeof stubborn>).set(stubborn.name, stubborn);

describe("live progress over Server-Sent Events", () => {
  it("starts with the current state, sends every change and ends after the terminal status", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.6, steps: 3 } });
    const events = await readEventStream(await watch(tenant, job.id));
    expect(events[0]?.event).toBe("status");
    expect(events.map((e) => e.data.version)).toEqual([...events.map((e) => e.data.version)].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ event: "status", data: { status: "succeeded" } });
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data.progress?.percent);
    expect(progress.map((p) => Math.round(p ?? -1))).toEqual([33, 67, 100]);
    expect(events.map((e) => e.id)).toEqual(events.map((e) => String(e.data.version)));
    expect(events.at(-1)?.data).toEqual(await getJob(tenant, job.id));
  });

  it("gives a late subscriber the final state and ends", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "late" });
    await untilStatus(tenant, job.id, "succeeded");
    const events = await readEventStream(await watch(tenant, job.id));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: "status", data: { status: "succeeded", result: "late" } });
  });

  it("sends every status change to 100 watchers of one job", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 1, steps: 2 }, delay_seconds: 1 });
    const streams = await Promise.all(Array.from({ length: 100 }, () => watch(tenant, job.id)));
    const all = await Promise.all(streams.map(readEventStream));
    for (const events of all) {
      const statuses = events.filter((e) => e.event === "status").map((e) => e.data.status);
      expect(statuses).toEqual(["scheduled", "running", "succeeded"]);
      expect(events.filter((e) => e.event === "progress")).toHaveLength(2);
    }
  });

  it("answers 404 for another tenant's job", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await submit(owner, { type: "echo", delay_seconds: 60 });
    expect(await errorOf(await watch(other, job.id))).toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("live progress over a WebSocket", () => {
  it("sends the same frames on the same path with Upgrade: websocket", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.4, steps: 2 } });
    const res = await authed(tenant, `/v1/jobs/${job.id}/events`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const socket = res.webSocket as WebSocket;
    socket.accept();
    const frames: { event: string; data: JobView }[] = [];
    await new Promise<void>((resolve) => {
      socket.addEventListener("message", (m) => {
        frames.push(JSON.parse(m.data as string));
      });
      socket.addEventListener("close", () => resolve());
    });
    expect(frames[0]?.event).toBe("status");
    expect(frames.at(-1)).toMatchObject({ event: "status", data: { status: "succeeded" } });
    expect(frames.filter((f) => f.event === "progress")).toHaveLength(2);
  });
});

describe("long polling", () => {
  it("wakes as soon as the job finishes, not on an interval", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.7 } });
    const res = await authed(tenant, `/v1/jobs/${job.id}?wait=30`);
    const answeredAt = Date.now();
    const done = (await res.json()) as JobView;
    expect(done.status).toBe("succeeded");
    expect(answeredAt - Date.parse(done.finished_at as string)).toBeLessThan(250);
  });
});

describe("canceling a running job", () => {
  it("ends the job canceled at once and aborts its handler", async () => {
    const tenant = await createTenant();
    const path = `/ok/${crypto.randomUUID()}`;
    const job = await submit(tenant, {
      type: "sleep",
      input: { seconds: 20, steps: 1 },
      callback_url: `${env.RECEIVER_URL}${path}`,
    });
    await untilStatus(tenant, job.id, "running");
    const res = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobView).status).toBe("canceled");
    // The handler was aborted: the local queue, which runs one batch at a time, is free again long before 20 s.
    const next = await submit(tenant, { type: "echo", input: "after" });
    const started = Date.now();
    await untilStatus(tenant, next.id, "succeeded");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "canceled", result: null });
    const callbacks = (await (await fetch(`${env.RECEIVER_URL}/__received?path=${path}`)).json()) as { body: string }[];
    expect(callbacks.map((c) => JSON.parse(c.body).type)).toEqual(["job.canceled"]);
  });

  it("discards the result of a handler that ignores its signal", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: 1, delay_seconds: 600 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    const begun = await stub.begin();
    expect(begun.kind).toBe("run");
    await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(await stub.complete(1, { ok: true, resultJson: '"late"', resultKey: null })).toMatchObject({
      accepted: false,
    });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "canceled", result: null, version: 3 });
  });
});

describe("timeouts", () => {
  it("aborts an attempt that runs past timeout_seconds and retries it", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 5 }, timeout_seconds: 1, max_attempts: 2 });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 2, error: { code: "timeout" } });
    expect(done.error?.message).toContain("1 s");
  });

  it("ends a handler that never returns and ignores its signal", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: stubborn.name, input: null });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 1, error: { code: "timeout" } });
  });
});

describe("progress", () => {
  it("is monotonic, bumps the version and shows at once", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    await stub.begin();
    await stub.progress(1, 50, "half");
    expect(await getJob(tenant, job.id)).toMatchObject({ progress: { percent: 50, message: "half" }, version: 3 });
    await stub.progress(1, 30, "back?");
    expect(await getJob(tenant, job.id)).toMatchObject({ progress: { percent: 50, message: "back?" }, version: 4 });
    await stub.progress(1, 250, null);
    expect((await getJob(tenant, job.id)).progress?.percent).toBe(100);
    expect(await stub.progress(2, 60, null)).toEqual({ stop: true }); // not the running attempt
  });

  it("needs an API key to watch", async () => {
    const res = await call("/v1/jobs/job_01JD7Z3Q1X0000000000000000/events", {
      headers: { authorization: "Bearer nope" },
    });
    expect(res.status).toBe(401);
  });
});
