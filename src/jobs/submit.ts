import { idempotencyWindowMs, parseConfig } from "../config";
import type { Env, JobMessage } from "../env";
import { jobTypes } from "../job-types";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import type { GroupTicket, WaitUntil } from "../platform/group-commit";
import { newId } from "../platform/ids";
import { type BatchRecord, insertBatch } from "../store/batches";
import { deleteObjects, inputKey, putJson } from "../store/blobs";
import { anyShard, databases, shardOfKey } from "../store/databases";
import {
  deleteExpiredIdempotencyKey,
  findIdempotencyKey,
  type IdempotencyRecord,
  type IdempotencyScope,
  insertIdempotencyKey,
} from "../store/idempotency";
import { findTenantJobs, storeNewJob } from "../store/jobs";
import { batchCheckingKey, type KeyCheck } from "../tenants/key-check";
import { checkCallbackUrl } from "../webhooks/url-guard";
import { DomainError, type ErrorDetail } from "./errors";
import { packingPlace } from "./job-packs";
import { sendJobMessages } from "./job-queues";
import type { JobRecord, OnCompleteRequest, SubmitJobRequest } from "./model";

export type { SubmitJobRequest };

export interface Idempotency {
  scope: IdempotencyScope;
  key: string;
  /** SHA-256 of the raw request body: the same key with another body is a conflict. */
  requestHash: string;
}

/** Where submitted jobs come from, when not a client's request. */
export interface JobOrigin {
  /** The schedule whose due time creates them. */
  scheduleId?: string | undefined;
}

export interface SubmitOutcome {
  jobs: JobRecord[];
  replayed: boolean;
  /** The batch the jobs were submitted in (`submitJobs`' `batch`), else null. */
  batchId: string | null;
}

/** A batch to create with the jobs (`POST /v1/jobs/batch`): its `on_complete`, if any. */
export interface NewBatch {
  onComplete: OnCompleteRequest | null;
}

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

/** How `submitJobs` stores the requests beyond their bodies. All optional. */
export interface SubmitOptions {
  /** The request's Idempotency-Key: a repeat answers the original jobs. */
  idempotency?: Idempotency | null;
  /** Where an item's errors are named, e.g. `jobs.3.` in a batch; `""` for one job. */
  pathPrefix?: (index: number) => string;
  /** The request's API key check, when the auth middleware left it to this D1 batch. */
  keyCheck?: KeyCheck | null;
  /** A batch record to create with the jobs (`POST /v1/jobs/batch`). */
  batch?: NewBatch | null;
  /** The schedule whose due time creates the jobs (schedules/schedule-timer.ts). */
  scheduleId?: string;
  /**
   * The request's `ExecutionContext.waitUntil`. Given, the jobs' messages
   * may travel packed with other requests' (jobs/job-packs.ts), in a send
   * that this request may have to keep alive.
   */
  waitUntil?: WaitUntil | null;
}

/**
 * Creates jobs, all or none: validates every request against its job type,
 * then stores them (`createJobs`). Throws DomainError 400/413 as
 * `prepareJob` does, an item's message naming its index.
 */
export function submitJobs(
  env: Env,
  tenantId: string,
  requests: SubmitJobRequest[],
  options: SubmitOptions = {},
): Promise<SubmitOutcome> {
  const { pathPrefix = () => "", scheduleId } = options;
  return createJobs(env, tenantId, options, async (shard, now) => {
    const prepared = requests.map((request, index) => {
      const prefix = pathPrefix(index);
      try {
        return prepareJob(env, tenantId, request, now, prefix, shard, { scheduleId });
      } catch (error) {
        // In a batch, the message names the item that rejected it.
        if (!(error instanceof DomainError) || prefix === "") throw error;
        throw new DomainError(error.status, error.code, `Job ${index}: ${error.message}`, error.details);
      }
    });
    const storedBytes = prepared.reduce((sum, p) => sum + p.inputBytes, 0);
    if (storedBytes > limits.maxBodyBytes) throw inputTooLarge("jobs", storedBytes, "The batch's inputs are");
    return prepared;
  });
}

