import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { errors, NoQuery, Time } from "../contract/schemas";
import type { AppEnv } from "../env";
import { isoTime } from "../platform/clock";
import { rotateTenantSecret } from "../tenants/webhook-secret";
import { noFields } from "./middleware/json-body";
import { validationHook } from "./validation";

export const webhookSecretApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const rotateRoute = createRoute({
  method: "post",
  path: "/rotate",
  summary: "Rotate the tenant's webhook secret",
  request: { query: NoQuery },
  description:
    "Every secret rotated out keeps signing callbacks until its own `previous_valid_until` (24 hours after its " +
    "rotation), so callbacks carry one signature per valid secret, three at most.",
  middleware: [noFields] as const,
  responses: {
    200: {
      description: "The new secret, shown once.",
      content: {
        "application/json": {
          schema: z.object({ webhook_secret: z.string(), previous_valid_until: Time }).openapi("RotatedSecret"),
        },
      },
    },
    400: errors[400],
    401: errors[401],
    409: errors[409],
    415: errors[415],
  },
});

webhookSecretApi.openapi(rotateRoute, async (c) => {
  const rotated = await rotateTenantSecret(c.env, c.get("tenantId"));
  return c.json(
    { webhook_secret: rotated.webhook_secret, previous_valid_until: isoTime(rotated.previous_valid_until) as string },
    200,
  );
});
