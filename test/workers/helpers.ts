import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Env, JobQueueMessage } from "../../src/env";
import worker from "../../src/index";
import { jobQueues } from "../../src/jobs/job-queues";
import type { JobRecord, JobView } from "../../src/jobs/model";
import { clock } from "../../src/platform/clock";
import { firstIdAt, newId } from "../../src/platform/ids";
import { databases, everyDatabase, shardOf } from "../../src/store/databases";
import { insertJob, updateJob } from "../../src/store/jobs";
import { SlotJournal } from "../../src/store/slot-journal";
import { jobRecord } from "../support/job-record";

export const BASE = "http://edgejobs.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export interface TestTenant {
  apiKey: string;
  tenantId: string;
  webhookSecret: string;
}

export async function createTenant(name = "test"): Promise<TestTenant> {
  const res = await call("/v1/keys", {
    method: "POST",
    headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating a key answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { api_key: string; tenant_id: string; webhook_secret: string };
  return { apiKey: body.api_key, tenantId: body.tenant_id, webhookSecret: body.webhook_secret };
}

export function authed(tenant: TestTenant, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${tenant.apiKey}`);
  return call(path, { ...init, headers });
}

export function postJson(tenant: TestTenant, path: string, body: unknown, headers: Record<string, string> = {}) {
  return authed(tenant, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function submit(tenant: TestTenant, body: unknown): Promise<JobView> {
  const res = await postJson(tenant, "/v1/jobs", body);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JobView;
}

export async function getJob(tenant: TestTenant, id: string): Promise<JobView> {
  const res = await authed(tenant, `/v1/jobs/${id}`);
  if (res.status !== 200) throw new Error(`get answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JobView;
}

/** Polls until `check` passes, for effects of the real queues that arrive on their own. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const untilStatus = (tenant: TestTenant, id: string, ...statuses: JobView["status"][]) =>
  eventually(
    () => getJob(tenant, id),
    (job) => statuses.includes(job.status),
  );

export function tracker(id: string) {
  return env.JOB_TRACKER.getByName(id);
}

export async function errorOf(
  res: Response,
): Promise<{ status: number; code: string; message: string; details?: { path: string }[] }> {
  const body = (await res.json()) as { error: { code: string; message: string; details?: { path: string }[] } };
  expectErrorShape(body);
  return { status: res.status, code: body.error.code, message: body.error.message, details: body.error.details };
}

function expectErrorShape(body: { error?: { code?: unknown; message?: unknown } }) {
  if (typeof body.error?.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not the contract's error shape: ${JSON.stringify(body)}`);
  }
}

export const ADMIN = { authorization: "Bearer test-admin-token" };

/** Admin: sets a tenant's limits. */
export async function setTenantLimits(
  tenant: TestTenant,
  limits: { submit_per_minute?: number | null; read_per_minute?: number | null; max_running_jobs?: number | null },
) {
  const res = await call(`/v1/tenants/${tenant.tenantId}`, {
    method: "PATCH",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify(limits),
  });
  if (res.status !== 200) throw new Error(`setting limits answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The shard database that stores the job (or webhook event) with this id. */
export const dbOf = (id: string): D1Database => shardOf(env, id);

/** Runs `write` on every database, as the service writes tenants and keys (store/replicated.ts). */
export function onEveryDatabase<T>(write: (db: D1Database) => Promise<T>): Promise<T[]> {
  return Promise.all(everyDatabase(env).map(write));
}

/** Runs `read` on every job shard: the tenant's jobs are spread over them. */
export function onEveryShard<T>(read: (db: D1Database) => Promise<T>): Promise<T[]> {
  return Promise.all(databases(env).shards.map(read));
}

/** Every jobs queue binding (`JOBS_<k>`) bound to `queue` instead: to fail or capture every job message. */
export function everyJobQueueAs(queue: { send?: unknown; sendBatch?: unknown }): Partial<Env> {
  return Object.fromEntries(jobQueues(env).map((_, k) => [`JOBS_${k}`, queue])) as Partial<Env>;
}

/**
 * `id` as if made at `ms`: its time replaced (an id made now cannot carry a
 * past time, ulid being monotonic), its random part and shard kept.
 */
export function madeAt(ms: number, id: string): string {
  const prefix = "job_".length + 10;
  return firstIdAt("job_", ms).slice(0, prefix) + id.slice(prefix);
}

/** Runs `fn` with the service's clock reading `time` (ms), as if that moment had come. */
export async function at<R>(time: number, fn: () => Promise<R>): Promise<R> {
  const realNow = clock.now;
  clock.now = () => time;
  try {
    return await fn();
  } finally {
    clock.now = realNow;
  }
}

/**
 * Runs `fn` with the service's clock running on from now, moved ahead by what `fn` passes to
 * `advance` (ms, cumulative): time passing while `fn` waits on something, without waiting.
 */
export async function withClockAhead<R>(fn: (advance: (ms: number) => void) => Promise<R>): Promise<R> {
  const realNow = clock.now;
  let ahead = 0;
  clock.now = () => realNow() + ahead;
  try {
    return await fn((ms) => {
      ahead += ms;
    });
  } finally {
    clock.now = realNow;
  }
}

/** What the tenant's slots object has stored: job id → running, reserved or waiting. */
export function slotEntries(tenantId: string): Promise<Record<string, string>> {
  return runInDurableObject(env.TENANT_SLOTS.getByName(tenantId), (_instance, state) => {
    const entries = new SlotJournal(state.storage.sql).entries(); // read back from storage, not the instance's memory
    return Object.fromEntries(entries.map(([jobId, entry]) => [jobId, entry.state]));
  });
}

/** `db`, adding the rows each statement it answers with `all()` read (D1 bills them) to `read.rows`. */
export function countingReads(db: D1Database, read: { rows: number }): D1Database {
  const counted = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => counted(target.bind(...values));
        if (property === "all")
          return async () => {
            const result = await target.all();
            read.rows += result.meta.rows_read;
            return result;
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query: string) => counted(target.prepare(query));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A method of a binding or stub, as `withMethod` hands it over. */
export type Method = (...args: never[]) => Promise<unknown>;

/** `target` (a binding or a Durable Object stub) as it is, except `method`, which `replace` wraps (it gets the real one). */
export function withMethod<T extends object>(target: T, method: string, replace: (real: Method) => Method): T {
  return new Proxy(target, {
    get: (t, property) =>
      property === method
        ? replace((...args) => Reflect.apply(Reflect.get(t, property) as Method, t, args))
        : bound(t, property),
  });
}

/** `target`'s `property`, a method bound to it (a binding's native methods refuse another `this`). */
function bound(target: object, property: string | symbol): unknown {
  const value = Reflect.get(target, property);
  // Function.prototype's own bind: a stub answers every property, `bind` too, as a remote method.
  return typeof value === "function" ? Function.prototype.bind.call(value, target) : value;
}

/**
 * A job of `tenantId` on `db`, finished `finishedAgoMs` before `now` at its
 * first attempt with nothing left elsewhere (a job whose row may be taken
 * over), `done` over that, stored as a submit and an end store it.
 */
export async function storeEndedJob(
  db: D1Database,
  tenantId: string,
  now: number,
  finishedAgoMs: number,
  done: Partial<JobRecord> = {},
) {
  const createdAt = done.createdAt ?? now - finishedAgoMs - 1000;
  const id = madeAt(createdAt, newId.job(databases(env).shards.indexOf(db)));
  // The input is written at submit only.
  const input = { inputKey: done.inputKey ?? null, inputJson: done.inputJson === undefined ? "{}" : done.inputJson };
  const job = jobRecord({ id, tenantId, ...input }, createdAt);
  const ended: JobRecord = {
    ...job,
    status: "succeeded",
    attempts: 1,
    resultJson: "{}",
    startedAt: createdAt,
    finishedAt: now - finishedAgoMs,
    version: 2,
    ...done,
  };
  await db.batch([insertJob(db, job), updateJob(db, ended, job)]);
  return ended;
}

/**
 * Hands messages with these bodies (ids `dead-0` up) to the dead-letter
 * consumer of jobs queue `queue`, with each jobs queue captured apart;
 * answers the ids of the messages it acked and what each jobs queue, by
 * number, was sent.
 */
export async function putBackDeadLetters(queue: number, bodies: JobQueueMessage[]) {
  const resent: MessageSendRequest<JobQueueMessage>[][] = jobQueues(env).map(() => []);
  const capturing = Object.fromEntries(
    resent.map((sent, k) => [
      `JOBS_${k}`,
      { sendBatch: async (m: MessageSendRequest<JobQueueMessage>[]) => void sent.push(...m) },
    ]),
  );
  const batch = createMessageBatch(
    `edgejobs-jobs-${queue}-dlq`,
    bodies.map((body, i) => ({ id: `dead-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...capturing });
  return { acks: (await getQueueResult(batch, ctx)).explicitAcks, resent };
}

/**
 * Hands messages with these bodies to the Worker's jobs consumer directly, in
 * one batch, each on its `deliveries`th delivery (1: the first), with
 * `bindings` (the test's own by default).
 */
export async function deliverJobMessages(bodies: JobQueueMessage[], deliveries = 1, bindings: Env = env) {
  const batch = createMessageBatch(
    "edgejobs-jobs-0",
    bodies.map((body, i) => ({ id: `m-${Date.now()}-${i}`, timestamp: new Date(), attempts: deliveries, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings);
  return getQueueResult(batch, ctx);
}
