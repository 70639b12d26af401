import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import { limits } from "../../src/limits";
import {
  at,
  authed,
  createTenant,
  dbOf,
  errorOf,
  eventually,
  getJob,
  postJson,
  setTenantLimits,
  slotEntries,
  submit,
  type TestTenant,
  tracker,
  untilStatus,
} from "./helpers";
import { registerProbe } from "./probe-type";
import { receivedOn, unique } from "./webhook-helpers";

beforeAll(registerProbe);

const alarmOf = (id: string) => runInDurableObject(tracker(id), (_instance, state) => state.storage.getAlarm());

/** A tenant allowed one running job, held by a long sleep begun by hand (no consumer behind it). */
async function tenantAtItsLimit(): Promise<{ tenant: TestTenant; long: JobView }> {
  const tenant = await createTenant();
  await setTenantLimits(tenant, { max_running_jobs: 1 });
  const long = await submit(tenant, { type: "sleep", input: { seconds: 60, steps: 1 }, delay_seconds: 600 });
  await dbOf(long.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(long.id).run();
  expect((await tracker(long.id).begin(tenant.tenantId)).kind).toBe("run");
  return { tenant, long };
}

/** The one callback `path` received, verified only for its type and job: signing has its own tests. */
async function callbackOn(path: string): Promise<{ type: string; data: JobView }> {
  const [received] = await eventually(
    () => receivedOn(path),
    (got) => got.length > 0,
  );
  return JSON.parse((received as { body: string }).body);
}

describe("ttl_seconds", () => {
  it("sets expires_at to run_at + ttl, from 1 s to 30 days, and refuses 0 or more than 30 days", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600, ttl_seconds: limits.maxTtlSeconds });
    expect(Date.parse(job.expires_at as string) - Date.parse(job.run_at)).toBe(limits.maxTtlSeconds * 1000);
    const short = await submit(tenant, { type: "echo", delay_seconds: 600, ttl_seconds: 1 });
    expect(Date.parse(short.expires_at as string) - Date.parse(short.run_at)).toBe(1000);
    expect((await submit(tenant, { type: "echo", delay_seconds: 600 })).expires_at).toBeNull();
    for (const ttl of [0, limits.maxTtlSeconds + 1, 1.5, "60"]) {
      expect(await errorOf(await postJson(tenant, "/v1/jobs", { type: "echo", ttl_seconds: ttl }))).toMatchObject({
        status: 400,
        code: "validation_failed",
        details: [{ path: "ttl_seconds" }],
      });
    }
  });

  it("ends a scheduled job that has not started by expires_at canceled with code expired, and sends job.canceled", async () => {
    const tenant = await createTenant();
    const path = `/expired-${unique()}`;
    const job = await submit(tenant, {
      type: "echo",
      delay_seconds: 600,
      ttl_seconds: 5,
      callback_url: `${env.RECEIVER_URL}${path}`,
    });
    const expiresAt = Date.parse(job.expires_at as string);
    // The tracker's alarm waits for the expiry, not for the run time a grace later.
    expect(await alarmOf(job.id)).toBe(expiresAt);
    await at(expiresAt, () => runDurableObjectAlarm(tracker(job.id)));
    const expired = await getJob(tenant, job.id);
    expect(expired).toMatchObject({ status: "canceled", attempts: 0, started_at: null, version: 2 });
    expect(expired.error).toEqual({ code: "expired", message: expect.stringContaining(job.expires_at as string) });
    expect(Date.parse(expired.finished_at as string)).toBe(expiresAt);
    const callback = await callbackOn(path);
    expect(callback).toMatchObject({ type: "job.canceled", data: { id: job.id, error: { code: "expired" } } });
    // A finished job's tracker holds nothing; a late message does not run it.
    expect(await alarmOf(job.id)).toBeNull();
    expect((await tracker(job.id).begin(tenant.tenantId)).kind).toBe("skip");
    expect((await getJob(tenant, job.id)).version).toBe(2);
  });

  it("expires a job waiting for its tenant's running slot within seconds, and takes it out of line", async () => {
    const { tenant, long } = await tenantAtItsLimit();
    const path = `/expired-${unique()}`;
    const job = await submit(tenant, {
      type: "echo",
      ttl_seconds: 2,
      callback_url: `${env.RECEIVER_URL}${path}`,
      callback_events: ["job.canceled"],
    });
    await eventually(
      () => slotEntries(tenant.tenantId),
      (entries) => entries[job.id] === "waiting",
    );
    // The real alarm, at expires_at: nothing else looks at a job waiting in line.
    const expired = await untilStatus(tenant, job.id, "canceled");
    expect(expired).toMatchObject({ attempts: 0, error: { code: "expired" } });
    const lateMs = Date.parse(expired.finished_at as string) - Date.parse(expired.expires_at as string);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(10_000);
    expect(await slotEntries(tenant.tenantId)).toEqual({ [long.id]: "running" });
    expect((await callbackOn(path)).data.error).toMatchObject({ code: "expired" });
    await authed(tenant, `/v1/jobs/${long.id}/cancel`, { method: "POST" });
  });

  it("refuses to start a job past its expires_at even before its alarm fires, ending it expired", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600, ttl_seconds: 5 });
    await dbOf(job.id)
      .prepare("UPDATE jobs SET run_at = 0, expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, job.id)
      .run();
    expect(await tracker(job.id).begin(tenant.tenantId)).toEqual({ kind: "skip", reason: "expired" });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "canceled", attempts: 0, error: { code: "expired" } });
    expect(await slotEntries(tenant.tenantId)).toEqual({});
  });

  it("does not expire a job that started before expires_at: its attempt runs on", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 2, steps: 2 }, ttl_seconds: 1 });
    const done = await untilStatus(tenant, job.id, "succeeded", "canceled");
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, error: null });
    expect(Date.parse(done.finished_at as string)).toBeGreaterThan(Date.parse(done.expires_at as string));
  });

  it("runs a started job's retry even when it is due after expires_at", async () => {
    const tenant = await createTenant();
    // The first attempt fails and asks for 4 s before the next: past the 1 s ttl.
    const job = await submit(tenant, { type: "test_probe", input: { action: "retry_after" }, ttl_seconds: 1 });
    const done = await untilStatus(tenant, job.id, "succeeded", "canceled");
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(Date.parse(done.started_at as string)).toBeGreaterThan(Date.parse(done.expires_at as string));
  });
});