/**
 * Creates the jobs `prepare` makes for a shard (ids name it) at `now`, all
 * or none: answers the original jobs instead when `idempotency` replays (409
 * when its body differs), stores large inputs in R2, writes the jobs (and the
 * idempotency key, and with `batch` a batch record whose id names the same
 * shard, every job carrying its id) in one D1 transaction, each job in the
 * row of an expired job of the tenant when one can be taken over
 * (store/jobs.ts `storeNewJob`) — with the
 * request's key check, when one is owed — then enqueues them. The request's
 * jobs share one shard: the idempotency key's, or any. A failed enqueue loses
 * nothing: the sweep finds jobs that never started. Throws what `prepare` throws.
 * With the request's `waitUntil`, the jobs due at once travel packed with
 * other requests' (jobs/job-packs.ts): the request takes its place in the
 * packing first, so that sends in flight meanwhile wait for its jobs.
 */
export async function createJobs(
  env: Env,
  tenantId: string,
  options: SubmitOptions,
  prepare: (shard: number, now: number) => Promise<PreparedJob[]>,
): Promise<SubmitOutcome> {
  const { waitUntil = null } = options;
  const packing = waitUntil ? { place: packingPlace(env), waitUntil } : null;
  try {
    return await storeAndEnqueue(env, tenantId, options, prepare, packing);
  } finally {
    packing?.place.drop();
  }
}

/** A request's place in the packing of first messages, and its `waitUntil` (`createJobs`). */
interface Packing {
  place: GroupTicket<JobMessage[]>;
  waitUntil: WaitUntil;
}

/** `createJobs`, its packing place taken (or none: each job's message is sent as it is). */
async function storeAndEnqueue(
  env: Env,
  tenantId: string,
  { idempotency = null, keyCheck = null, batch = null }: SubmitOptions,
  prepare: (shard: number, now: number) => Promise<PreparedJob[]>,
  packing: Packing | null,
): Promise<SubmitOutcome> {
  const now = clock.now();
  const { retentionMs } = parseConfig(env);
  const windowMs = idempotencyWindowMs(retentionMs);
  const shard = idempotency ? shardOfKey(env, tenantId, idempotency.scope, idempotency.key) : anyShard(env);
  const db = databases(env).shards[shard] as D1Database;
  if (idempotency) {
    const replay = await replayIdempotent(db, tenantId, idempotency, now - windowMs);
    if (replay) return replay;
  }
  const prepared = await prepare(shard, now);
  const batchRecord = batch && newBatch(env, tenantId, batch, prepared.length, now, shard);
  for (const p of prepared) p.job.batchId = batchRecord?.id ?? null;
  await Promise.all(
    prepared
      .filter((p) => p.largeInput !== null)
      .map((p) => putJson(env.BLOBS, inputKey(p.job.id), p.largeInput as string)),
  );
  const expiredBefore = retentionMs === null ? null : now - retentionMs;
  const statements = prepared.flatMap((p) => storeNewJob(db, p.job, keyCheck?.hash ?? null, expiredBefore));
  if (batchRecord) statements.push(insertBatch(db, batchRecord));
  if (idempotency) {
    const { scope, key, requestHash } = idempotency;
    const record = { requestHash, jobIds: prepared.map((p) => p.job.id), createdAt: now };
    statements.unshift(
      deleteExpiredIdempotencyKey(db, tenantId, scope, key, now - windowMs),
      insertIdempotencyKey(db, tenantId, scope, key, record),
    );
  }
  try {
    await batchCheckingKey(db, keyCheck, statements);
  } catch (error) {
    // A concurrent request with the same key won the race: answer what it created (or 409). Then this
    // request's batch was refused whole, so the inputs it put in R2 belong to no job — unless the key
    // names this request's own jobs (its batch committed, and only the answer was lost).
    if (!idempotency) throw error;
    const ours = new Set(prepared.map((p) => p.job.id));
    const replay = await replayIdempotent(db, tenantId, idempotency, now - windowMs).catch(async (conflict) => {
      await deleteInputs(env, prepared);
      throw conflict;
    });
    if (!replay) throw error;
    if (!replay.jobs.some((job) => ours.has(job.id))) await deleteInputs(env, prepared);
    return replay;
  }
  const jobs = prepared.map((p) => p.job);
  await enqueue(env, jobs, now, packing);
  return { jobs, replayed: false, batchId: batchRecord?.id ?? null };
}

/** The batch record for `count` jobs on `shard`, its `on_complete` checked like a job's callback and metadata. */
function newBatch(env: Env, tenantId: string, batch: NewBatch, count: number, now: number, shard: number): BatchRecord {
  const { onComplete } = batch;
  if (onComplete) checkCallback(env, onComplete.callback_url, "on_complete.");
  return {
    id: newId.batch(shard),
    tenantId,
    status: "running",
    total: count,
    counts: { succeeded: 0, failed: 0, canceled: 0 },
    callbackUrl: onComplete?.callback_url ?? null,
    metadataJson: metadataJsonOf(onComplete?.metadata, "on_complete."),
    createdAt: now,
    completedAt: null,
  };
}

