import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { limits } from "../../limits";
import { RateLeases } from "../../tenants/rate-leases";
import type { RateBucket } from "../../tenants/rate-limiter";

/** This isolate's leased tokens (module scope: shared by its requests). */
const leases = new RateLeases();

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
  await leases.spend(c.env, key.id, bucket, perMinute);
  return next();
});
