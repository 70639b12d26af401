import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { clock } from "../platform/clock";

export type RateBucket = "submit" | "read";

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Token buckets for one API key (named by its id): each bucket holds up to a
 * minute's worth of requests and refills continuously. Kept in memory: an
 * idle object may be evicted, and an idle bucket is full anyway.
 */
export class RateLimiter extends DurableObject<Env> {
  #buckets = new Map<RateBucket, { tokens: number; at: number }>();

  take(bucket: RateBucket, perMinute: number): RateDecision {
    const now = clock.now();
    const refillPerMs = perMinute / 60_000;
    const state = this.#buckets.get(bucket) ?? { tokens: perMinute, at: now };
    const tokens = Math.min(perMinute, state.tokens + (now - state.at) * refillPerMs);
    if (tokens >= 1) {
      this.#buckets.set(bucket, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.#buckets.set(bucket, { tokens, at: now });
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1000)) };
  }
}