/** `db` is the key's shard, which also holds the jobs it created. */
async function replayIdempotent(
  db: D1Database,
  tenantId: string,
  idempotency: Idempotency,
  usedSince: number,
): Promise<SubmitOutcome | null> {
  const found = await usedIdempotencyKey(db, tenantId, idempotency, usedSince);
  if (!found) return null;
  const jobs = await findTenantJobs(db, tenantId, found.jobIds);
  return { jobs, replayed: true, batchId: jobs[0]?.batchId ?? null };
}

/**
 * The record of `idempotency`'s key on `db` when it was used since
 * `usedSince` (Unix ms) with the same request, else null. Throws 409
 * `idempotency_conflict` when it was used with another request.
 */
export async function usedIdempotencyKey(
  db: D1Database,
  tenantId: string,
  { scope, key, requestHash }: Idempotency,
  usedSince: number,
): Promise<IdempotencyRecord | null> {
  const found = await findIdempotencyKey(db, tenantId, scope, key);
  if (!found || found.createdAt < usedSince) return null;
  if (found.requestHash !== requestHash) {
    const other = scope === "retry" ? "to retry another job" : "with a different request body";
    throw new DomainError(409, "idempotency_conflict", `This Idempotency-Key was used ${other}.`);
  }
  return found;
}

/** Deletes the R2 inputs of jobs that were never stored (R2 deletes are free; a missing key is no error). */
async function deleteInputs(env: Env, prepared: PreparedJob[]): Promise<void> {
  const keys = prepared.flatMap((p) => (p.largeInput === null ? [] : [inputKey(p.job.id)]));
  if (keys.length > 0) await deleteObjects(env.BLOBS, keys);
}

/** A job ready to be stored. */
export interface PreparedJob {
  job: JobRecord;
  /** The input's JSON when too large for D1; it goes to R2. */
  largeInput: string | null;
  /** The input's JSON size as stored. */
  inputBytes: number;
}

/**
 * Validates one submit body against its job type and the limits, and builds
 * its record (not stored). Throws DomainError 400 `unknown_job_type`,
 * `validation_failed` or `invalid_callback_url`, or 413, with details under
 * `path`. Schedules call it to check a job body when it is set.
 */
export function prepareJob(
  env: Env,
  tenantId: string,
  request: SubmitJobRequest,
  now: number,
  path: string,
  shard: number,
  origin: JobOrigin = {},
): PreparedJob {
  const type = jobTypes.get(request.type);
  if (!type) {
    throw new DomainError(
      400,
      "unknown_job_type",
      `There is no job type "${request.type}". GET /v1/job-types lists them.`,
      [{ path: `${path}type`, message: `Unknown job type "${request.type}".` }],
    );
  }
  const parsed = type.input.safeParse(request.input ?? null);
  if (!parsed.success) {
    const details: ErrorDetail[] = parsed.error.issues.map((issue) => ({
      path: [`${path}input`, ...issue.path.map(String)].join("."),
      message: issue.message,
    }));
    throw new DomainError(400, "validation_failed", `The input does not match the "${type.name}" job type.`, details);
  }
  if (request.callback_url) checkCallback(env, request.callback_url, path);
  const metadataJson = metadataJsonOf(request.metadata, path);
  // Stored as sent, not as parsed: a schema rebuilds objects and may drop keys (`__proto__`)
  // or fill defaults; the handler gets the parsed form at run time (run.ts).
  const inputJson = JSON.stringify(request.input ?? null);
  const inputBytes = byteLength(inputJson);
  if (inputBytes > limits.maxBodyBytes) throw inputTooLarge(`${path}input`, inputBytes);
  const large = inputBytes > limits.maxInlineJsonBytes;
  const id = newId.job(shard);
  const delaySeconds = request.delay_seconds ?? 0;
  const runAt = now + delaySeconds * 1000;
  const job: JobRecord = {
    id,
    tenantId,
    type: type.name,
    status: delaySeconds > 0 ? "scheduled" : "queued",
    inputJson: large ? null : inputJson,
    inputKey: large ? inputKey(id) : null,
    progress: null,
    attempts: 0,
    givenBack: 0,
    maxAttempts: request.max_attempts ?? type.defaults.maxAttempts,
    timeoutSeconds: request.timeout_seconds ?? type.defaults.timeoutSeconds,
    resultJson: null,
    resultKey: null,
    error: null,
    callbackUrl: request.callback_url ?? null,
    callbackEvents: request.callback_url ? (request.callback_events ?? null) : null,
    metadataJson,
    createdAt: now,
    runAt,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: null,
    startToken: null,
    expiresAt: request.ttl_seconds === undefined ? null : runAt + request.ttl_seconds * 1000,
    retryOf: null,
    batchId: null,
    scheduleId: origin.scheduleId ?? null,
    version: 1,
    updatedAt: now,
    logged: true,
  };
  return { job, largeInput: large ? inputJson : null, inputBytes };
}

