import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { DomainError } from "../../jobs/errors";
import { limits } from "../../limits";
import { clock } from "../../platform/clock";
import type { RateBucket } from "../../tenants/rate-limiter";

/**
 * Tokens this isolate leased from a key's RateLimiter and has not spent yet.
 * Leasing 1 % of a minute's budget at a time spares a Durable Object request
 * on almost every API call; a lease is taken from the key's one bucket, so
 * the limit is never exceeded, and unspent tokens simply lapse.
 */
const leases = new Map<string, { tokens: number; until: number; perMinute: number }>();
const LEASE_MS = 5_000;

/**
 * Per API key: reads (GET) and writes (everything else) draw on separate
 * buckets, sized by the tenant's limits or the defaults. Over the limit:
 * 429 rate_limited with Retry-After.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.get("apiKey");
  const bucket: RateBucket = c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "submit";
  const perMinute =
    bucket === "read"
      ? (key.readPerMinute ?? limits.defaultReadPerMinute)
      : (key.submitPerMinute ?? limits.defaultSubmitPerMinute);
  const leaseKey = `${key.id}:${bucket}`;
  const now = clock.now();
  const lease = leases.get(leaseKey);
  if (lease && lease.tokens > 0 && lease.until > now && lease.perMinute === perMinute) {
    lease.tokens--;
    return next();
  }
  const want = Math.max(1, Math.floor(perMinute / 100));
  const grant = await c.env.RATE_LIMITER.getByName(key.id).take(bucket, perMinute, want);
  if (grant.granted === 0) {
    leases.delete(leaseKey);
    throw new DomainError(
      429,
      "rate_limited",
      `Too many requests for this API key (${perMinute} a minute); retry after ${grant.retryAfterSeconds} s.`,
      undefined,
      grant.retryAfterSeconds,
    );
  }
  leases.set(leaseKey, { tokens: grant.granted - 1, until: now + LEASE_MS, perMinute });
  await next();
});
