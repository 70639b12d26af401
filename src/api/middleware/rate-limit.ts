import { createMiddleware } from "hono/factory";
import type { AppEnv, Env } from "../../env";
import { DomainError } from "../../jobs/errors";
import { limits } from "../../limits";
import { clock } from "../../platform/clock";
import type { RateBucket, RateGrant } from "../../tenants/rate-limiter";

/**
 * Tokens this isolate leased from a key's RateLimiter and has not spent yet.
 * Leasing 1 % of a minute's budget at a time spares a Durable Object request
 * on almost every API call; a lease is taken from the key's one bucket, so
 * the limit is never exceeded, and unspent tokens simply lapse.
 */
interface Lease {
  tokens: number;
  until: number;
}
/** By key, bucket and limit: a changed limit starts a lease of its own size. */
const leases = new Map<string, Lease>();
const LEASE_MS = 5_000;
/**
 * Lease requests in flight, one per key and bucket: requests that find the
 * lease spent wait for the same new one. (Each taking its own would drain
 * the bucket by a lease per concurrent request and answer 429 far below the limit.)
 */
const refills = new Map<string, Promise<RateGrant>>();

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
  const leaseKey = `${key.id}:${bucket}:${perMinute}`;
  // Each turn either spends a token, or waits for a lease with at least one (or none left: 429).
  for (;;) {
    const lease = leases.get(leaseKey);
    if (lease && lease.tokens > 0 && lease.until > clock.now()) {
      lease.tokens--;
      return next();
    }
    const grant = await refill(c.env, key.id, bucket, perMinute, leaseKey);
    if (grant.granted === 0) {
      throw new DomainError(
        429,
        "rate_limited",
        `Too many requests for this API key (${perMinute} a minute); retry after ${grant.retryAfterSeconds} s.`,
        undefined,
        grant.retryAfterSeconds,
      );
    }
  }
});

function refill(env: Env, keyId: string, bucket: RateBucket, perMinute: number, leaseKey: string): Promise<RateGrant> {
  let pending = refills.get(leaseKey);
  if (!pending) {
    const want = Math.max(1, Math.floor(perMinute / 100));
    pending = env.RATE_LIMITER.getByName(keyId)
      .take(bucket, perMinute, want)
      .then((grant) => {
        if (grant.granted > 0) leases.set(leaseKey, { tokens: grant.granted, until: clock.now() + LEASE_MS });
        else leases.delete(leaseKey);
        return grant;
      })
      .finally(() => refills.delete(leaseKey));
    refills.set(leaseKey, pending);
  }
  return pending;
}