/** Throws 400 `invalid_callback_url` (at `${path}callback_url`) unless callbacks may go to `url`. */
function checkCallback(env: Env, url: string, path: string): void {
  const verdict = checkCallbackUrl(url, { allowLocal: parseConfig(env).allowLocalCallbacks });
  if (!verdict.ok) {
    throw new DomainError(400, "invalid_callback_url", `The callback_url ${verdict.reason}.`, [
      { path: `${path}callback_url`, message: verdict.reason },
    ]);
  }
}

/** The metadata as stored JSON (null for none); 400 `validation_failed` (at `${path}metadata`) over 4 KiB. */
function metadataJsonOf(metadata: Record<string, unknown> | null | undefined, path: string): string | null {
  const metadataJson = metadata ? JSON.stringify(metadata) : null;
  if (metadataJson !== null && byteLength(metadataJson) > limits.maxMetadataBytes) {
    throw new DomainError(400, "validation_failed", "The metadata is too large.", [
      { path: `${path}metadata`, message: `metadata must be at most ${limits.maxMetadataBytes} bytes as JSON` },
    ]);
  }
  return metadataJson;
}

/** The stored form is what counts: re-serialising can grow numbers (`9e20` is stored as 21 digits). */
function inputTooLarge(path: string, bytes: number, subject = "The input is"): DomainError {
  const message = `${subject} ${bytes} bytes as stored JSON; at most ${limits.maxBodyBytes} are accepted.`;
  return new DomainError(413, "payload_too_large", message, [{ path, message }]);
}

/**
 * Short delays ride on the queue message; longer ones wait on the job
 * tracker's alarm, which also watches their expiry. Jobs due now travel
 * packed with other requests' when the caller took a place in the packing
 * (jobs/job-packs.ts), given up at once when it has none to send. A job
 * with a ttl and a queue message has its tracker arm the expiry (one
 * Durable Object request and one storage write that a job without a ttl
 * does not cost).
 */
async function enqueue(env: Env, jobs: JobRecord[], now: number, packing: Packing | null): Promise<void> {
  const delayMs = (j: JobRecord) => Math.max(0, j.runAt - now);
  const direct = jobs.filter((j) => delayMs(j) <= limits.maxQueueDelaySeconds * 1000);
  const long = jobs.filter((j) => delayMs(j) > limits.maxQueueDelaySeconds * 1000);
  const message = (j: JobRecord): JobMessage => ({ job_id: j.id, tenant_id: j.tenantId, first: true });
  const packable = packing ? direct.filter((j) => delayMs(j) === 0) : [];
  const delayed = direct.filter((j) => !packable.includes(j));
  if (packable.length === 0) packing?.place.drop();
  const expiries = direct.map((j) => (j.expiresAt === null ? null : watchExpiry(env, j, j.expiresAt)));
  try {
    await Promise.all([
      packable.length > 0 && packing?.place.send(packable.map(message), packing.waitUntil),
      delayed.length > 0 &&
        sendJobMessages(
          env,
          delayed.map((j) => ({ body: message(j), delaySeconds: Math.ceil(delayMs(j) / 1000) })),
        ),
      ...long.map((j) => env.JOB_TRACKER.getByName(j.id).schedule(j.tenantId)),
    ]);
  } catch (error) {
    console.error("enqueue failed; the sweep will start these jobs", {
      jobIds: jobs.map((j) => j.id),
      error: String(error),
    });
  }
  await Promise.all(expiries);
}

/**
 * Has the tracker arm a job's expiry. A failure is only logged: the sweep
 * finds the job once it has waited past its run time and a grace, and
 * expires it or arms the alarm then.
 */
async function watchExpiry(env: Env, job: JobRecord, expiresAt: number): Promise<void> {
  try {
    await env.JOB_TRACKER.getByName(job.id).watchExpiry(expiresAt, job.tenantId);
  } catch (error) {
    console.error("job expiry not armed; the sweep will watch it", { jobId: job.id, error: String(error) });
  }
}
