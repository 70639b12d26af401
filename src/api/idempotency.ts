import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { Idempotency } from "../jobs/submit";
import { sha256Hex } from "../platform/crypto";
import type { IdempotencyScope } from "../store/idempotency";

/**
 * The request's `Idempotency-Key` for the route `scope`, with the SHA-256 of
 * its raw body (kept by the jsonBody middleware): the same key with another
 * body is a conflict. Null without the header.
 */
export async function idempotencyOf(c: Context<AppEnv>, scope: IdempotencyScope): Promise<Idempotency | null> {
  const key = c.req.header("idempotency-key");
  return key ? { scope, key, requestHash: await sha256Hex(c.get("rawBody")) } : null;
}
