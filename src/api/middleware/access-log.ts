import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { clock } from "../../platform/clock";

/**
 * One line per request for Workers Logs: route, status, time, tenant.
 * Deliberately no headers, query strings or bodies: they carry keys and data.
 */
export const accessLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = clock.now();
  await next();
  console.log("request", {
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    ms: clock.now() - started,
    tenant: c.get("tenantId") ?? null,
  });
});
