import {
  createScheduledController,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { JobMessage } from "../../src/env";
import worker from "../../src/index";
import { jobQueues } from "../../src/jobs/job-queues";
import { limits } from "../../src/limits";
import { clock } from "../../src/platform/clock";
import { shardInId } from "../../src/platform/ids";
import { listStrandedJobs } from "../../src/store/jobs";
import type { JobTracker } from "../../src/tracker/job-tracker";
import {
  at,
  authed,
  createTenant,
  dbOf,
  deliverJobMessages,
  eventually,
  getJob,
  putBackDeadLetters,
  submit,
  tracker,
  untilStatus,
} from "./helpers";

/** Hands messages to the Worker's jobs consumer directly, as a duplicate or late delivery would. */
const deliver = (...jobIds: string[]) => deliverJobMessages(jobIds.map((id) => ({ job_id: id })));

describe("running jobs", () => {
  it("runs an echo job to success through the real queue", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: { hello: "world" } });
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done).toMatchObject({ result: { hello: "world" }, attempts: 1, error: null, version: 3 });
    expect(done.result_url).toBe(`/v1/jobs/${job.id}/result`);
    expect(done.started_at).not.toBeNull();
    expect(done.finished_at).not.toBeNull();
    const result = await authed(tenant, done.result_url as string);
    expect(result.headers.get("content-type")).toContain("application/json");
    expect(await result.json()).toEqual({ hello: "world" });
  });

  it("reports sleep progress after each step", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.2, steps: 4 } });
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done.progress).toMatchObject({ percent: 100, message: "step 4 of 4" });
    // created (1) + running (2) + four progress reports + succeeded.
    expect(done.version).toBe(7);
  });

  it("retries a failing job with backoff and then succeeds", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "fail", input: { fail_attempts: 2 }, max_attempts: 3 });
    const done = await untilStatus(tenant, job.id, "succeeded", "failed");
    expect(done).toMatchObject({ status: "succeeded", attempts: 3, result: { attempt: 3 }, error: null });
  });

  it("fails a job with the handler's message once attempts run out", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "fail", input: { fail_attempts: 5, message: "boom" }, max_attempts: 2 });
    const done = await untilStatus(tenant, job.id, "failed");
    expect(done).toMatchObject({ attempts: 2, error: { code: "handler_error", message: "boom" }, result: null });
  });

  it("keeps a result over 64 KiB in R2 and serves it from result_url", async () => {
    const tenant = await createTenant();
    const input = { blob: "z".repeat(70 * 1024) };
    const job = await submit(tenant, { type: "echo", input });
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done.result).toBeNull();
    expect(done.result_url).toBe(`/v1/jobs/${job.id}/result`);
    expect(await (await authed(tenant, done.result_url as string)).json()).toEqual(input);
    const listed = await env.BLOBS.list({ prefix: `results/${job.id}/` });
    expect(listed.objects).toHaveLength(1);
  });

  it("answers 404 for a result that does not exist yet", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 3600 });
    const res = await authed(tenant, `/v1/jobs/${job.id}/result`);
    expect(res.status).toBe(404);
  });
});

describe("at-least-once delivery", () => {
  it("never runs a finished job again when its message is delivered twice", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "fail", input: { fail_attempts: 0 } });
    const done = await untilStatus(tenant, job.id, "succeeded");
    const result = await deliver(job.id, job.id);
    expect(result.explicitAcks).toHaveLength(2);
    const after = await getJob(tenant, job.id);
    expect(after).toEqual(done);
  });

  it("runs one attempt when two deliveries of a message run at once", async () => {
    const tenant = await createTenant();
    // Delayed, so the real queue does not deliver it during the test.
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.3, steps: 1 }, delay_seconds: 1 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    await Promise.all([deliver(job.id), deliver(job.id)]);
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done.attempts).toBe(1);
    expect(done.version).toBe(4); // created, running, one progress report, succeeded
  });

  it("does not run a canceled job whose message arrives late", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const canceled = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    await deliver(job.id);
    const after = await getJob(tenant, job.id);
    expect(after).toMatchObject({ status: "canceled", attempts: 0, result: null });
  });

  it("ignores a message that arrives before the job is due", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const result = await deliver(job.id);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
  });

  it("moves status only forward: a stale attempt's outcome is ignored", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    const begun = await stub.begin();
    expect(begun.kind).toBe("run");
    // The start is held by the tracker (version 2) until the attempt's first heartbeat stores it.
    expect(begun).toMatchObject({ job: { status: "running", version: 2 } });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", version: 1 });
    await stub.heartbeat(1);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "running", version: 2 });
    await stub.cancel();
    const canceled = await getJob(tenant, job.id);
    expect(canceled).toMatchObject({ status: "canceled", version: 3 });
    const late = await stub.complete(1, { ok: true, resultJson: "1", resultKey: null });
    expect(late.accepted).toBe(false);
    expect(await stub.cancel()).toMatchObject({ ok: false });
    // Nothing moved it again: one terminal status, and the version grew by one per change.
    expect(await getJob(tenant, job.id)).toEqual(canceled);
  });
});

