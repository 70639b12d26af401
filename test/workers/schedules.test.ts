import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import { purgeExpired } from "../../src/jobs/retention";
import { sweep } from "../../src/jobs/sweep";
import { limits } from "../../src/limits";
import type { ScheduleView } from "../../src/schedules/schedules";
import { at, authed, createTenant, errorOf, postJson, type TestTenant } from "./helpers";

// A moment years ahead: alarms set from it never fire on their own during a test, so
// each run happens only where a test says (`runDurableObjectAlarm`, a wake-up, the sweep).
const T0 = Date.parse("2031-01-01T00:00:30Z");
const FIRST_DUE = Date.parse("2031-01-01T00:01:00Z"); // "* * * * *" after T0
const echoJob = { type: "echo", input: { hello: "cron" } };

function timer(id: string) {
  return env.SCHEDULE_TIMER.getByName(id);
}

/** The alarm the schedule's timer has set (ms), or null. */
function alarmOf(id: string): Promise<number | null> {
  return runInDurableObject(timer(id), (_instance, state) => state.storage.getAlarm());
}

async function create(tenant: TestTenant, body: Record<string, unknown>, now = T0): Promise<ScheduleView> {
  const res = await at(now, () => postJson(tenant, "/v1/schedules", body));
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ScheduleView;
}

