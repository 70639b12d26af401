import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { isoTime } from "../platform/clock";
import { rotateTenantSecret } from "../tenants/webhook-secret";
import { errors, Time } from "./schemas";
import { validationHook } from "./validation";

export const webhookSecretApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const rotateRoute = createRoute({
  method: "post",
  path: "/rotate",
  summary: "Rotate the tenant's webhook secret",
  description: "For 24 hours every callback carries two signatures, with the new and the old secret.",
  responses: {
    200: {
      description: "The new secret, shown once.",
      content: {
        "application/json": {
          schema: z.object({ webhook_secret: z.string(), previous_valid_until: Time }).openapi("RotatedSecret"),
        },
      },
    },
    401: errors[401],
  },
});

webhookSecretApi.openapi(rotateRoute, async (c) => {
  const rotated = await rotateTenantSecret(c.env.DB, c.get("tenantId"));
  return c.json(
    { webhook_secret: rotated.webhook_secret, previous_valid_until: isoTime(rotated.previous_valid_until) as string },
    200,
  );
});