describe("recovering stranded jobs", () => {
  it("reclaims an attempt whose consumer died, and retries it", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: 7, delay_seconds: 600, max_attempts: 2 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    // Begun a minute ago, and the consumer never reported back: past its lease and silent since.
    expect(await at(Date.now() - 60_000, async () => (await stub.begin()).kind)).toBe("run");
    await stub.recover();
    const retried = await getJob(tenant, job.id);
    expect(retried).toMatchObject({ status: "queued", attempts: 1, error: { code: "worker_lost" } });
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done).toMatchObject({ attempts: 2, result: 7 });
  });

  it("fails a job whose lost attempt was its last", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600, max_attempts: 1 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    expect(await at(Date.now() - 60_000, async () => (await stub.begin()).kind)).toBe("run");
    await stub.recover();
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "failed", error: { code: "worker_lost" } });
  });

  it("has the sweep re-enqueue a queued job whose message was lost", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "found", delay_seconds: 600 });
    // As if the job had been queued long ago and its message had vanished.
    await dbOf(job.id)
      .prepare("UPDATE jobs SET status = 'queued', run_at = 0, updated_at = 0 WHERE id = ?")
      .bind(job.id)
      .run();
    await worker.scheduled(createScheduledController(), env);
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done.result).toBe("found");
  });

  it("waits past the queue's 24 h delay limit on the tracker's alarm", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 3 * 86400 });
    expect(job.status).toBe("scheduled");
    const stub = tracker(job.id);
    // The alarm fires 24 h before run time and hands the job to the queue with the rest of the delay.
    const alarm = await runInTracker(stub, (state) => state.storage.getAlarm());
    expect(alarm).toBe(Date.parse(job.run_at) - 86400 * 1000);
    await dbOf(job.id)
      .prepare("UPDATE jobs SET run_at = ? WHERE id = ?")
      .bind(Date.now() + 1000, job.id)
      .run();
    await stub.recover();
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done.attempts).toBe(1);
  });

  it("puts a dead-lettered job message back on the jobs queue, delayed, without failing its job", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    // Each jobs queue captured apart: the message goes back on the one the job's id names.
    const named = shardInId(job.id) % jobQueues(env).length;
    const dead: JobMessage = { job_id: job.id, tenant_id: tenant.tenantId, first: true };
    const { acks, resent } = await putBackDeadLetters(named, [dead]);
    expect(acks).toEqual(["dead-0"]);
    // Not straight back (that would loop hot while D1 is down), and the job is untouched.
    // No longer the job's first message: a run of it may have begun (jobs/run.ts `mayFollowUnseenRun`).
    expect(resent[named]).toEqual([
      { body: { job_id: job.id, tenant_id: tenant.tenantId }, delaySeconds: limits.infraRetryMaxDelaySeconds },
    ]);
    expect(resent.flat()).toHaveLength(1);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: job.status, version: job.version, error: null });
  });

  it("has the sweep reclaim a silent attempt past its lease, without an alarm per job", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600, max_attempts: 1, timeout_seconds: 5 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const stub = tracker(job.id);
    await stub.begin();
    await stub.heartbeat(1); // its first, which stores the start
    expect(await runInTracker(stub, (state) => state.storage.getAlarm())).toBeNull();
    await worker.scheduled(createScheduledController(), env); // the lease has not run out: nothing changes
    expect((await getJob(tenant, job.id)).status).toBe("running");
    const realNow = clock.now;
    clock.now = () => realNow() + 60_000; // past the lease (30 s), and silent since it began
    try {
      await worker.scheduled(createScheduledController(), env);
    } finally {
      clock.now = realNow;
    }
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "failed", error: { code: "worker_lost" } });
  });
});

