import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  CreateScheduleSchema,
  errors,
  IdempotencyHeaders,
  ListSchedulesQuery,
  NoQuery,
  ScheduleIdParams,
  ScheduleListSchema,
  ScheduleSchema,
  UpdateScheduleSchema,
} from "../contract/schemas";
import type { AppEnv } from "../env";
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listTenantSchedules,
  toScheduleView,
  updateSchedule,
} from "../schedules/schedules";
import { idempotencyOf } from "./idempotency";
import { jsonRequestBody, jsonResponse } from "./json-content";
import { jsonBody, noFields } from "./middleware/json-body";
import { validationHook } from "./validation";

/** Schedules (API.md "Schedules"): recurring jobs from a cron expression. */
export const schedulesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const createRouteDef = createRoute({
  method: "post",
  path: "/",
  summary: "Create a schedule",
  description:
    "Each due time of `cron` (read in `timezone`) creates one job from `job`, within 10 s of that time. " +
    "At most 1,000 schedules per tenant (409 `schedule_limit`). With an `Idempotency-Key`, a repeat " +
    "within 24 h answers the schedule the first request created (`Idempotent-Replayed: true`), and the " +
    "same key with another body 409 `idempotency_conflict`.",
  middleware: [jsonBody] as const,
  request: { query: NoQuery, body: jsonRequestBody(CreateScheduleSchema), headers: IdempotencyHeaders },
  responses: {
    201: {
      ...jsonResponse(ScheduleSchema, "The schedule, with its next due time."),
      headers: { Location: { schema: { type: "string" } }, "Idempotent-Replayed": { schema: { type: "string" } } },
    },
    400: errors[400],
    401: errors[401],
    409: errors[409],
    413: errors[413],
    415: errors[415],
    429: errors[429],
  },
});

schedulesApi.openapi(createRouteDef, async (c) => {
  const idempotency = await idempotencyOf(c, "schedule_create");
  const { schedule, replayed } = await createSchedule(c.env, c.get("tenantId"), c.req.valid("json"), idempotency);
  c.header("Location", `/v1/schedules/${schedule.id}`);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(toScheduleView(schedule), 201);
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List schedules, newest first",
  request: { query: ListSchedulesQuery },
  responses: { 200: jsonResponse(ScheduleListSchema, "A page of schedules."), 400: errors[400], 401: errors[401] },
});

schedulesApi.openapi(listRoute, async (c) => {
  const page = await listTenantSchedules(c.env, c.get("tenantId"), c.req.valid("query"));
  return c.json({ schedules: page.schedules.map(toScheduleView), next_cursor: page.nextCursor }, 200);
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a schedule",
  request: { params: ScheduleIdParams, query: NoQuery },
  responses: { 200: jsonResponse(ScheduleSchema, "The schedule."), 401: errors[401], 404: errors[404] },
});

schedulesApi.openapi(getRoute, async (c) => {
  const schedule = await getSchedule(c.env, c.get("tenantId"), c.req.valid("param").id);
  return c.json(toScheduleView(schedule), 200);
});

const updateRoute = createRoute({
  method: "patch",
  path: "/{id}",
  summary: "Change a schedule, pause or resume it",
  description:
    "Any of `cron`, `timezone`, `job`, `paused` and `name`. A change of `cron`, `timezone` or `paused` " +
    "recomputes `next_run_at` from now: a resumed schedule does not catch up on the times it was paused.",
  middleware: [jsonBody] as const,
  request: { params: ScheduleIdParams, query: NoQuery, body: jsonRequestBody(UpdateScheduleSchema) },
  responses: {
    200: jsonResponse(ScheduleSchema, "The changed schedule."),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    413: errors[413],
    415: errors[415],
  },
});

schedulesApi.openapi(updateRoute, async (c) => {
  const schedule = await updateSchedule(c.env, c.get("tenantId"), c.req.valid("param").id, c.req.valid("json"));
  return c.json(toScheduleView(schedule), 200);
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Delete a schedule",
  description: "It creates no job from then on. Jobs it created stay.",
  middleware: [noFields] as const,
  request: { params: ScheduleIdParams, query: NoQuery },
  responses: {
    204: { description: "Deleted." },
    400: errors[400],
    401: errors[401],
    404: errors[404],
    415: errors[415],
  },
});

schedulesApi.openapi(deleteRoute, async (c) => {
  await deleteSchedule(c.env, c.get("tenantId"), c.req.valid("param").id);
  return c.body(null, 204);
});
