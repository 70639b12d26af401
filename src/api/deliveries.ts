import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { DeliveriesSchema, errors, JobIdParams, NoQuery, RedeliverySchema } from "../contract/schemas";
import type { AppEnv } from "../env";
import { describeDeliveries, redeliver } from "../webhooks/delivery-log";
import { jsonResponse } from "./json-content";
import { noFields } from "./middleware/json-body";
import { validationHook } from "./validation";

/** What a resource with webhook events (a job, a batch) gives its two delivery routes. */
interface DeliveryRoutes {
  /** "job" or "batch": named in the routes' summaries. */
  noun: string;
  params: typeof JobIdParams;
  describe: typeof describeDeliveries;
  redeliver: typeof redeliver;
}

/** Mounts `GET /{id}/deliveries` and `POST /{id}/deliveries/{event_id}/redeliver` on `api` (same rules for every resource). */
export function mountDeliveryRoutes(api: OpenAPIHono<AppEnv>, routes: DeliveryRoutes): void {
  const listRoute = createRoute({
    method: "get",
    path: "/{id}/deliveries",
    summary: `The ${routes.noun}'s webhook events and every delivery attempt`,
    request: { params: routes.params, query: NoQuery },
    responses: {
      200: jsonResponse(DeliveriesSchema, "Events and attempts."),
      401: errors[401],
      404: errors[404],
    },
  });

  api.openapi(listRoute, async (c) => {
    return c.json(await routes.describe(c.env, c.get("tenantId"), c.req.valid("param").id), 200);
  });

  const redeliverRoute = createRoute({
    method: "post",
    path: "/{id}/deliveries/{event_id}/redeliver",
    summary: `Send the ${routes.noun}'s event again now (same webhook-id, new signature)`,
    description:
      "One redelivery per event is in flight at a time: another answers 409 `redelivery_in_progress` until its " +
      "attempt is recorded. Each request counts against the key's write rate limit.",
    middleware: [noFields] as const,
    request: { params: routes.params.extend({ event_id: z.string().max(100) }), query: NoQuery },
    responses: {
      202: {
        description: "The attempt is queued.",
        content: {
          "application/json": {
            schema: RedeliverySchema,
          },
        },
      },
      401: errors[401],
      404: errors[404],
      409: errors[409],
      429: errors[429],
    },
  });

  api.openapi(redeliverRoute, async (c) => {
    const { id, event_id } = c.req.valid("param");
    return c.json(await routes.redeliver(c.env, c.get("tenantId"), id, event_id), 202);
  });
}

export const deliveriesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
mountDeliveryRoutes(deliveriesApi, { noun: "job", params: JobIdParams, describe: describeDeliveries, redeliver });
