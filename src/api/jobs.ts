import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  BatchSubmittedSchema,
  errors,
  GetJobQuery,
  IdempotencyHeaders,
  JobIdParams,
  JobListSchema,
  JobLogsSchema,
  JobSchema,
  ListJobsQuery,
  NoQuery,
  SubmitBatchSchema,
  SubmitJobSchema,
} from "../contract/schemas";
import type { AppEnv } from "../env";
import type { JobRecord } from "../jobs/model";
import { cancelJob, getJob, listTenantJobs, readInput, readLogs, readResult, waitForJob } from "../jobs/queries";
import { retryJob } from "../jobs/retry";
import { submitJobs } from "../jobs/submit";
import { toJobView } from "../jobs/view";
import { sha256Hex } from "../platform/crypto";
import { idempotencyOf } from "./idempotency";
import { jsonRequestBody, jsonResponse } from "./json-content";
import { jsonBody, noFields } from "./middleware/json-body";
import { validationHook } from "./validation";

export const jobsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** What either submit route can answer besides 202. */
const submitErrors = {
  400: errors[400],
  401: errors[401],
  409: errors[409],
  413: errors[413],
  415: errors[415],
  429: errors[429],
};

/** Both submit routes take a JSON body and an optional Idempotency-Key. */
const submitRequest = <T>(schema: T) => ({
  headers: IdempotencyHeaders,
  query: NoQuery,
  body: jsonRequestBody(schema),
});

const submitRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Submit a job",
  middleware: [jsonBody] as const,
  request: submitRequest(SubmitJobSchema),
  responses: {
    202: {
      ...jsonResponse(JobSchema, "Accepted: the job is stored and queued."),
      headers: { Location: { schema: { type: "string" } }, "Idempotent-Replayed": { schema: { type: "string" } } },
    },
    ...submitErrors,
  },
});

jobsApi.openapi(submitRoute, async (c) => {
  const body = c.req.valid("json");
  const idempotency = await idempotencyOf(c, "job");
  const { jobs, replayed } = await submitJobs(c.env, c.get("tenantId"), [body], {
    idempotency,
    keyCheck: c.get("keyCheck"),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  });
  const job = jobs[0] as JobRecord;
  c.header("Location", `/v1/jobs/${job.id}`);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(toJobView(job), 202);
});

const batchRoute = createRoute({
  method: "post",
  path: "/batch",
  summary: "Submit up to 100 jobs, all or nothing",
  middleware: [jsonBody] as const,
  request: submitRequest(SubmitBatchSchema),
  responses: {
    202: {
      ...jsonResponse(BatchSubmittedSchema, "Accepted: the batch and every job are stored, and the jobs queued."),
      headers: { "Idempotent-Replayed": { schema: { type: "string" } } },
    },
    ...submitErrors,
  },
});

jobsApi.openapi(batchRoute, async (c) => {
  const { jobs: requests, on_complete } = c.req.valid("json");
  const idempotency = await idempotencyOf(c, "batch");
  const { jobs, replayed, batchId } = await submitJobs(c.env, c.get("tenantId"), requests, {
    idempotency,
    pathPrefix: (i) => `jobs.${i}.`,
    batch: { onComplete: on_complete ?? null },
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  });
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json({ batch_id: batchId as string, jobs: jobs.map(toJobView) }, 202);
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a job (optionally long-polling until it finishes)",
  request: { params: JobIdParams, query: GetJobQuery },
  responses: {
    200: { ...jsonResponse(JobSchema, "The job."), headers: { ETag: { schema: { type: "string" } } } },
    304: { description: "Unchanged since the ETag in If-None-Match." },
    400: errors[400],
    401: errors[401],
    404: errors[404],
  },
});

