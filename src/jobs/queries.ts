import type { Env } from "../env";
import { isJobId } from "../platform/ids";
import { getStream } from "../store/blobs";
import { databases, shardOf } from "../store/databases";
import { jobFound, listJobs, tenantJob } from "../store/jobs";
import { batchCheckingKey, type KeyCheck } from "../tenants/key-check";
import { watchKeyLiveness } from "../tenants/key-liveness";
import { decodeCursor, encodeCursor } from "./cursor";
import { DomainError, jobFinished, jobNotFound } from "./errors";
import { readInputBody } from "./input";
import { type LogLine, readJobLog } from "./job-log";
import { isTerminal, type JobRecord, type JobStatus } from "./model";
import { openWatch, waitForTerminalFrame } from "./watch";

/**
 * The tenant's job, or 404: another tenant's id looks exactly like one that
 * never existed. Carries the request's key check when one is owed.
 */
export async function getJob(env: Env, tenantId: string, id: string, keyCheck: KeyCheck | null = null) {
  if (!isJobId(id)) throw jobNotFound();
  const db = shardOf(env, id);
  const [result] = await batchCheckingKey(db, keyCheck, [tenantJob(db, tenantId, id)]);
  const job = jobFound(result as D1Result);
  if (!job) throw jobNotFound();
  return job;
}

/**
 * Long polling: the job once terminal, or as it is after `timeoutMs`. The
 * wait is a watch on the job's tracker, so it wakes on the change itself
 * and the tracker can hibernate meanwhile. Throws 401 if the API key
 * `keyId` is revoked during the wait (see `watchKeyLiveness`).
 */
export async function waitForJob(
  env: Env,
  tenantId: string,
  id: string,
  timeoutMs: number,
  keyId: string,
  keyCheck: KeyCheck | null = null,
): Promise<JobRecord> {
  const job = await getJob(env, tenantId, id, keyCheck);
  if (isTerminal(job.status)) return job;
  const key = watchKeyLiveness(env, keyId);
  try {
    await waitForTerminalFrame(await openWatch(env, job), timeoutMs, key.signal);
  } finally {
    key.stop();
  }
  if (key.signal.aborted) throw key.signal.reason;
  return getJob(env, tenantId, id);
}

export async function cancelJob(env: Env, tenantId: string, id: string): Promise<JobRecord> {
  const job = await getJob(env, tenantId, id);
  if (isTerminal(job.status)) throw jobFinished(job.status);
  const outcome = await env.JOB_TRACKER.getByName(id).cancel(tenantId);
  if (!outcome.ok) throw jobFinished(outcome.job?.status ?? job.status);
  return outcome.job;
}

/** The stored result: inline JSON from D1, or a stream from R2. */
export async function readResult(env: Env, tenantId: string, id: string): Promise<string | ReadableStream> {
  const job = await getJob(env, tenantId, id);
  const body = job.resultJson ?? (job.resultKey ? await getStream(env.BLOBS, job.resultKey) : null);
  if (body === null) throw new DomainError(404, "no_result", "This job has no result (yet).");
  return body;
}

/** The stored input, as sent: inline JSON from D1, or a stream from R2. */
export async function readInput(env: Env, tenantId: string, id: string): Promise<string | ReadableStream> {
  const body = await readInputBody(env.BLOBS, await getJob(env, tenantId, id));
  if (body === null) throw new DomainError(404, "no_input", "This job's input is no longer stored.");
  return body;
}

/** The job's log (`ctx.log`), oldest first; 404 for another tenant's job. */
export async function readLogs(
  env: Env,
  tenantId: string,
  id: string,
): Promise<{ logs: LogLine[]; truncated: boolean }> {
  await getJob(env, tenantId, id);
  return readJobLog(env.BLOBS, id);
}

export interface ListOptions {
  status?: JobStatus;
  type?: string;
  batchId?: string;
  scheduleId?: string;
  limit: number;
  cursor?: string;
}

/**
 * A page of the tenant's jobs, newest first. The cursor is the page's last
 * id, encoded. Every shard is asked for a page and the pages are merged by
 * id (ids sort by creation time across shards).
 */
export async function listTenantJobs(
  env: Env,
  tenantId: string,
  options: ListOptions,
): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
  const beforeId = options.cursor === undefined ? undefined : decodeCursor(options.cursor, isJobId);
  const query = { tenantId, ...options, beforeId, limit: options.limit + 1 };
  const pages = await Promise.all(databases(env).shards.map((db) => listJobs(db, query)));
  const rows = pages
    .flat()
    .sort((a, b) => (a.id < b.id ? 1 : -1))
    .slice(0, query.limit);
  const jobs = rows.slice(0, options.limit);
  const last = jobs.at(-1);
  return { jobs, nextCursor: rows.length > options.limit && last ? encodeCursor(last.id) : null };
}