async function read(tenant: TestTenant, id: string): Promise<ScheduleView> {
  const res = await authed(tenant, `/v1/schedules/${id}`);
  if (res.status !== 200) throw new Error(`get answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ScheduleView;
}

function patch(tenant: TestTenant, id: string, body: unknown, now = T0): Promise<Response> {
  return at(now, () =>
    authed(tenant, `/v1/schedules/${id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/** Stores `count` paused schedules for the tenant directly, faster than as many requests. */
async function storePausedSchedules(tenant: TestTenant, count: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO schedules (id, tenant_id, cron, timezone, job_json, paused, created_at, updated_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     SELECT 'sch_' || ?1 || '_' || i, ?1, '0 0 1 1 *', 'UTC', '{"type":"echo"}', 1, 0, 0 FROM n`,
  )
    .bind(tenant.tenantId, count)
    .run();
}

async function jobsOf(tenant: TestTenant, scheduleId: string): Promise<JobView[]> {
  const res = await authed(tenant, `/v1/jobs?schedule_id=${scheduleId}&limit=100`);
  return ((await res.json()) as { jobs: JobView[] }).jobs;
}

describe("schedules: create, read, list, change, delete", () => {
  it("creates a schedule with its next due time and answers it as the contract shapes it", async () => {
    const tenant = await createTenant();
    const res = await at(T0, () =>
      postJson(tenant, "/v1/schedules", { cron: "*/5 * * * *", job: echoJob, name: "every five" }),
    );
    expect(res.status).toBe(201);
    const schedule = (await res.json()) as ScheduleView;
    expect(res.headers.get("location")).toBe(`/v1/schedules/${schedule.id}`);
    expect(schedule).toEqual({
      id: expect.stringMatching(/^sch_[0-9A-HJKMNP-TV-Z]{26}$/),
      name: "every five",
      cron: "*/5 * * * *",
      timezone: "UTC",
      job: echoJob,
      paused: false,
      next_run_at: "2031-01-01T00:05:00.000Z",
      last_run_at: null,
      last_job_id: null,
      created_at: new Date(T0).toISOString(),
    });
    expect(await read(tenant, schedule.id)).toEqual(schedule);
    expect(await alarmOf(schedule.id)).toBe(Date.parse("2031-01-01T00:05:00Z"));
  });

  it("reads the expression in the schedule's time zone", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 9 * * *", timezone: "Europe/Berlin", job: echoJob });
    expect(schedule.next_run_at).toBe("2031-01-01T08:00:00.000Z");
  });

  it("lists the tenant's schedules newest first, a page at a time", async () => {
    const tenant = await createTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(tenant, { cron: "0 * * * *", job: echoJob })).id);
    const first = (await (await authed(tenant, "/v1/schedules?limit=2")).json()) as {
      schedules: ScheduleView[];
      next_cursor: string | null;
    };
    expect(first.schedules.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    const second = (await (await authed(tenant, `/v1/schedules?limit=2&cursor=${first.next_cursor}`)).json()) as {
      schedules: ScheduleView[];
      next_cursor: string | null;
    };
    expect(second).toEqual({ schedules: [expect.objectContaining({ id: ids[0] })], next_cursor: null });
    expect(await errorOf(await authed(tenant, "/v1/schedules?cursor=nonsense"))).toMatchObject({
      status: 400,
      code: "validation_failed",
    });
  });

  it("changes name and job without moving the next due time", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 * * * *", job: echoJob });
    const res = await patch(tenant, schedule.id, { name: "hourly", job: { type: "echo", input: 2 } }, T0 + 1000);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...schedule, name: "hourly", job: { type: "echo", input: 2 } });
    expect(await read(tenant, schedule.id)).toEqual({ ...schedule, name: "hourly", job: { type: "echo", input: 2 } });
  });

  it("moves the next due time and the timer's alarm when the zone or the expression changes", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 * * * *", job: echoJob });
    expect(await alarmOf(schedule.id)).toBe(Date.parse("2031-01-01T01:00:00Z"));
    const res = await patch(tenant, schedule.id, { timezone: "Asia/Kolkata" });
    expect(((await res.json()) as ScheduleView).next_run_at).toBe("2031-01-01T00:30:00.000Z"); // Kolkata is +5:30
    expect(await alarmOf(schedule.id)).toBe(Date.parse("2031-01-01T00:30:00Z"));
    await patch(tenant, schedule.id, { cron: "15 * * * *", timezone: "UTC" });
    expect(await alarmOf(schedule.id)).toBe(Date.parse("2031-01-01T00:15:00Z"));
  });

  it("pauses (no next due time, no alarm) and resumes from the next due time after now", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 * * * *", job: echoJob });
    const paused = (await (await patch(tenant, schedule.id, { paused: true })).json()) as ScheduleView;
    expect(paused).toMatchObject({ paused: true, next_run_at: null });
    expect(await alarmOf(schedule.id)).toBeNull();
    const later = Date.parse("2031-01-01T05:10:00Z");
    const resumed = (await (await patch(tenant, schedule.id, { paused: false }, later)).json()) as ScheduleView;
    expect(resumed).toMatchObject({ paused: false, next_run_at: "2031-01-01T06:00:00.000Z" });
    expect(await alarmOf(schedule.id)).toBe(Date.parse("2031-01-01T06:00:00Z"));
  });

  it("honours an Idempotency-Key on create: one schedule per key for 24 h, 409 for another body", async () => {
    const tenant = await createTenant();
    const body = { name: "nightly", cron: "0 3 * * *", job: echoJob };
    const send = (key: string, sent: unknown = body, now = T0) =>
      at(now, () => postJson(tenant, "/v1/schedules", sent, { "idempotency-key": key }));
    const [first, racing] = await Promise.all([send("nightly-1"), send("nightly-1")]);
    const again = await send("nightly-1");
    const ids = await Promise.all([first, racing, again].map(async (r) => ((await r.json()) as ScheduleView).id));
    expect(new Set(ids).size).toBe(1);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const listed = (await (await authed(tenant, "/v1/schedules")).json()) as { schedules: ScheduleView[] };
    expect(listed.schedules.map((x) => x.id)).toEqual([ids[0]]);
    expect(await errorOf(await send("nightly-1", { ...body, cron: "0 4 * * *" }))).toMatchObject({
      status: 409,
      code: "idempotency_conflict",
    });
    // Deleted since, its schedule can be neither replayed nor made again: 409 saying so (breaker: it was 404).
    const other = (await (await send("weekly-1", { ...body, cron: "0 3 * * 1" })).json()) as ScheduleView;
    expect((await authed(tenant, `/v1/schedules/${other.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await errorOf(await send("weekly-1", { ...body, cron: "0 3 * * 1" }));
    expect(gone).toMatchObject({ status: 409, code: "idempotency_conflict" });
    expect(gone.message).toContain(other.id);
    // Past its 24 h (and the retention sweep that forgets it), the key makes a new schedule.
    const dayLater = T0 + 25 * 3600_000;
    await at(dayLater, () => purgeExpired(env, dayLater));
    const fresh = (await (await send("nightly-1", body, dayLater)).json()) as ScheduleView;
    expect(fresh.id).not.toBe(ids[0]);
  });

  it("keeps both of two PATCHes sent at once: a pause answered 200 is never undone by a rename", async () => {
    const tenant = await createTenant();
    for (let trial = 0; trial < 5; trial++) {
      const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
      const send = (body: unknown) =>
        authed(tenant, `/v1/schedules/${schedule.id}`, {
          method: "PATCH",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const [pause, rename] = await at(T0, () => Promise.all([send({ paused: true }), send({ name: `n${trial}` })]));
      expect([pause.status, rename.status]).toEqual([200, 200]);
      expect(await read(tenant, schedule.id)).toMatchObject({ paused: true, next_run_at: null, name: `n${trial}` });
      expect(await alarmOf(schedule.id)).toBeNull();
    }
  });

  it("deletes a schedule (204), clears its alarm, and answers 404 for it afterwards", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 * * * *", job: echoJob });
    expect((await authed(tenant, `/v1/schedules/${schedule.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await alarmOf(schedule.id)).toBeNull();
    expect((await errorOf(await authed(tenant, `/v1/schedules/${schedule.id}`))).status).toBe(404);
    expect((await errorOf(await authed(tenant, `/v1/schedules/${schedule.id}`, { method: "DELETE" }))).status).toBe(
      404,
    );
  });

  it("hides a tenant's schedules from every other tenant (404, as for an id that never existed)", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const schedule = await create(owner, { cron: "0 * * * *", job: echoJob });
    expect((await errorOf(await authed(other, `/v1/schedules/${schedule.id}`))).status).toBe(404);
    expect((await errorOf(await patch(other, schedule.id, { paused: true }))).status).toBe(404);
    const del = await authed(other, `/v1/schedules/${schedule.id}`, { method: "DELETE" });
    expect((await errorOf(del)).status).toBe(404);
    expect(await (await authed(other, "/v1/schedules")).json()).toEqual({ schedules: [], next_cursor: null });
    expect(await read(owner, schedule.id)).toEqual(schedule);
  });
});

describe("schedules: what is refused", () => {
  const refusal = async (tenant: TestTenant, body: unknown) => {
    const res = await at(T0, () => postJson(tenant, "/v1/schedules", body));
    const error = await errorOf(res);
    return { status: error.status, code: error.code, paths: (error.details ?? []).map((d) => d.path) };
  };

  it("answers 400 validation_failed naming cron for a bad, seconds-precision or never-matching expression", async () => {
    const tenant = await createTenant();
    for (const cron of ["61 * * * *", "every minute", "0 * * * * *", "0 0 31 2 *"]) {
      expect(await refusal(tenant, { cron, job: echoJob })).toEqual({
        status: 400,
        code: "validation_failed",
        paths: ["cron"],
      });
    }
  });

  it("takes croner's extensions beside standard cron: L, W, #, ? and nicknames", async () => {
    const tenant = await createTenant();
    const nextRun = async (cron: string) => (await create(tenant, { cron, job: echoJob })).next_run_at;
    expect(await nextRun("0 9 L * *")).toBe("2031-01-31T09:00:00.000Z"); // the month's last day
    expect(await nextRun("0 9 15W * *")).toBe("2031-01-15T09:00:00.000Z"); // the weekday nearest the 15th
    expect(await nextRun("0 9 ? * 1#2")).toBe("2031-01-13T09:00:00.000Z"); // the second Monday
    expect(await nextRun("@daily")).toBe("2031-01-02T00:00:00.000Z");
  });

  it("answers 400 validation_failed naming timezone for a zone that is not an IANA name", async () => {
    const tenant = await createTenant();
    // A UTC offset is no IANA name, though workerd's Intl accepts it as a zone.
    for (const timezone of ["Mars/Olympus", "+05:00", "-0330"]) {
      expect(await refusal(tenant, { cron: "* * * * *", timezone, job: echoJob })).toEqual({
        status: 400,
        code: "validation_failed",
        paths: ["timezone"],
      });
    }
  });

  it("checks the job like a submit: type, input, callback URL, delay_seconds, unknown fields", async () => {
    const tenant = await createTenant();
    const cron = "* * * * *";
    expect(await refusal(tenant, { cron, job: { type: "nope" } })).toMatchObject({
      code: "unknown_job_type",
      paths: ["job.type"],
    });
    expect(await refusal(tenant, { cron, job: { type: "sleep", input: { ms: "long" } } })).toMatchObject({
      code: "validation_failed",
    });
    expect(await refusal(tenant, { cron, job: { type: "echo", callback_url: "https://10.0.0.1/hook" } })).toMatchObject(
      { code: "invalid_callback_url", paths: ["job.callback_url"] },
    );
    expect(await refusal(tenant, { cron, job: { type: "echo", delay_seconds: 5 } })).toMatchObject({
      code: "validation_failed",
      paths: ["job.delay_seconds"],
    });
    expect(await refusal(tenant, { cron, job: { type: "echo", colour: "red" } })).toMatchObject({
      code: "validation_failed",
      paths: ["job.colour"],
    });
    expect(await refusal(tenant, { cron, job: echoJob, every: "minute" })).toMatchObject({
      code: "validation_failed",
      paths: ["every"],
    });
    expect(await refusal(tenant, { job: echoJob })).toMatchObject({ code: "validation_failed", paths: ["cron"] });
  });

  it(`answers 413 for a job over ${limits.maxScheduleJobBytes} bytes as JSON (it is stored with the schedule)`, async () => {
    const tenant = await createTenant();
    const input = "x".repeat(limits.maxScheduleJobBytes);
    expect(await refusal(tenant, { cron: "* * * * *", job: { type: "echo", input } })).toEqual({
      status: 413,
      code: "payload_too_large",
      paths: ["job"],
    });
    const fits = "x".repeat(limits.maxScheduleJobBytes - 100);
    await create(tenant, { cron: "* * * * *", job: { type: "echo", input: fits } });
  });

  it("checks a changed job, expression or zone the same way, and changes nothing on a refusal", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "0 * * * *", job: echoJob });
    expect(await errorOf(await patch(tenant, schedule.id, { job: { type: "nope" } }))).toMatchObject({
      status: 400,
      code: "unknown_job_type",
    });
    expect(await errorOf(await patch(tenant, schedule.id, { cron: "0 * * *" }))).toMatchObject({
      status: 400,
      details: [expect.objectContaining({ path: "cron" })],
    });
    expect(await errorOf(await patch(tenant, schedule.id, { timezone: "Nowhere" }))).toMatchObject({
      status: 400,
      details: [expect.objectContaining({ path: "timezone" })],
    });
    expect(await read(tenant, schedule.id)).toEqual(schedule);
  });

  it(`allows ${limits.maxSchedulesPerTenant} schedules per tenant and answers 409 schedule_limit past them`, async () => {
    const tenant = await createTenant();
    await storePausedSchedules(tenant, limits.maxSchedulesPerTenant - 1);
    await create(tenant, { cron: "0 * * * *", job: echoJob }); // the 1,000th
    expect(await refusal(tenant, { cron: "0 * * * *", job: echoJob })).toEqual({
      status: 409,
      code: "schedule_limit",
      paths: [],
    });
    // A refused create claims no Idempotency-Key: once there is room, the same request creates.
    const keyed = () =>
      at(T0, () => postJson(tenant, "/v1/schedules", { cron: "0 * * * *", job: echoJob }, { "idempotency-key": "k" }));
    expect((await keyed()).status).toBe(409);
    await env.DB.prepare("DELETE FROM schedules WHERE id = ?").bind(`sch_${tenant.tenantId}_1`).run();
    expect((await keyed()).status).toBe(201);
    await create(await createTenant(), { cron: "0 * * * *", job: echoJob }); // another tenant's own count
  });
});

describe("schedules: each due time makes exactly one job", () => {
  it("the timer's alarm creates the due time's job through the submit path and sets the next alarm", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: { ...echoJob, metadata: { from: "cron" } } });
    expect(await at(FIRST_DUE + 300, () => runDurableObjectAlarm(timer(schedule.id)))).toBe(true);
    const [job, ...more] = await jobsOf(tenant, schedule.id);
    expect(more).toEqual([]);
    expect(job).toMatchObject({
      type: "echo",
      input: echoJob.input,
      metadata: { from: "cron" },
      schedule_id: schedule.id,
      created_at: new Date(FIRST_DUE + 300).toISOString(),
    });
    expect(await read(tenant, schedule.id)).toMatchObject({
      last_run_at: new Date(FIRST_DUE).toISOString(),
      last_job_id: job?.id,
      next_run_at: new Date(FIRST_DUE + 60_000).toISOString(),
    });
    expect(await alarmOf(schedule.id)).toBe(FIRST_DUE + 60_000);
  });

  it("makes one job when the timer is woken twice for a due time", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
    await at(FIRST_DUE + 100, () => runDurableObjectAlarm(timer(schedule.id)));
    await at(FIRST_DUE + 200, () => timer(schedule.id).wake());
    await at(FIRST_DUE + 300, () => runDurableObjectAlarm(timer(schedule.id)));
    expect(await jobsOf(tenant, schedule.id)).toHaveLength(1);
  });

  it("makes one job when a run's record was lost and the due time is run again (idempotent on schedule and due time)", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
    await at(FIRST_DUE + 100, () => timer(schedule.id).wake());
    const [job] = await jobsOf(tenant, schedule.id);
    // As if the timer had stopped between creating the job and recording the run.
    await env.DB.prepare("UPDATE schedules SET next_run_at = ?, last_run_at = NULL, last_job_id = NULL WHERE id = ?")
      .bind(FIRST_DUE, schedule.id)
      .run();
    await at(FIRST_DUE + 2000, () => timer(schedule.id).wake());
    expect((await jobsOf(tenant, schedule.id)).map((j) => j.id)).toEqual([job?.id]);
    expect((await read(tenant, schedule.id)).last_job_id).toBe(job?.id);
  });

  it("the sweep wakes a timer whose due time passed unrun, and the alarm after it makes no second job", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
    const overdue = FIRST_DUE + (limits.scheduleOverdueSeconds + 1) * 1000;
    await at(overdue, () => sweep(env));
    const jobs = await jobsOf(tenant, schedule.id);
    expect(jobs).toHaveLength(1);
    await at(overdue + 100, () => runDurableObjectAlarm(timer(schedule.id)));
    expect(await jobsOf(tenant, schedule.id)).toHaveLength(1);
    expect((await read(tenant, schedule.id)).next_run_at).toBe(new Date(FIRST_DUE + 60_000).toISOString());
  });

  it("after an outage runs only the latest missed due time, once", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "*/5 * * * *", job: echoJob });
    const back = Date.parse("2031-01-01T01:02:00Z"); // 00:05 … 01:00 were missed
    await at(back, () => runDurableObjectAlarm(timer(schedule.id)));
    await at(back + 1000, () => sweep(env));
    expect(await jobsOf(tenant, schedule.id)).toHaveLength(1);
    expect(await read(tenant, schedule.id)).toMatchObject({
      last_run_at: "2031-01-01T01:00:00.000Z",
      next_run_at: "2031-01-01T01:05:00.000Z",
    });
  });

  it("a paused schedule creates nothing, whatever wakes its timer", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob, paused: true });
    expect(schedule.next_run_at).toBeNull();
    expect(await at(FIRST_DUE + 100, () => runDurableObjectAlarm(timer(schedule.id)))).toBe(false);
    await at(FIRST_DUE + 10_000, () => timer(schedule.id).wake());
    await at(FIRST_DUE + 10_000, () => sweep(env));
    expect(await jobsOf(tenant, schedule.id)).toEqual([]);
  });

  it("skips a due time whose job the submit path refuses, and goes on to the next", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
    // As if the job type had been removed since the schedule was created.
    await env.DB.prepare("UPDATE schedules SET job_json = ? WHERE id = ?")
      .bind(JSON.stringify({ type: "removed_type" }), schedule.id)
      .run();
    await at(FIRST_DUE + 100, () => runDurableObjectAlarm(timer(schedule.id)));
    expect(await jobsOf(tenant, schedule.id)).toEqual([]);
    expect(await read(tenant, schedule.id)).toMatchObject({
      last_run_at: null,
      last_job_id: null,
      next_run_at: new Date(FIRST_DUE + 60_000).toISOString(),
    });
    expect(await alarmOf(schedule.id)).toBe(FIRST_DUE + 60_000);
  });

  it("a deleted schedule's timer creates nothing", async () => {
    const tenant = await createTenant();
    const schedule = await create(tenant, { cron: "* * * * *", job: echoJob });
    await authed(tenant, `/v1/schedules/${schedule.id}`, { method: "DELETE" });
    await at(FIRST_DUE + 100, () => timer(schedule.id).wake());
    expect(await jobsOf(tenant, schedule.id)).toEqual([]);
  });
});
