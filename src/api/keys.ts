import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { isoTime } from "../platform/clock";
import { createApiKey } from "../tenants/keys";
import { requireAdmin } from "./middleware/auth";
import { jsonBody } from "./middleware/json-body";
import { CreatedKeySchema, CreateKeySchema, errors } from "./schemas";
import { validationHook } from "./validation";

export const keysApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const createKeyRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Create an API key (admin)",
  description: "Creates a tenant with a new webhook secret, or adds a key to `tenant_id`. The key is shown once.",
  middleware: [requireAdmin, jsonBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: CreateKeySchema } } } },
  responses: {
    201: { description: "The new key.", content: { "application/json": { schema: CreatedKeySchema } } },
    400: errors[400],
    401: errors[401],
    404: errors[404],
    415: errors[415],
    503: errors[503],
  },
});

keysApi.openapi(createKeyRoute, async (c) => {
  const { name, tenant_id } = c.req.valid("json");
  const key = await createApiKey(c.env.DB, name, tenant_id);
  return c.json({ ...key, created_at: isoTime(key.created_at) as string }, 201);
});
