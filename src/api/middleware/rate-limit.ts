import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { DomainError } from "../../jobs/errors";
import { limits } from "../../limits";

/**
 * Per API key: reads (GET) and writes (everything else) draw on separate
 * buckets, sized by the tenant's limits or the defaults. Over the limit:
 * 429 rate_limited with Retry-After.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.get("apiKey");
  const read = c.req.method === "GET" || c.req.method === "HEAD";
  const perMinute = read
    ? (key.readPerMinute ?? limits.defaultReadPerMinute)
    : (key.submitPerMinute ?? limits.defaultSubmitPerMinute);
  const decision = await c.env.RATE_LIMITER.getByName(key.id).take(read ? "read" : "submit", perMinute);
  if (!decision.ok) {
    throw new DomainError(
      429,
      "rate_limited",
      `Too many requests for this API key (${perMinute} a minute); retry after ${decision.retryAfterSeconds} s.`,
      undefined,
      decision.retryAfterSeconds,
    );
  }
  await next();
});
