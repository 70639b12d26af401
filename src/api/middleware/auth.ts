import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { parseConfig } from "../../config";
import type { AppEnv } from "../../env";
import { DomainError, invalidApiKey } from "../../jobs/errors";
import { limits } from "../../limits";
import { secretsEqual } from "../../platform/crypto";
import { findApiKeyByHash } from "../../store/api-keys";
import { batchCheckingKey, forgetKey, type KeyCheck, rememberedKey, rememberKey } from "../../tenants/key-check";
import { apiKeyHash } from "../../tenants/keys";

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? (match[1] as string) : null;
}

/**
 * The hot paths, whose handlers send the key check in their own D1 batch
 * (`c.var.keyCheck`): get a job; submit one without an Idempotency-Key and
 * small enough that nothing goes to R2 before that batch.
 */
const JOB_PATH = /^\/v1\/jobs\/[^/]+$/;
function checksKeyInline(c: Context<AppEnv>): boolean {
  if (c.req.method === "GET") return JOB_PATH.test(c.req.path);
  const length = Number(c.req.header("content-length") ?? Number.NaN);
  return (
    c.req.method === "POST" &&
    c.req.path === "/v1/jobs" &&
    c.req.header("idempotency-key") === undefined &&
    length <= limits.maxInlineJsonBytes
  );
}

/**
 * Resolves the API key to its tenant; every later lookup is scoped to that
 * tenant. A key this isolate has seen, on a hot path, is checked by the
 * handler's own batch instead of a read of its own (see key-check.ts).
 */
export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const hash = token ? await apiKeyHash(token) : null;
  if (!hash) throw invalidApiKey();
  const known = checksKeyInline(c) ? rememberedKey(hash) : undefined;
  const key = known ?? (await findApiKeyByHash(c.env.DB, hash));
  if (!key) {
    forgetKey(hash);
    throw invalidApiKey();
  }
  if (!known) rememberKey(hash, key);
  const check: KeyCheck | null = known ? { hash, done: false } : null;
  c.set("tenantId", key.tenantId);
  c.set("apiKey", key);
  c.set("keyCheck", check);
  await next();
  // The handler answered without a batch (a malformed id, a validation error): check before that answer goes out.
  if (check && !check.done) await batchCheckingKey(c.env.DB, check, []);
});

/** Admin routes: the ADMIN_TOKEN secret, compared in constant time; closed (503) while it is unset. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const { adminToken } = parseConfig(c.env);
  if (!adminToken) throw new DomainError(503, "admin_disabled", "Admin routes are disabled until ADMIN_TOKEN is set.");
  const token = bearerToken(c.req.header("authorization"));
  if (!token || !(await secretsEqual(token, adminToken))) throw invalidApiKey();
  await next();
});
