import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { DomainError } from "../../jobs/errors";
import { secretsEqual } from "../../platform/crypto";
import { authenticateApiKey } from "../../tenants/keys";

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? (match[1] as string) : null;
}

const unauthorized = () =>
  new DomainError(401, "unauthorized", "Send a valid API key as `Authorization: Bearer <key>`.");

/** Resolves the API key to its tenant; every later lookup is scoped to that tenant. */
export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const key = token ? await authenticateApiKey(c.env.DB, token) : null;
  if (!key) throw unauthorized();
  c.set("tenantId", key.tenantId);
  c.set("apiKey", key);
  await next();
});

/** Admin routes: the ADMIN_TOKEN secret, compared in constant time; closed (503) while it is unset. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const adminToken = c.env.ADMIN_TOKEN;
  if (!adminToken) throw new DomainError(503, "admin_disabled", "Admin routes are disabled until ADMIN_TOKEN is set.");
  const token = bearerToken(c.req.header("authorization"));
  if (!token || !(await secretsEqual(token, adminToken))) throw unauthorized();
  await next();
});