jobsApi.openapi(getRoute, async (c) => {
  const { id } = c.req.valid("param");
  const { wait } = c.req.valid("query");
  const tenantId = c.get("tenantId");
  const keyCheck = c.get("keyCheck");
  const job = wait
    ? await waitForJob(c.env, tenantId, id, wait * 1000, c.get("apiKey").id, keyCheck)
    : await getJob(c.env, tenantId, id, keyCheck);
  const etag = `"v${job.version}"`;
  c.header("ETag", etag);
  if (matchesEtag(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return c.json(toJobView(job), 200);
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List jobs, newest first",
  request: { query: ListJobsQuery },
  responses: { 200: jsonResponse(JobListSchema, "A page of jobs."), 400: errors[400], 401: errors[401] },
});

jobsApi.openapi(listRoute, async (c) => {
  const { batch_id: batchId, schedule_id: scheduleId, ...query } = c.req.valid("query");
  const page = await listTenantJobs(c.env, c.get("tenantId"), { ...query, batchId, scheduleId });
  return c.json({ jobs: page.jobs.map(toJobView), next_cursor: page.nextCursor }, 200);
});

const cancelRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  summary: "Cancel a job that has not finished",
  middleware: [noFields] as const,
  request: { params: JobIdParams, query: NoQuery },
  responses: {
    200: jsonResponse(JobSchema, "The canceled job."),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    409: errors[409],
  },
});

jobsApi.openapi(cancelRoute, async (c) => {
  const job = await cancelJob(c.env, c.get("tenantId"), c.req.valid("param").id);
  return c.json(toJobView(job), 200);
});

const retryRoute = createRoute({
  method: "post",
  path: "/{id}/retry",
  summary: "Run a failed or canceled job again, as a new job",
  middleware: [noFields] as const,
  description:
    "The new job has the original's type, input, callback, metadata, `max_attempts` and timeout, and " +
    "`retry_of` set to the original's id; the original never changes. It has no `expires_at`, no " +
    "`batch_id` and no `schedule_id`. Any other status answers 409 `job_not_retryable`. An " +
    "`Idempotency-Key` (its own namespace: a key used on `POST /v1/jobs` is another key here) " +
    "answers the same new job when repeated for the same job, and 409 `idempotency_conflict` for another.",
  request: { params: JobIdParams, query: NoQuery, headers: IdempotencyHeaders },
  responses: {
    202: {
      ...jsonResponse(JobSchema, "Accepted: the new job is stored and queued."),
      headers: { Location: { schema: { type: "string" } }, "Idempotent-Replayed": { schema: { type: "string" } } },
    },
    400: errors[400],
    401: errors[401],
    404: errors[404],
    409: errors[409],
    429: errors[429],
  },
});

jobsApi.openapi(retryRoute, async (c) => {
  const { id } = c.req.valid("param");
  const key = c.req.header("idempotency-key");
  // The request is the job retried: the same key for another job is a conflict.
  const idempotency = key ? { scope: "retry" as const, key, requestHash: await sha256Hex(id) } : null;
  const { jobs, replayed } = await retryJob(c.env, c.get("tenantId"), id, idempotency);
  const job = jobs[0] as JobRecord;
  c.header("Location", `/v1/jobs/${job.id}`);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(toJobView(job), 202);
});

const logsRoute = createRoute({
  method: "get",
  path: "/{id}/logs",
  summary: "The lines the job's handler logged",
  request: { params: JobIdParams, query: NoQuery },
  responses: { 200: jsonResponse(JobLogsSchema, "The job's log, oldest first."), 401: errors[401], 404: errors[404] },
});

jobsApi.openapi(logsRoute, async (c) => {
  return c.json(await readLogs(c.env, c.get("tenantId"), c.req.valid("param").id), 200);
});

/**
 * A route that serves one of the job's stored JSON documents (its result or
 * its input) as the bytes stored, inline from D1 or streamed from R2.
 */
function storedJsonRoute(
  path: "/{id}/result" | "/{id}/input",
  summary: string,
  description: string,
  read: typeof readResult,
): void {
  const route = createRoute({
    method: "get",
    path,
    summary,
    request: { params: JobIdParams, query: NoQuery },
    responses: { 200: { description }, 401: errors[401], 404: errors[404] },
  });
  jobsApi.openapi(route, async (c) => {
    const body = await read(c.env, c.get("tenantId"), c.req.valid("param").id);
    return c.body(body, 200, { "content-type": "application/json; charset=utf-8" });
  });
}

storedJsonRoute("/{id}/result", "The job's result body", "The result as the handler returned it (JSON).", readResult);
storedJsonRoute(
  "/{id}/input",
  "The job's input, whatever its size",
  "The input as the client sent it (JSON).",
  readInput,
);

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}
