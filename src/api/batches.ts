import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { getBatch } from "../batches/queries";
import { BatchEventSchema, BatchIdParams, BatchSchema, errors, NoQuery } from "../contract/schemas";
import type { AppEnv } from "../env";
import { describeBatchDeliveries, redeliverBatchEvent } from "../webhooks/delivery-log";
import { mountDeliveryRoutes } from "./deliveries";
import { jsonRequestBody, jsonResponse } from "./json-content";
import { validationHook } from "./validation";

/** `/v1/batches`: a batch of `POST /v1/jobs/batch`, and its `batch.completed` event's deliveries. */
export const batchesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a batch: its status and how its jobs ended",
  request: { params: BatchIdParams, query: NoQuery },
  responses: {
    200: jsonResponse(BatchSchema, "The batch."),
    401: errors[401],
    404: errors[404],
  },
});

batchesApi.openapi(getRoute, async (c) => {
  return c.json(await getBatch(c.env, c.get("tenantId"), c.req.valid("param").id), 200);
});

mountDeliveryRoutes(batchesApi, {
  noun: "batch",
  params: BatchIdParams,
  describe: describeBatchDeliveries,
  redeliver: redeliverBatchEvent,
});

/**
 * The `batch.completed` callback, for the OpenAPI document's `webhooks`.
 * Registered on the root app: a sub-app's webhooks get its path prefix.
 */
export const batchCompletedWebhook: RouteConfig = {
  method: "post",
  path: "batch.completed",
  summary: "A batch completed (sent to `on_complete.callback_url`)",
  description:
    "Once every job of a batch is terminal; signed and retried like job events (Standard Webhooks), " +
    "deduplicate on `webhook-id`.",
  request: { body: jsonRequestBody(BatchEventSchema) },
  responses: { 200: { description: "Any 2xx within 15 s is a delivery; anything else is retried." } },
};
