import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { CreatedKeySchema, CreateKeySchema, errors, NoQuery, Time } from "../contract/schemas";
import type { AppEnv } from "../env";
import { DomainError } from "../jobs/errors";
import { isoTime } from "../platform/clock";
import { type ApiKeyRecord, listApiKeys } from "../store/api-keys";
import { createApiKey, revokeKey } from "../tenants/keys";
import { jsonRequestBody, jsonResponse } from "./json-content";
import { requireAdmin } from "./middleware/auth";
import { jsonBody, noFields } from "./middleware/json-body";
import { validationHook } from "./validation";

/** Admin: API keys. Every route here needs the ADMIN_TOKEN. */
export const keysApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
keysApi.use("*", requireAdmin);

const adminErrors = { 401: errors[401], 503: errors[503] };

const KeySchema = z
  .object({ id: z.string(), name: z.string(), tenant_id: z.string(), created_at: Time, revoked_at: Time.nullable() })
  .openapi("ApiKey");

const keyView = (key: ApiKeyRecord) => ({
  id: key.id,
  name: key.name,
  tenant_id: key.tenantId,
  created_at: isoTime(key.createdAt) as string,
  revoked_at: isoTime(key.revokedAt),
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Create an API key (admin)",
  description: "Creates a tenant with a new webhook secret, or adds a key to `tenant_id`. The key is shown once.",
  middleware: [jsonBody] as const,
  request: { query: NoQuery, body: jsonRequestBody(CreateKeySchema) },
  responses: {
    201: jsonResponse(CreatedKeySchema, "The new key."),
    400: errors[400],
    404: errors[404],
    415: errors[415],
    ...adminErrors,
  },
});

keysApi.openapi(createKeyRoute, async (c) => {
  const { name, tenant_id } = c.req.valid("json");
  const key = await createApiKey(c.env, name, tenant_id);
  return c.json({ ...key, created_at: isoTime(key.created_at) as string }, 201);
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List API keys (admin); never the keys themselves",
  request: { query: z.strictObject({ tenant_id: z.string().max(100).optional() }) },
  responses: {
    200: jsonResponse(z.object({ keys: z.array(KeySchema) }), "Keys, newest first."),
    400: errors[400],
    ...adminErrors,
  },
});

keysApi.openapi(listKeysRoute, async (c) => {
  const keys = await listApiKeys(c.env.DB, c.req.valid("query").tenant_id);
  return c.json({ keys: keys.map(keyView) }, 200);
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Revoke an API key (admin); it answers 401 from the next request on",
  middleware: [noFields] as const,
  request: { params: z.object({ id: z.string().max(100) }), query: NoQuery },
  responses: {
    200: jsonResponse(KeySchema, "The revoked key."),
    400: errors[400],
    404: errors[404],
    415: errors[415],
    ...adminErrors,
  },
});

keysApi.openapi(revokeKeyRoute, async (c) => {
  const key = await revokeKey(c.env, c.req.valid("param").id);
  if (!key) throw new DomainError(404, "not_found", "No API key with this id.");
  return c.json(keyView(key), 200);
});
