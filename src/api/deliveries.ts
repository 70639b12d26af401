import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { describeDeliveries, redeliver } from "../webhooks/delivery-log";
import { errors, JobIdParams, Time } from "./schemas";
import { validationHook } from "./validation";

export const deliveriesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const DeliveriesSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        status: z.enum(["pending", "delivered", "failed"]),
        attempts: z.int(),
        created_at: Time,
        next_attempt_at: Time.nullable(),
      }),
    ),
    deliveries: z.array(
      z.object({
        event_id: z.string(),
        event_type: z.string(),
        attempt: z.int(),
        trigger: z.enum(["scheduled", "manual"]),
        attempted_at: Time,
        duration_ms: z.int(),
        http_status: z.int().nullable(),
        error: z.string().nullable(),
        response_body: z.string().nullable().openapi({ description: "The first KiB of the answer." }),
        next_attempt_at: Time.nullable(),
      }),
    ),
  })
  .openapi("Deliveries");

const listRoute = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  summary: "The job's webhook events and every delivery attempt",
  request: { params: JobIdParams },
  responses: {
    200: { description: "Events and attempts.", content: { "application/json": { schema: DeliveriesSchema } } },
    401: errors[401],
    404: errors[404],
  },
});

deliveriesApi.openapi(listRoute, async (c) => {
  return c.json(await describeDeliveries(c.env, c.get("tenantId"), c.req.valid("param").id), 200);
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/{id}/deliveries/{event_id}/redeliver",
  summary: "Send an event again now (same webhook-id, new signature)",
  description:
    "One redelivery per event is in flight at a time: another answers 409 `redelivery_in_progress` until its " +
    "attempt is recorded. Each request counts against the key's write rate limit.",
  request: { params: JobIdParams.extend({ event_id: z.string().max(100) }) },
  responses: {
    202: {
      description: "The attempt is queued.",
      content: {
        "application/json": {
          schema: z.object({ event_id: z.string(), type: z.string(), status: z.string() }).openapi("Redelivery"),
        },
      },
    },
    401: errors[401],
    404: errors[404],
    409: errors[409],
    429: errors[429],
  },
});

deliveriesApi.openapi(redeliverRoute, async (c) => {
  const { id, event_id } = c.req.valid("param");
  return c.json(await redeliver(c.env, c.get("tenantId"), id, event_id), 202);
});
