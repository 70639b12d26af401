import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  errors,
  FailingDeliveriesQuery,
  FailingDeliveriesSchema,
  JobAttemptsSchema,
  JobIdParams,
  NoQuery,
  StatsSchema,
} from "../contract/schemas";
import type { AppEnv } from "../env";
import { describeAttempts } from "../jobs/attempts";
import { readTenantStats } from "../jobs/stats";
import { listFailingDeliveries } from "../webhooks/failing";
import { jsonResponse } from "./json-content";
import { validationHook } from "./validation";

/**
 * Console routes: what the dashboard needs beyond API.md, tenant-scoped like
 * every /v1 route and tagged "Console" in the OpenAPI document.
 */
export const consoleApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const tags = ["Console"];

const statsRoute = createRoute({
  method: "get",
  path: "/stats",
  tags,
  summary: "Counts per status and finished jobs per minute over the last hour",
  request: { query: NoQuery },
  description:
    "Bounded reads through the (tenant, status) index: a status count stops at a cap per shard " +
    "(`counts_capped` names those), and the chart reads the newest finished jobs of each shard.",
  responses: { 200: jsonResponse(StatsSchema, "The tenant's stats."), 401: errors[401] },
});

consoleApi.openapi(statsRoute, async (c) => c.json(await readTenantStats(c.env, c.get("tenantId")), 200));

const attemptsRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/attempts",
  tags,
  summary: "The job's attempts, each with its error",
  request: { params: JobIdParams, query: NoQuery },
  responses: { 200: jsonResponse(JobAttemptsSchema, "Oldest first."), 401: errors[401], 404: errors[404] },
});

consoleApi.openapi(attemptsRoute, async (c) =>
  c.json(await describeAttempts(c.env, c.get("tenantId"), c.req.valid("param").id), 200),
);

const failingRoute = createRoute({
  method: "get",
  path: "/failing-deliveries",
  tags,
  summary: "Callbacks that failed or are being retried, across jobs, newest first",
  description:
    "Events whose status is `failed`, or `pending` with a retry under way (from the claim of their second attempt), each with its latest " +
    "attempt, a batch's `batch.completed` events among them. Redeliver one with " +
    "`POST /v1/jobs/{job_id}/deliveries/{id}/redeliver` (a batch's: `/v1/batches/{batch_id}/…`).",
  request: { query: FailingDeliveriesQuery },
  responses: { 200: jsonResponse(FailingDeliveriesSchema, "A page of events."), 400: errors[400], 401: errors[401] },
});

consoleApi.openapi(failingRoute, async (c) =>
  c.json(await listFailingDeliveries(c.env, c.get("tenantId"), c.req.valid("query")), 200),
);
