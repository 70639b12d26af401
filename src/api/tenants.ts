import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { errors, NoQuery } from "../contract/schemas";
import type { AppEnv } from "../env";
import { DomainError } from "../jobs/errors";
import { setTenantLimits } from "../tenants/tenant-limits";
import { jsonRequestBody, jsonResponse } from "./json-content";
import { requireAdmin } from "./middleware/auth";
import { jsonBody } from "./middleware/json-body";
import { validationHook } from "./validation";

/** Admin: a tenant's limits. */
export const tenantsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
tenantsApi.use("*", requireAdmin);

const TenantLimitsSchema = z
  .strictObject({
    submit_per_minute: z.int().min(1).max(1_000_000).nullable().optional(),
    read_per_minute: z.int().min(1).max(1_000_000).nullable().optional(),
    max_running_jobs: z.int().min(1).max(10_000).nullable().optional(),
  })
  .openapi("TenantLimits", { description: "null restores the default (see the README's limits)." });

const updateRoute = createRoute({
  method: "patch",
  path: "/{id}",
  summary: "Set a tenant's rate and concurrency limits (admin)",
  middleware: [jsonBody] as const,
  request: {
    params: z.object({ id: z.string().max(100) }),
    query: NoQuery,
    body: jsonRequestBody(TenantLimitsSchema),
  },
  responses: {
    200: jsonResponse(TenantLimitsSchema, "The tenant's limits."),
    400: errors[400],
    401: errors[401],
    404: errors[404],
    415: errors[415],
    503: errors[503],
  },
});

tenantsApi.openapi(updateRoute, async (c) => {
  const limits = await setTenantLimits(c.env, c.req.valid("param").id, c.req.valid("json"));
  if (!limits) throw new DomainError(404, "not_found", "No tenant with this id.");
  return c.json(limits, 200);
});