describe("noticing a lost attempt in seconds", () => {
  it("reclaims an attempt whose heartbeats stopped, long before its timeout", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 600, max_attempts: 2 });
    const start = clock.now();
    await at(start + 5_000, () => stub.heartbeat(1));
    // Past the lease (30 s) and 25 s after the last heartbeat; the old lease was timeout + 30 s = 630 s.
    await at(start + 31_000, () => worker.scheduled(createScheduledController(), env));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "queued", error: { code: "worker_lost" } });
  });

  it("leaves alone an attempt that keeps heartbeating, however often the sweep asks", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 5, max_attempts: 2 });
    const start = clock.now();
    for (const seconds of [10, 20, 30, 40, 50, 60]) {
      await at(start + seconds * 1000, () => stub.heartbeat(1));
      await at(start + seconds * 1000 + 9_000, () => worker.scheduled(createScheduledController(), env));
      expect((await getJob(tenant, job.id)).status).toBe("running");
    }
    // Once the beats stop, the next sweep past the lease it last renewed (69 s + 30 s) reclaims it.
    await at(start + 100_000, () => worker.scheduled(createScheduledController(), env));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "queued", error: { code: "worker_lost" } });
  });

  it("has the sweep renew a live attempt's lease and ask first about the attempts it asked about least lately", async () => {
    const start = clock.now();
    // Both on one shard (anyShard picks by Math.random): each shard is swept on its own.
    const oneShard = vi.spyOn(Math, "random").mockReturnValue(0);
    const first = await at(start, () => beganAttempt({ timeout_seconds: 600 }));
    const second = await at(start + 5_000, () => beganAttempt({ timeout_seconds: 600 }));
    oneShard.mockRestore();
    const stranded = async (now: number) =>
      (await listStrandedJobs(dbOf(first.job.id), now, limits.enqueueGraceSeconds * 1000, 1)).map((j) => j.id);
    // Both past their leases (30 s and 35 s): the one whose lease ended first comes first.
    expect(await stranded(start + 40_000)).toEqual([first.job.id]);
    await at(start + 35_000, () => first.stub.heartbeat(1));
    await at(start + 40_000, () => first.stub.recover());
    // Found alive, its lease runs to 70 s: past that, the other comes first, however many such there are.
    expect(await getJob(first.tenant, first.job.id)).toMatchObject({ status: "running" });
    expect(await stranded(start + 60_000)).toEqual([second.job.id]);
    expect(await stranded(start + 80_000)).toEqual([second.job.id]);
  });

  it("has a running handler heartbeat its tracker, so a sweep after the lease finds it alive", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 12 }, timeout_seconds: 60, max_attempts: 2 });
    const running = await untilStatus(tenant, job.id, "running");
    const startedAt = Date.parse(running.started_at as string);
    // One heartbeat (at 10 s) has been sent; without it the attempt would be 31 s silent at the sweep below.
    await new Promise((r) => setTimeout(r, startedAt + 11_000 - Date.now()));
    await at(startedAt + 31_000, () => worker.scheduled(createScheduledController(), env));
    expect((await getJob(tenant, job.id)).status).toBe("running");
    const done = await untilStatus(tenant, job.id, "succeeded", "failed", "queued");
    expect(done).toMatchObject({ status: "succeeded", attempts: 1 });
  }, 30_000);

  it("has a restarted tracker wait one silence for a heartbeat before it reclaims", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 5, max_attempts: 2 });
    const start = clock.now();
    await evictDurableObject(stub); // what it heard is gone, as after a crash or a deploy
    // Past the lease; the old code reclaimed at once here (its lease: timeout 5 s + 30 s).
    await at(start + 40_000, () => worker.scheduled(createScheduledController(), env));
    expect((await getJob(tenant, job.id)).status).toBe("running");
    expect(await runInTracker(stub, (state) => state.storage.getAlarm())).toBe(start + 65_000);
    await evictDurableObject(stub); // the wait survives another restart
    await at(start + 65_000, () => runDurableObjectAlarm(stub));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "queued", error: { code: "worker_lost" } });
  });

  it("has a restarted tracker keep an attempt that heartbeats while it waits", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 5, max_attempts: 2 });
    const start = clock.now();
    await evictDurableObject(stub);
    await at(start + 40_000, () => worker.scheduled(createScheduledController(), env));
    await at(start + 50_000, () => stub.heartbeat(1));
    await evictDurableObject(stub); // the heartbeat ended the stored wait, so a restart does not revive it
    await at(start + 65_000, () => runDurableObjectAlarm(stub));
    expect((await getJob(tenant, job.id)).status).toBe("running");
    expect(await stub.complete(1, { ok: true, resultJson: "1", resultKey: null })).toMatchObject({ accepted: true });
  });

  it("runs a message delivered twice in one batch once", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "twice", delay_seconds: 600, max_attempts: 1 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const body = { job_id: job.id, tenant_id: tenant.tenantId };
    await deliverJobMessages([body, body]);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: "twice" });
  });

  it("keeps an attempt whose tracker was reset in its first second: its cancel watch leaves it to its heartbeat to be taken back", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 2.5, steps: 1 }, delay_seconds: 600 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    const run = deliverJobMessages([{ job_id: job.id, tenant_id: tenant.tenantId }]);
    await new Promise((r) => setTimeout(r, 400));
    await evictDurableObject(tracker(job.id)); // a deploy, 0.4 s into the attempt: its held start is gone
    await run;
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, error: null });
  });

  it("runs again a job whose attempt and tracker were both lost before its start was stored, once the sweep sends it again", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "again", delay_seconds: 600 });
    const past = Date.now() - 60_000;
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = ?1, updated_at = ?1 WHERE id = ?2").bind(past, job.id).run();
    // Begun a minute ago by a consumer that then died; the start, held by the tracker, went with a reset.
    expect(await at(past, async () => (await tracker(job.id).begin(tenant.tenantId)).kind)).toBe("run");
    await evictDurableObject(tracker(job.id));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
    await worker.scheduled(createScheduledController(), env);
    expect(await untilStatus(tenant, job.id, "succeeded")).toMatchObject({ result: "again", attempts: 1 });
  });

  it("re-enqueues a queued job whose message was lost within seconds, not minutes", async () => {
    const tenant = await createTenant();
    const lost = await submit(tenant, { type: "echo", input: "found", delay_seconds: 600 });
    const recent = await submit(tenant, { type: "echo", delay_seconds: 600 });
    // Due 31 s ago (the old grace was 5 min), and due 10 s ago (within the grace: its message may still come).
    const due = (job: { id: string }, agoMs: number) =>
      dbOf(job.id)
        .prepare("UPDATE jobs SET status = 'queued', run_at = ?1, updated_at = ?1 WHERE id = ?2")
        .bind(Date.now() - agoMs, job.id)
        .run();
    await due(lost, 31_000);
    await due(recent, 10_000);
    await worker.scheduled(createScheduledController(), env);
    expect(await untilStatus(tenant, lost.id, "succeeded")).toMatchObject({ result: "found", attempts: 1 });
    expect(await getJob(tenant, recent.id)).toMatchObject({ status: "queued", attempts: 0 });
  });
});

