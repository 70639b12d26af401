import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { clock } from "../platform/clock";

export type RateBucket = "submit" | "read";

/** Tokens granted (0 when none is left), and when the next one will be there. */
export type RateGrant = { granted: number; retryAfterSeconds: number };

/**
 * Token buckets for one API key (named by its id): each bucket holds up to a
 * minute's worth of requests and refills continuously. Kept in memory: an
 * idle object may be evicted, and an idle bucket is full anyway.
 */
export class RateLimiter extends DurableObject<Env> {
  #buckets = new Map<RateBucket, { tokens: number; at: number }>();

  /** Takes up to `want` whole tokens (a Worker isolate leases a few at a time to spend locally). */
  take(bucket: RateBucket, perMinute: number, want: number): RateGrant {
    const now = clock.now();
    const refillPerMs = perMinute / 60_000;
    const state = this.#buckets.get(bucket) ?? { tokens: perMinute, at: now };
    const tokens = Math.min(perMinute, state.tokens + (now - state.at) * refillPerMs);
    const granted = Math.min(want, Math.floor(tokens));
    this.#buckets.set(bucket, { tokens: tokens - granted, at: now });
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - (tokens - granted)) / refillPerMs / 1000));
    return { granted, retryAfterSeconds };
  }
}
