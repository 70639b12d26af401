import {
  createScheduledController,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import type { CallbackMessage, Env, JobMessage } from "../../src/env";
import worker from "../../src/index";
import type { JobView } from "../../src/jobs/model";
import { limits } from "../../src/limits";
import { shardOf } from "../../src/store/databases";
import { standardSchedule } from "../../src/webhooks/schedule";
import { parseEventStream } from "../support/event-stream";
import {
  at,
  authed,
  BASE,
  createTenant,
  dbOf,
  errorOf,
  eventually,
  everyJobQueueAs,
  getJob,
  type Method,
  onEveryShard,
  setTenantLimits,
  slotEntries,
  submit,
  tracker,
  untilStatus,
  withClockAhead,
  withMethod,
} from "./helpers";
import { deliveriesOf, deliverMessages, receivedOn, storedEvent, unique } from "./webhook-helpers";

const failingQueue = {
  send: () => Promise.reject(new Error("Queue send failed: simulated outage")),
  sendBatch: () => Promise.reject(new Error("Queue send failed: simulated outage")),
};

/** A D1 binding whose `methods` fail as D1 does when unreachable. */
const failingDatabase = (...methods: ("prepare" | "batch")[]) =>
  new Proxy(env.DB as D1Database, {
    get: (target, property) =>
      methods.includes(property as "prepare" | "batch")
        ? () => {
            throw new Error("D1_ERROR: Network connection lost.");
          }
        : Reflect.get(target, property),
  });
/** Down: every statement fails. */
const downDatabase = failingDatabase("prepare", "batch");
/** Every database (control and shards) replaced by `db`. */
const everyDatabaseAs = (db: D1Database) =>
  Object.fromEntries(
    Object.keys(env)
      .filter((name) => /^(DB|SHARD_\d+)$/.test(name))
      .map((name) => [name, db]),
  );
/** The tracker keeps its state in D1: when D1 is down, every call fails like this. */
const downTracker = {
  getByName: () => new Proxy({}, { get: () => () => Promise.reject(new Error("D1_ERROR: Network connection lost.")) }),
};
/** D1 down, and with it every job's tracker and every origin gate. */
const down = {
  ...everyDatabaseAs(downDatabase),
  JOB_TRACKER: downTracker as unknown as typeof env.JOB_TRACKER,
  ORIGIN_GATE: downTracker as unknown as typeof env.ORIGIN_GATE,
};

/** Every object of `namespace` as it is, except `method`, which `replace` wraps. */
const objectsWith = <N extends { getByName(name: string): object }>(
  namespace: N,
  method: string,
  replace: (real: Method) => Method,
) => ({ getByName: (name: string) => withMethod(namespace.getByName(name), method, replace) }) as unknown as N;

/** Every job's tracker as it is, except `method`, which `replace` wraps. */
const trackersWith = (method: string, replace: (real: Method) => Method) =>
  objectsWith(env.JOB_TRACKER, method, replace);

/** Runs `change` on the D1 binding the job's tracker holds for the job's shard (to make it fail on cue). */
const onTrackersShard = (jobId: string, change: (db: D1Database) => void) =>
  runInDurableObject(env.JOB_TRACKER.getByName(jobId), (instance) =>
    change(shardOf((instance as unknown as { env: Env }).env, jobId)),
  );

/**
 * Makes the next write through `db` (a D1 binding as a tracker holds it) land, and then fail as a
 * write whose answer D1 lost: its statement or batch runs, and its caller gets D1's network error.
 * The write: an attempt's one-statement start or any batch (a tracker's change), or with
 * "batch only" the batch alone. Only that one write: the binding is as it was afterwards.
 */
function losesAnswerOnce(db: D1Database, only?: "batch only"): void {
  const methods = ["prepare", "batch"] as const;
  const own = methods.map((name) => [name, Object.getOwnPropertyDescriptor(db, name)] as const);
  const lost = () => {
    for (const [name, descriptor] of own) {
      if (descriptor) Object.defineProperty(db, name, descriptor);
      else delete (db as Partial<D1Database>)[name];
    }
    throw new Error("D1_ERROR: Network connection lost.");
  };
  const real = { prepare: db.prepare.bind(db), batch: db.batch.bind(db) };
  const landsThenFails = (run: Method) => async () => {
    await run();
    lost();
  };
  const startsAttempt = (query: string) => !only && query.startsWith("UPDATE jobs SET status = 'running'");
  Object.defineProperty(db, "batch", {
    configurable: true,
    value: (statements: D1PreparedStatement[]) => landsThenFails(() => real.batch(statements))(),
  });
  Object.defineProperty(db, "prepare", {
    configurable: true,
    value: (query: string) => {
      const statement = real.prepare(query);
      if (!startsAttempt(query)) return statement;
      // `bind` answers a statement, not a promise: Method's shape is only borrowed to wrap it.
      const bindThenLose =
        (bind: Method) =>
        (...params: never[]) =>
          withMethod(Reflect.apply(bind, undefined, params) as unknown as D1PreparedStatement, "first", landsThenFails);
      return withMethod(statement, "bind", bindThenLose as unknown as (real: Method) => Method);
    },
  });
}

/**
 * Every job's tracker as it is, except that the first `begin` call's answer is lost on the way back:
 * the call runs (its start stored), then `meanwhile` runs, then the caller hears a failure — the
 * call's own, with "passes the failure on", else a lost connection. Later calls are untouched.
 */
function answerLostOnce(meanwhile: () => Promise<void> = async () => {}, failure?: "passes the failure on") {
  let begins = 0;
  return trackersWith("begin", (real) => async (...args) => {
    begins += 1;
    if (begins > 1) return real(...args);
    const error = await real(...args).then(
      () => new Error("Network connection lost."),
      (thrown: unknown) => (failure ? thrown : new Error("Network connection lost.")),
    );
    await meanwhile();
    throw error;
  });
}

/** Makes the next read (`SELECT`) through `db` (a D1 binding as a tracker holds it) fail as an overloaded D1 does. */
function refusesReadOnce(db: D1Database): void {
  const own = Object.getOwnPropertyDescriptor(db, "prepare");
  const prepare = db.prepare.bind(db);
  Object.defineProperty(db, "prepare", {
    configurable: true,
    value: (query: string) => {
      if (!query.trimStart().startsWith("SELECT")) return prepare(query);
      if (own) Object.defineProperty(db, "prepare", own);
      else delete (db as Partial<D1Database>).prepare;
      throw new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.");
    },
  });
}

/** A failure as the platform reports it. */
const failing = (message: string) => () => Promise.reject(new Error(message));

/** A job submitted to run later, then made due: a test hands its message to the consumer itself (`consumeOne`). */
async function dueJob(tenant: Awaited<ReturnType<typeof createTenant>>, body: Record<string, unknown>) {
  const job = await submit(tenant, { ...body, delay_seconds: 600 });
  await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
  return job;
}

/** How a consumer settled a message: acked, or retried after `delaySeconds` (undefined: the queue's `retry_delay`). */
type Settled = { acked: true } | { acked: false; delaySeconds: number | undefined };

/**
 * Hands `queue`'s consumer one message on its `attempts`th delivery, with `bindings` replaced, and
 * says how it was settled. The message stands in for the platform's because the test pool's
 * (`createMessageBatch`) does not keep a retry's delay.
 */
async function consumeOne(
  queue: string,
  attempts: number,
  body: JobMessage | CallbackMessage,
  bindings: Partial<Env>,
): Promise<Settled> {
  let settled: Settled | undefined;
  const message = {
    id: `m-${unique()}`,
    timestamp: new Date(),
    attempts,
    body,
    ack: () => {
      settled ??= { acked: true };
    },
    retry: (options?: QueueRetryOptions) => {
      settled ??= { acked: false, delaySeconds: options?.delaySeconds };
    },
  };
  const unsupported = () => {
    throw new Error("the consumers settle each message");
  };
  const batch = { queue, messages: [message], ackAll: unsupported, retryAll: unsupported };
  await worker.queue(batch as unknown as MessageBatch<never>, { ...env, ...bindings });
  if (!settled) throw new Error(`the ${queue} consumer left its message unsettled`);
  return settled;
}

describe("failure handling", () => {
  it("loses nothing when the queue send fails: the job is stored and the sweep starts it", async () => {
    const tenant = await createTenant();
    const res = await app.fetch(
      new Request(`${BASE}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", input: "kept" }),
      }),
      { ...env, ...everyJobQueueAs(failingQueue) },
    );
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobView;
    expect((await getJob(tenant, job.id)).status).toBe("queued");
    // Five minutes later (the grace), the sweep finds it.
    await dbOf(job.id)
      .prepare("UPDATE jobs SET run_at = run_at - 600000, updated_at = updated_at - 600000 WHERE id = ?")
      .bind(job.id)
      .run();
    await worker.scheduled(createScheduledController(), env);
    expect((await untilStatus(tenant, job.id, "succeeded")).result).toBe("kept");
  });

  it("answers 503 with Retry-After while D1 is unavailable, and accepts nothing", async () => {
    const tenant = await createTenant();
    // Down from the start (the key lookup fails), or failing only the write after the key was found.
    for (const db of [downDatabase, failingDatabase("batch")]) {
      const res = await app.fetch(
        new Request(`${BASE}/v1/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "echo" }),
        }),
        { ...env, ...everyDatabaseAs(db) },
      );
      expect(res.headers.get("retry-after")).toBe("5");
      expect(await errorOf(res)).toMatchObject({ status: 503, code: "service_unavailable" });
    }
    const stored = await onEveryShard((db) =>
      db.prepare("SELECT id FROM jobs WHERE tenant_id = ?").bind(tenant.tenantId).all(),
    );
    expect(stored.flatMap((r) => r.results)).toHaveLength(0);
  });

  it("retries a job or callback message with growing delays while the tracker or D1 is unavailable", async () => {
    const delays: (number | undefined)[][] = [[], []];
    for (let attempts = 1; attempts <= 12; attempts++) {
      const jobResult = await consumeOne(
        "edgejobs-jobs-0",
        attempts,
        { job_id: "job_01JD7Z3Q1X0000000000000000" },
        down,
      );
      const callbackResult = await consumeOne(
        "edgejobs-callbacks",
        attempts,
        { event_id: `evt_${unique()}`, job_id: "job_01JD7Z3Q1X0000000000000000", attempt: 2, origin: env.RECEIVER_URL },
        down,
      );
      for (const [i, result] of [jobResult, callbackResult].entries()) {
        if (result.acked) throw new Error("acked while D1 is down");
        delays[i]?.push(result.delaySeconds);
      }
    }
    for (const seen of delays) {
      // 5 s doubling (±20 %) to the 10 min cap, then at the cap (jitter only below it).
      seen.slice(0, 7).forEach((delay, i) => {
        expect(delay).toBeGreaterThanOrEqual(Math.floor(5 * 2 ** i * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.ceil(5 * 2 ** i * 1.2));
      });
      for (const delay of seen.slice(8)) {
        expect(delay).toBeGreaterThanOrEqual(limits.infraRetryMaxDelaySeconds * 0.8);
        expect(delay).toBeLessThanOrEqual(limits.infraRetryMaxDelaySeconds);
      }
    }
  });

  it("keeps a job waiting through a D1 outage longer than all its queue retries, and runs it once D1 is back", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "after the outage", delay_seconds: 600 });
    await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
    // The test plays the queue's part, as wrangler.toml configures it, through a 20 h outage: each
    // retry waits its delay, a message past max_retries goes to the dead-letter queue, and from
    // there (or, after its own retries, nowhere) whatever the consumers send goes back on a queue.
    const outageSeconds = 20 * 3600;
    const resent: MessageSendRequest<JobMessage>[] = [];
    const capturing = { sendBatch: async (m: MessageSendRequest<JobMessage>[]) => void resent.push(...m) };
    let queue: string | null = "edgejobs-jobs-0";
    let attempts = 1;
    let elapsed = 0;
    let deadLettered = 0;
    for (let turn = 0; queue && turn < 1000; turn++) {
      const bindings = { ...(elapsed < outageSeconds ? down : {}), ...everyJobQueueAs(capturing) };
      const result = await consumeOne(queue, attempts, { job_id: job.id }, bindings);
      const sent = resent.shift();
      if (result.acked) {
        if (queue === "edgejobs-jobs-0") break;
        // Put back by the dead-letter consumer: a new message, with the delay it was sent with.
        expect(sent?.body).toEqual({ job_id: job.id });
        elapsed += sent?.delaySeconds ?? 0;
        [queue, attempts] = ["edgejobs-jobs-0", 1];
        continue;
      }
      const retryDelay = queue === "edgejobs-jobs-0" ? 5 : 60; // wrangler.toml's retry_delay, when none is named
      elapsed += result.delaySeconds ?? retryDelay;
      attempts++;
      if (attempts > limits.queueMaxRetries + 1) {
        deadLettered += queue === "edgejobs-jobs-0" ? 1 : 0;
        [queue, attempts] = [queue === "edgejobs-jobs-0" ? "edgejobs-jobs-0-dlq" : null, 1];
      }
    }
    expect(deadLettered).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(outageSeconds);
    // Back-pressure, not failure: the first attempt ran once D1 was back, and succeeded.
    expect(await getJob(tenant, job.id)).toMatchObject({
      status: "succeeded",
      attempts: 1,
      result: "after the outage",
    });
  });

  it("goes on with an attempt whose progress reports cannot be stored (D1 or the tracker unavailable)", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "sleep", input: { seconds: 0.2, steps: 2 }, max_attempts: 1 });
    // The job's tracker as it is, except that storing progress fails as it does while D1 is down.
    const progressFails = trackersWith("progress", () => failing("D1_ERROR: Network connection lost."));
    expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, { JOB_TRACKER: progressFails })).toEqual({
      acked: true,
    });
    // Not the handler's failure: the attempt ran to its end, only its reports were lost.
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, progress: null });
  });

  it("keeps an outcome D1 refuses in the job's tracker and writes it once D1 takes it: one attempt, counted once", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const job = await dueJob(tenant, {
      type: "echo",
      input: "kept",
      max_attempts: 1,
      callback_url: `${env.RECEIVER_URL}${path}`,
    });
    const db = dbOf(job.id);
    const stub = tracker(job.id);
    const stored = () =>
      runInDurableObject(stub, async (_instance, state) => ({
        kept: await state.storage.get<{ failures: number }>("outcome"),
        alarm: await state.storage.getAlarm(),
      }));
    // D1 refuses to take this job out of running, as it refuses every write while down or overloaded.
    const refusal = `refuse_${job.id}`;
    await db
      .prepare(
        `CREATE TRIGGER ${refusal} BEFORE UPDATE ON jobs WHEN OLD.id = '${job.id}' AND NEW.status <> 'running'
         BEGIN SELECT RAISE(ABORT, 'D1_ERROR: Network connection lost.'); END`,
      )
      .run();
    try {
      expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, {})).toEqual({ acked: true });
      const first = await stored();
      expect(first.kept).toMatchObject({ attempt: 1, outcome: { ok: true, resultJson: '"kept"' }, failures: 1 });
      expect(first.alarm).toBeGreaterThan(Date.now() + 5000 * 0.8 - 1000);
      // Its alarm while D1 still refuses: kept, and tried again after a longer delay.
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      const second = await stored();
      expect(second.kept?.failures).toBe(2);
      expect(second.alarm).toBeGreaterThan(Date.now() + 10_000 * 0.8 - 1000);
      // The same outcome reported again (its first answer lost) is kept already: its backoff goes on.
      const again = await stub.complete(1, { ok: true, resultJson: '"kept"', resultKey: null });
      expect(again).toMatchObject({ accepted: true, discardResult: false });
      expect((await stored()).kept?.failures).toBeGreaterThanOrEqual(2);
      // Past the attempt's lease and silence, the sweep's check must not take it for lost: nothing is decided meanwhile.
      const refused = await at(Date.now() + 60_000, () => stub.recover()).then(
        () => null,
        (error: unknown) => String(error),
      );
      expect(refused).toMatch(/D1_ERROR/);
      // The attempt was quick: its start, held by the tracker, is kept with its outcome, and D1 shows the job as before.
      expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
      // A cancel waits behind it too, and is told to come back, as whenever D1 is unavailable.
      const cancel = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
      expect([cancel.status, cancel.headers.get("retry-after")]).toEqual([503, "5"]);
    } finally {
      await db.prepare(`DROP TRIGGER IF EXISTS ${refusal}`).run();
    }
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: "kept" });
    const [callback, ...more] = await eventually(
      () => receivedOn(path),
      (received) => received.length > 0,
    );
    expect(JSON.parse(callback?.body ?? "{}")).toMatchObject({ type: "job.succeeded", data: { result: "kept" } });
    expect(more).toHaveLength(0);
    expect(await stored()).toEqual({ kept: undefined, alarm: null });
  });

  it("tells a job's tracker its outcome when the object was reset (a deploy) between the attempt's start and end", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "told", max_attempts: 1 });
    let reports = 0;
    // A real reset, seen by the stub the first report goes through: every later call through it fails.
    const resetOnce = {
      getByName: (name: string) => {
        const stub = env.JOB_TRACKER.getByName(name);
        return withMethod(stub, "complete", (real) => async (...args) => {
          reports += 1;
          if (reports === 1) {
            await stub.isRunning();
            await runInDurableObject(stub, (_instance, state) =>
              state.abort("Durable Object reset because its code was updated."),
            ).catch(() => {});
          }
          return real(...args);
        });
      },
    } as unknown as typeof env.JOB_TRACKER;
    expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, { JOB_TRACKER: resetOnce })).toEqual({
      acked: true,
    });
    expect(reports).toBe(2);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: "told" });
  });

  it("runs a job whose start was made though its answer never reached the consumer: one attempt, not a lost worker", async () => {
    const losses = ["D1's answer lost", "the tracker's answer lost", "the tracker reset just after the write"] as const;
    for (const loss of losses) {
      for (const carriesTenant of [true, false]) {
        const tenant = await createTenant();
        const job = await dueJob(tenant, { type: "echo", input: loss, max_attempts: 1 });
        const stub = env.JOB_TRACKER.getByName(job.id);
        // D1's answer: the start's write lands in the job's shard, and the tracker hears a failure.
        if (loss === "D1's answer lost") await onTrackersShard(job.id, (db) => losesAnswerOnce(db));
        const resetObject = () =>
          runInDurableObject(stub, (_instance, state) =>
            state.abort("Durable Object reset because its code was updated."),
          ).catch(() => {});
        const tracker =
          loss === "D1's answer lost"
            ? env.JOB_TRACKER
            : answerLostOnce(loss === "the tracker reset just after the write" ? resetObject : undefined);
        const body = carriesTenant ? { job_id: job.id, tenant_id: tenant.tenantId } : { job_id: job.id };
        const settled = await consumeOne("edgejobs-jobs-0", 1, body, { JOB_TRACKER: tracker });
        // Before, the message was retried, found the job running, and the sweep failed it as worker_lost.
        expect({ loss, carriesTenant, settled }).toEqual({ loss, carriesTenant, settled: { acked: true } });
        if (loss === "the tracker reset just after the write" && !carriesTenant) {
          // Its tracker acquired the slot on the first ask, and the reset lost whose grant it was: the second ask
          // cannot tell its own start, never stored, from another consumer's attempt, so it leaves the job waiting,
          // its slot held, for the sweep to send again past its grace.
          expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
          expect(await slotEntries(tenant.tenantId)).toEqual({ [job.id]: "running" });
          // Sent again past an attempt's lease (the sweep's re-send), it runs.
          const late = await at(Date.now() + limits.attemptLeaseSeconds * 1000, async () => {
            const begun = await env.JOB_TRACKER.getByName(job.id).begin(null, { startToken: "late" });
            return begun.kind === "run" ? begun.attempt : begun.kind;
          });
          expect(late).toBe(1);
          continue;
        }
        expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: loss });
      }
    }
  });

  it("runs one attempt when a duplicate message comes after a reset lost a start its tracker had not stored yet, and takes the attempt back from its report", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "duplicate", max_attempts: 2 });
    // The first consumer's attempt: its batch acquired the slot, and the tracker holds the start (a quick attempt's).
    const [grant] = await env.TENANT_SLOTS.getByName(tenant.tenantId).acquireGrants([job.id]);
    expect(grant).toEqual({ jobId: job.id, heldSince: null });
    const first = await env.JOB_TRACKER.getByName(job.id).begin(tenant.tenantId, { slotHeld: true, startToken: "a" });
    if (first.kind !== "run") throw new Error(`not begun: ${first.reason}`);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
    // A deploy resets the tracker before the attempt's first heartbeat: the start it held is gone.
    await evictDurableObject(env.JOB_TRACKER.getByName(job.id));
    // A duplicate of the message, through a consumer: its slot was granted moments ago, so an attempt may be
    // running that the fresh tracker never saw. It starts none.
    const body = { job_id: job.id, tenant_id: tenant.tenantId };
    expect(await consumeOne("edgejobs-jobs-0", 2, body, {})).toEqual({ acked: true });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
    expect(await slotEntries(tenant.tenantId)).toEqual({ [job.id]: "running" });
    // The first attempt ends and reports, with its claim: the fresh tracker takes it back and writes it once.
    const claim = { startToken: "a", startedAt: first.job.startedAt as number };
    const outcome = { ok: true as const, resultJson: '"first"', resultKey: null };
    expect(await env.JOB_TRACKER.getByName(job.id).complete(1, outcome, tenant.tenantId, claim)).toMatchObject({
      accepted: true,
      releaseSlot: true,
    });
    expect(await getJob(tenant, job.id)).toMatchObject({
      status: "succeeded",
      attempts: 1,
      result: "first",
      started_at: new Date(first.job.startedAt as number).toISOString(),
    });
  });

  it("starts a retry at once though its previous attempt's slot release has not landed yet", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "retried", max_attempts: 2 });
    const stub = env.JOB_TRACKER.getByName(job.id);
    const slots = env.TENANT_SLOTS.getByName(tenant.tenantId);
    // An hour ahead, so the retry's own message (sent for 5 s from now) finds the retry not due yet.
    const t0 = Date.now() + 3_600_000;
    const [grant] = await at(t0, () => slots.acquireGrants([job.id]));
    /** The attempt a begin at `time` started, or why it started none. */
    const begin = (time: number, options: { slotHeldSince?: number | null; startToken: string }) =>
      at(time, async () => {
        const begun = await stub.begin(tenant.tenantId, { slotHeld: true, ...options });
        return begun.kind === "run" ? begun.attempt : begun.reason;
      });
    expect(await begin(t0, { startToken: "a" })).toBe(1);
    const failed = {
      ok: false as const,
      error: { code: "busy", message: "later" },
      retryable: true,
      retryAfterSeconds: 5,
    };
    expect(await at(t0, () => stub.complete(1, failed, tenant.tenantId))).toMatchObject({ accepted: true });
    // Its consumer has not given the slot back yet: the retry's message finds it held since the first grant.
    const [again] = await at(t0 + 6_000, () => slots.acquireGrants([job.id]));
    expect([grant?.heldSince, again?.heldSince]).toEqual([null, t0]);
    // Its tracker made the first attempt's start itself: no start can be unseen, so the retry runs.
    expect(await begin(t0 + 6_000, { slotHeldSince: again?.heldSince ?? null, startToken: "b" })).toBe(2);
  });

  it("keeps a held start through a D1 write outage, so a duplicate message 31 s in starts no second attempt", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "outage", max_attempts: 2 });
    const stub = () => env.JOB_TRACKER.getByName(job.id);
    const slots = env.TENANT_SLOTS.getByName(tenant.tenantId);
    const t0 = Date.now() + 3_600_000; // ahead, so that the job's own message (if any) finds nothing due
    await at(t0, () => slots.acquireGrants([job.id]));
    const first = await at(t0, async () => {
      const begun = await stub().begin(tenant.tenantId, { slotHeld: true, startToken: "a" });
      return begun.kind === "run" ? (begun.job.startedAt as number) : begun.reason;
    });
    expect(first).toBe(t0);
    const claim = { startToken: "a", startedAt: t0 };
    const db = dbOf(job.id);
    const refusal = `refuse_${job.id}`;
    await db
      .prepare(
        `CREATE TRIGGER ${refusal} BEFORE UPDATE ON jobs WHEN OLD.id = '${job.id}'
         BEGIN SELECT RAISE(ABORT, 'D1_ERROR: Network connection lost.'); END`,
      )
      .run();
    try {
      // The attempt's heartbeats: each one's write of the start fails, as while D1 is overloaded.
      for (const after of [1_000, 10_000, 20_000, 30_000]) {
        const beat = await at(t0 + after, () => stub().heartbeat(1, tenant.tenantId, claim)).then(
          () => "stored",
          (error: unknown) => String(error),
        );
        expect(beat).toMatch(/D1_ERROR/);
      }
      // A duplicate message: its slot was granted over a lease ago, but the tracker still holds the attempt, past
      // its lease: the lease's renewal (the start's write) is refused too, so the message waits, as before.
      const duplicate = await at(t0 + 31_000, async () => {
        const [grant] = await slots.acquireGrants([job.id]);
        const options = { slotHeld: true, slotHeldSince: grant?.heldSince ?? null, startToken: "b" };
        return stub()
          .begin(tenant.tenantId, options)
          .then(
            (begun) => (begun.kind === "run" ? begun.attempt : begun.reason),
            (error: unknown) => String(error),
          );
      });
      expect(duplicate).toMatch(/D1_ERROR/);
    } finally {
      await db.prepare(`DROP TRIGGER IF EXISTS ${refusal}`).run();
    }
    // D1 takes writes again: the attempt's next heartbeat stores its start.
    expect(await at(t0 + 40_000, () => stub().heartbeat(1, tenant.tenantId, claim))).toEqual({ stop: false });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "running", attempts: 1 });
  });

  it("finds a held start whose write landed though its answer was lost: the next outcome, cancel or progress is written at once", async () => {
    for (const next of ["complete", "cancel", "progress"] as const) {
      const tenant = await createTenant();
      const job = await dueJob(tenant, { type: "echo", input: next, max_attempts: 2 });
      const stub = () => env.JOB_TRACKER.getByName(job.id);
      const t0 = Date.now() + 3_600_000; // ahead, so that the job's own message (if any) finds nothing due
      await at(t0, () => env.TENANT_SLOTS.getByName(tenant.tenantId).acquireGrants([job.id]));
      const begun = await at(
        t0,
        async () => (await stub().begin(tenant.tenantId, { slotHeld: true, startToken: "a" })).kind,
      );
      expect(begun).toBe("run");
      const claim = { startToken: "a", startedAt: t0 };
      // The first heartbeat's write of the start lands in the job's shard; the tracker hears a failure.
      await onTrackersShard(job.id, (db) => losesAnswerOnce(db, "batch only"));
      const beat = await at(t0 + 1_000, () => stub().heartbeat(1, tenant.tenantId, claim)).then(
        () => "stored",
        (error: unknown) => String(error),
      );
      expect(beat).toMatch(/D1_ERROR/);
      const done = await at(t0 + 2_000, async () => {
        if (next === "complete") {
          const outcome = { ok: true as const, resultJson: '"done"', resultKey: null };
          return (await stub().complete(1, outcome, tenant.tenantId, claim)).releaseSlot;
        }
        if (next === "cancel") return (await stub().cancel(tenant.tenantId)).ok;
        return !(await stub().progress(1, 50, "half", tenant.tenantId, claim)).stop;
      });
      expect({ next, done }).toEqual({ next, done: true });
      const expected = { complete: "succeeded", cancel: "canceled", progress: "running" }[next];
      expect({ next, status: (await getJob(tenant, job.id)).status }).toEqual({ next, status: expected });
    }
  });

  it("takes back an attempt whose start its reset tracker never stored at the attempt's first heartbeat, and stores it then", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "beat", max_attempts: 1 });
    const first = await env.JOB_TRACKER.getByName(job.id).begin(tenant.tenantId, { startToken: "a" });
    if (first.kind !== "run") throw new Error(`not begun: ${first.reason}`);
    await evictDurableObject(env.JOB_TRACKER.getByName(job.id));
    const claim = { startToken: "a", startedAt: first.job.startedAt as number };
    // Another consumer's claim on the same attempt number is not this attempt: told to stop.
    const other = { startToken: "b", startedAt: Date.now() };
    expect(await env.JOB_TRACKER.getByName(job.id).heartbeat(1, tenant.tenantId, claim)).toEqual({ stop: false });
    expect(await env.JOB_TRACKER.getByName(job.id).heartbeat(1, tenant.tenantId, other)).toEqual({ stop: true });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "running", attempts: 1, version: 2 });
  });

  it("tells a job's watchers of a start whose answer was lost once, not again when the same call asks again", async () => {
    for (const loss of ["the tracker's answer lost", "D1's answer lost"] as const) {
      const tenant = await createTenant();
      const job = await dueJob(tenant, { type: "echo", input: "watched", max_attempts: 1 });
      const stream = await authed(tenant, `/v1/jobs/${job.id}/events`);
      const text = stream.text();
      let bindings: Partial<Env> = { JOB_TRACKER: answerLostOnce() };
      if (loss === "D1's answer lost") {
        await onTrackersShard(job.id, (db) => losesAnswerOnce(db));
        bindings = {};
      }
      const body = { job_id: job.id, tenant_id: tenant.tenantId };
      expect(await consumeOne("edgejobs-jobs-0", 1, body, bindings)).toEqual({ acked: true });
      const frames = parseEventStream(await text).map((e) => ({ id: e.id, status: e.data.status }));
      expect({ loss, frames }).toEqual({
        loss,
        frames: [
          { id: "1", status: "scheduled" },
          { id: "2", status: "running" },
          { id: "3", status: "succeeded" },
        ],
      });
    }
  });

  it("runs one attempt when another message for the job comes between the lost answer and the second ask", async () => {
    for (const carriesTenant of [true, false]) {
      const tenant = await createTenant();
      const job = await dueJob(tenant, { type: "echo", input: "once", max_attempts: 1 });
      const body = carriesTenant ? { job_id: job.id, tenant_id: tenant.tenantId } : { job_id: job.id };
      let other: Settled | undefined;
      // Another delivery, by another consumer, after the start is stored and before this consumer asks again.
      const tracker = answerLostOnce(async () => {
        other = await consumeOne("edgejobs-jobs-0", 1, body, {});
      });
      const settled = await consumeOne("edgejobs-jobs-0", 1, body, { JOB_TRACKER: tracker });
      expect({ carriesTenant, settled, other }).toEqual({
        carriesTenant,
        settled: { acked: true },
        other: { acked: true },
      });
      expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: "once" });
      await eventually(
        () => slotEntries(tenant.tenantId),
        (entries) => Object.keys(entries).length === 0,
      );
    }
  });

  it("gives a call asked again its stored start without a slot request, so an overloaded slots object cannot stop it", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "no slot request", max_attempts: 1 });
    const stub = env.JOB_TRACKER.getByName(job.id);
    let acquires = 0;
    const slots = env.TENANT_SLOTS; // the tracker's env may be this very object, changed below
    // The consumer's batch acquire fails, so the tracker acquires the slot itself on the first ask.
    const overloadedSlots = objectsWith(slots, "acquireGrants", () => async () => {
      acquires += 1;
      throw new Error("Durable Object is overloaded.");
    });
    await onTrackersShard(job.id, (db) => losesAnswerOnce(db));
    // Stored (its slot taken by the tracker), D1's answer lost; from then on the slots object is overloaded for the tracker too.
    const tracker = answerLostOnce(async () => {
      await runInDurableObject(stub, (instance) => {
        (instance as unknown as { env: Env }).env.TENANT_SLOTS = overloadedSlots;
      });
    }, "passes the failure on");
    const body = { job_id: job.id, tenant_id: tenant.tenantId };
    try {
      const settled = await consumeOne("edgejobs-jobs-0", 1, body, {
        JOB_TRACKER: tracker,
        TENANT_SLOTS: overloadedSlots,
      });
      expect({ settled, acquires }).toEqual({ settled: { acked: true }, acquires: 1 }); // the batch's only
    } finally {
      await runInDurableObject(stub, (instance) => {
        (instance as unknown as { env: Env }).env.TENANT_SLOTS = slots;
      });
    }
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  it("hands a call asked again its stored start even when it asks after the attempt's lease and silence", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "mine", max_attempts: 1 });
    await withClockAhead(async (advance) => {
      // The second ask comes 31 s after the start (the connection failing late, or queued behind slow calls).
      const tracker = answerLostOnce(async () => advance((limits.attemptLeaseSeconds + 1) * 1000));
      const body = { job_id: job.id, tenant_id: tenant.tenantId };
      expect(await consumeOne("edgejobs-jobs-0", 1, body, { JOB_TRACKER: tracker })).toEqual({ acked: true });
    });
    // Its handler had not run: the attempt is not judged silent and reclaimed as worker_lost.
    expect(await getJob(tenant, job.id)).toMatchObject({
      status: "succeeded",
      attempts: 1,
      error: null,
      result: "mine",
    });
  });

  it("has a late second ask whose start was reclaimed meanwhile wait for a slot like any start, within its tenant's limit", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { max_running_jobs: 1 });
    const job = await dueJob(tenant, { type: "echo", input: "late", max_attempts: 3 });
    const other = await dueJob(tenant, { type: "sleep", input: { seconds: 30, steps: 1 } });
    await withClockAhead(async (advance) => {
      // The consumer's batch holds the tenant's one slot for the job; the start is stored, its answer lost.
      const lostThenReclaimed = answerLostOnce(async () => {
        advance((limits.attemptLeaseSeconds + 1) * 1000);
        await tracker(job.id).recover(); // the sweep reclaims the silent attempt: worker_lost, its slot given back
        expect(await tracker(other.id).begin(tenant.tenantId)).toMatchObject({ kind: "run" }); // the slot goes on
        advance(600_000); // the job's retry is due when the second ask comes
      });
      const body = { job_id: job.id, tenant_id: tenant.tenantId };
      expect(await consumeOne("edgejobs-jobs-0", 1, body, { JOB_TRACKER: lostThenReclaimed })).toEqual({ acked: true });
    });
    // Before, the second ask trusted the batch's slot, which was no longer the job's: both ran under a limit of 1.
    expect((await getJob(tenant, job.id)).status).toBe("queued");
    expect(await slotEntries(tenant.tenantId)).toEqual({ [other.id]: "running", [job.id]: "waiting" });
  });

  it("gives back the slot a call's first ask took when its second ask does not run the job", async () => {
    const cases = [
      "a late message whose first read of the finished job D1 refused",
      "an expiry stored, its answer lost",
    ];
    for (const which of cases) {
      const tenant = await createTenant();
      const job = await dueJob(tenant, { type: "echo", input: "done", ttl_seconds: 60 });
      const body = { job_id: job.id, tenant_id: tenant.tenantId };
      const stub = env.JOB_TRACKER.getByName(job.id);
      if (which === cases[0]) {
        expect(await consumeOne("edgejobs-jobs-0", 1, body, {})).toEqual({ acked: true });
        await evictDurableObject(stub); // a late message meets a tracker that holds no job yet
        await onTrackersShard(job.id, refusesReadOnce);
      } else {
        await dbOf(job.id).prepare("UPDATE jobs SET expires_at = 1 WHERE id = ?").bind(job.id).run();
        await onTrackersShard(job.id, (db) => losesAnswerOnce(db, "batch only"));
      }
      // The consumer's batch acquire fails, so the tracker takes the slot itself on the first ask.
      const slots = env.TENANT_SLOTS;
      const overloadedForTheBatch = objectsWith(slots, "acquireGrants", () => failing("Durable Object is overloaded."));
      expect(await consumeOne("edgejobs-jobs-0", 1, body, { TENANT_SLOTS: overloadedForTheBatch })).toEqual({
        acked: true,
      });
      expect({ which, status: (await getJob(tenant, job.id)).status }).toEqual({
        which,
        status: which === cases[0] ? "succeeded" : "canceled",
      });
      expect({ which, slots: await slotEntries(tenant.tenantId) }).toEqual({ which, slots: {} });
    }
  });

  it("sends a pending job.progress callback with the progress D1 holds after a progress write whose answer was lost", async () => {
    const tenant = await createTenant();
    const path = `/ok/${unique()}`;
    const job = await dueJob(tenant, {
      type: "echo",
      input: "progress",
      callback_url: `${env.RECEIVER_URL}${path}`,
      callback_events: ["job.progress"],
    });
    const stub = env.JOB_TRACKER.getByName(job.id);
    expect(await stub.begin(tenant.tenantId, { startToken: "call" })).toMatchObject({ kind: "run", attempt: 1 });
    const percents = async () =>
      (await receivedOn(path)).map(
        (r) => (JSON.parse(r.body) as { data: { progress: { percent: number } } }).data.progress.percent,
      );
    await stub.progress(1, 10, "sent at once");
    await eventually(percents, (seen) => seen.length === 1);
    await stub.progress(1, 20, "its event waits for the rest of the second");
    await onTrackersShard(job.id, (db) => losesAnswerOnce(db));
    const failure = await stub.progress(1, 30, "stored, its answer lost").then(
      () => null,
      (error: unknown) => String(error),
    );
    expect(failure).toContain("Network connection lost");
    // Before, the tracker had forgotten the job with the failed write, and the waiting event was dropped.
    expect(await eventually(percents, (seen) => seen.length === 2)).toEqual([10, 30]);
  });

  it("keeps an outcome when its restarted tracker cannot even read the job from D1, and writes it once D1 is back", async () => {
    const tenant = await createTenant();
    const job = await dueJob(tenant, { type: "echo", input: "read later", max_attempts: 1 });
    const db = dbOf(job.id);
    const stub = tracker(job.id);
    // The tracker restarted while the handler ran (it holds nothing in memory), and the job's shard is down.
    const restartedThenDown = trackersWith("complete", (real) => async (...args) => {
      await evictDurableObject(stub);
      await db.prepare("ALTER TABLE jobs RENAME TO jobs_away").run();
      return real(...args);
    });
    try {
      expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, { JOB_TRACKER: restartedThenDown })).toEqual({
        acked: true,
      });
      const kept = await runInDurableObject(stub, (_instance, state) => state.storage.get("outcome"));
      expect(kept).toMatchObject({ attempt: 1, outcome: { ok: true, resultJson: '"read later"' } });
    } finally {
      await db.prepare("ALTER TABLE jobs_away RENAME TO jobs").run();
    }
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 1, result: "read later" });
  });

  it("deletes the R2 result of a kept outcome that is no longer the job's, and frees the tracker's storage", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "moved on", delay_seconds: 600 });
    const stub = tracker(job.id);
    // As a restarted tracker that could not read the job left it: an outcome kept for an attempt the job is not at.
    const orphan = `results/${job.id}/1.json`;
    await env.BLOBS.put(orphan, JSON.stringify("x".repeat(70 * 1024)));
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.put("outcome", {
        attempt: 1,
        outcome: { ok: true, resultJson: null, resultKey: orphan },
        failures: 1,
      });
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await env.BLOBS.head(orphan)).toBeNull();
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.get("outcome"))).toBeUndefined();
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "scheduled", attempts: 0 });
  });

  it("reads an input and stores a result over 64 KiB through a short R2 outage, on the job's one attempt", async () => {
    const tenant = await createTenant();
    const big = "r".repeat(70 * 1024);
    const job = await dueJob(tenant, { type: "echo", input: big, max_attempts: 1 });
    let reads = 0;
    let resultPuts = 0;
    const flaky = withMethod(
      withMethod(
        env.BLOBS,
        "get",
        (real) =>
          (...args) =>
            ++reads <= 1 ? failing("R2 internal error")() : real(...args),
      ),
      "put",
      (real) =>
        (...args) => {
          const key = args[0] as unknown as string;
          return key.startsWith("results/") && ++resultPuts <= 2 ? failing("R2 internal error")() : real(...args);
        },
    );
    expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, { BLOBS: flaky })).toEqual({ acked: true });
    expect([reads, resultPuts]).toEqual([2, 3]);
    const done = await getJob(tenant, job.id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, result: null });
    expect(await (await authed(tenant, done.result_url as string)).json()).toBe(big);
  });

  it("gives back an attempt whose result R2 will not take: not counted, the job runs again 10 min later", async () => {
    const tenant = await createTenant();
    const big = "g".repeat(70 * 1024);
    const job = await dueJob(tenant, { type: "echo", input: big, max_attempts: 1 });
    const r2Refuses = withMethod(env.BLOBS, "put", () => failing("R2 internal error"));
    const before = Date.now();
    expect(await consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, { BLOBS: r2Refuses })).toEqual({ acked: true });
    // Its one attempt is given back, not used up: the job waits, as it does for any outage, instead of failing.
    const waiting = await getJob(tenant, job.id);
    expect(waiting).toMatchObject({ status: "queued", attempts: 1, error: { code: "storage_unavailable" } });
    const runAt = Date.parse(waiting.run_at);
    expect(runAt).toBeGreaterThanOrEqual(before + limits.infraRetryMaxDelaySeconds * 1000);
    // R2 is back when its message comes: it runs on its one counted attempt, the second started.
    expect(await at(runAt, () => consumeOne("edgejobs-jobs-0", 1, { job_id: job.id }, {}))).toEqual({ acked: true });
    expect(await getJob(tenant, job.id)).toMatchObject({ status: "succeeded", attempts: 2, error: null });
    const { attempts } = (await (await authed(tenant, `/v1/jobs/${job.id}/attempts`)).json()) as {
      attempts: { attempt: number; status: string; error: { code: string } | null }[];
    };
    // The given-back attempt's own error went nowhere: R2, which keeps it with the attempt's log, was down.
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
      [1, "failed", null],
      [2, "succeeded", null],
    ]);
  });

  it("puts a dead-lettered callback message back on the callbacks queue, delayed, rather than lose it", async () => {
    const resent: MessageSendRequest<CallbackMessage>[] = [];
    const capturing = { sendBatch: async (m: MessageSendRequest<CallbackMessage>[]) => void resent.push(...m) };
    const body = {
      event_id: `evt_${unique()}`,
      job_id: "job_01JD7Z3Q1X0000000000000000",
      attempt: 3,
      origin: env.RECEIVER_URL,
    };
    const result = await consumeOne("edgejobs-callbacks-dlq", 1, body, {
      ...down,
      CALLBACKS: capturing as unknown as Queue<CallbackMessage>,
    });
    expect(result).toEqual({ acked: true });
    expect(resent).toEqual([{ body, delaySeconds: limits.infraRetryMaxDelaySeconds }]);
  });

  it("gives a receiver that is down for a day all eight attempts on the schedule, then keeps the event failed and redeliverable", async () => {
    const tenant = await createTenant();
    const path = `/status/500/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    // The real eight-slot schedule. The test plays the queue's part so as not to wait 28 h: it keeps each
    // retry's delay and hands the retry back at once (a claim checks the attempt's number, not its time).
    const queued: MessageSendRequest<CallbackMessage>[] = [];
    const heldQueue = {
      sendBatch: async (messages: MessageSendRequest<CallbackMessage>[]) => queued.push(...messages),
    };
    const settings = { WEBHOOK_RETRY_SCHEDULE: undefined, CALLBACKS: heldQueue as unknown as Queue<CallbackMessage> };
    let message: CallbackMessage | undefined = {
      event_id: eventId,
      job_id: jobId,
      attempt: 1,
      origin: env.RECEIVER_URL,
    };
    const delays: number[] = [];
    for (let turns = 0; message && turns < 12; turns++) {
      await deliverMessages([message], settings);
      const retry = queued.shift();
      if (retry) delays.push(retry.delaySeconds ?? 0);
      message = retry?.body;
    }
    // A retry after each of the first seven attempts, each its slot of the schedule (±20 % jitter), none after the eighth.
    expect(delays).toHaveLength(7);
    delays.forEach((delay, i) => {
      const slot = standardSchedule[i + 1] as number;
      expect(delay).toBeGreaterThanOrEqual(Math.floor(slot * 0.8) - 1);
      expect(delay).toBeLessThanOrEqual(Math.ceil(slot * 1.2));
    });
    const log = await deliveriesOf(tenant, jobId);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger, d.http_status, d.error])).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [n, "scheduled", 500, null]),
    );
    expect(log.deliveries.slice(0, 7).every((d) => d.next_attempt_at !== null)).toBe(true);
    expect(log.deliveries[7]?.next_attempt_at).toBeNull();
    // About 28 h from the first attempt to the last: 27.6 h scheduled, ±20 %.
    const waited = log.deliveries
      .slice(0, 7)
      .reduce((sum, d) => sum + Date.parse(d.next_attempt_at as string) - Date.parse(d.attempted_at), 0);
    expect(waited / 3_600_000).toBeGreaterThan(27.6 * 0.8);
    expect(waited / 3_600_000).toBeLessThan(27.6 * 1.2);
    expect(log.events).toMatchObject([{ id: eventId, status: "failed", attempts: 8, next_attempt_at: null }]);
    expect(await receivedOn(path)).toHaveLength(8);
    // Still redeliverable: a manual attempt goes out through the real queue.
    const res = await authed(tenant, `/v1/jobs/${jobId}/deliveries/${eventId}/redeliver`, { method: "POST" });
    expect(res.status).toBe(202);
    const after = await eventually(
      () => deliveriesOf(tenant, jobId),
      (d) => d.deliveries.length === 9,
    );
    expect(after.deliveries[8]).toMatchObject({ attempt: 9, trigger: "manual", http_status: 500 });
  });
});