describe("canceling", () => {
  it("leaves no earlier attempt's error on a job canceled while it waits for a retry, nor in its callback", async () => {
    const path = `/hooks/${crypto.randomUUID()}`;
    const { tenant, job, stub } = await beganAttempt({ max_attempts: 3, callback_url: `${env.RECEIVER_URL}${path}` });
    const error = { code: "handler_error", message: "first try failed" };
    await stub.complete(1, { ok: false, error, retryable: true });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "queued", error });
    const canceled = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(await canceled.json()).toMatchObject({ status: "canceled", error: null });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "canceled", error: null, attempts: 1 });
    const [callback] = await eventually(
      async () => (await (await fetch(`${env.RECEIVER_URL}/__received?path=${path}`)).json()) as { body: string }[],
      (received) => received.length > 0,
    );
    expect(JSON.parse(callback?.body as string)).toMatchObject({
      type: "job.canceled",
      data: { id: job.id, status: "canceled", error: null },
    });
  });
});

describe("freeing a finished job's tracker", () => {
  /** What the job's tracker still holds: its stored keys and its alarm. */
  const held = (stub: DurableObjectStub<JobTracker>) =>
    runInTracker(stub, async (state) => ({
      keys: [...(await state.storage.list()).keys()],
      alarm: await state.storage.getAlarm(),
    }));

  it("deletes the retry's alarm when a job waiting for its retry is canceled", async () => {
    const { tenant, job, stub } = await beganAttempt({ max_attempts: 3 });
    await stub.complete(1, { ok: false, error: { code: "handler_error", message: "x" }, retryable: true });
    expect((await held(stub)).alarm).not.toBeNull();
    expect((await stub.cancel()).ok).toBe(true);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "canceled" });
    expect(await held(stub)).toEqual({ keys: [], alarm: null });
  });

  it("deletes a restarted tracker's stored wait and its alarm when the attempt then succeeds", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 5, max_attempts: 1 });
    const start = clock.now();
    await evictDurableObject(stub);
    await at(start + 40_000, () => worker.scheduled(createScheduledController(), env));
    // The wait for a heartbeat, and the job's tenant kept beside its alarm.
    expect(await held(stub)).toEqual({ keys: ["silence", "tenant"], alarm: start + 65_000 });
    await at(start + 45_000, () => stub.complete(1, { ok: true, resultJson: "1", resultKey: null }));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded" });
    expect(await held(stub)).toEqual({ keys: [], alarm: null });
  });

  it("deletes the tenant kept beside an alarm that already ran, when a later instance finishes the job", async () => {
    const { tenant, job, stub } = await beganAttempt({ timeout_seconds: 300, max_attempts: 1 });
    const start = clock.now();
    await evictDurableObject(stub);
    await at(start + 40_000, () => worker.scheduled(createScheduledController(), env));
    await at(start + 50_000, () => stub.heartbeat(1)); // heard: the wait ends
    await at(start + 65_000, () => runDurableObjectAlarm(stub)); // alive: no new alarm
    expect(await held(stub)).toEqual({ keys: ["tenant"], alarm: null });
    await evictDurableObject(stub); // a deploy
    await at(start + 70_000, () => stub.complete(1, { ok: true, resultJson: "1", resultKey: null }));
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded" });
    expect(await held(stub)).toEqual({ keys: [], alarm: null });
  });

  it("frees the storage when an alarm finds its job already finished", async () => {
    const { job, stub } = await beganAttempt({ max_attempts: 1 });
    await runInTracker(stub, (state) => state.storage.put("silence", { attempt: 0, since: 0 }));
    await dbOf(job.id).prepare("UPDATE jobs SET status = 'succeeded' WHERE id = ?").bind(job.id).run();
    await evictDurableObject(stub);
    await runInTracker(stub, (state) => state.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(stub);
    expect(await held(stub)).toEqual({ keys: [], alarm: null });
  });
});

/** A job whose first attempt was begun through its tracker, with no consumer behind it. */
async function beganAttempt(options: Record<string, unknown>) {
  const tenant = await createTenant();
  const job = await submit(tenant, { type: "echo", delay_seconds: 600, ...options });
  await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
  const stub = tracker(job.id);
  expect((await stub.begin()).kind).toBe("run");
  // Its first heartbeat, as from an attempt that ran past limits.startStoredAfterMs: the start is stored.
  expect(await stub.heartbeat(1)).toEqual({ stop: false });
  return { tenant, job, stub };
}

function runInTracker<R>(
  stub: DurableObjectStub<JobTracker>,
  fn: (state: DurableObjectState, instance: JobTracker) => R | Promise<R>,
): Promise<R> {
  return runInDurableObject(stub, (instance: JobTracker, state) => fn(state, instance));
}
