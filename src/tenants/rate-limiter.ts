import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";

export type RateBucket = "submit" | "read";

/** Tokens granted (0 when none is left), and when the next one will be there. */
export type RateGrant = { granted: number; retryAfterSeconds: number };

/** One isolate's lease from one bucket, as the object recorded it. */
interface Lease {
  granted: number;
  /** Epoch ms after which the holder no longer spends it (`limits.rateLeaseMs` after the grant). */
  until: number;
}

interface Bucket {
  /** Not yet leased; below 0 after grants made against leases that were possibly unused but were spent. */
  tokens: number;
  at: number;
  /** Outstanding leases by holder (one Worker isolate's lease cache). */
  leases: Map<string, Lease>;
}

/**
 * Token buckets for one API key (named by its id): each bucket holds up to a
 * minute's worth of requests and refills continuously. Worker isolates lease
 * tokens to spend locally for `limits.rateLeaseMs` and report what they
 * spent on their next lease, so unspent tokens come back. The object refuses
 * only when its bucket, counting every unreported lease (but the token its
 * holder spent at once) as possibly unused, is empty: never below the limit,
 * and at most those tokens above it — `limits.rateLeaseUnreportedShare` of
 * the minute — which come off the next moments' budget once reported. A lease never
 * reported is forgotten after a minute, when the refill has made up for it.
 * Kept in memory: an idle object may be evicted, and an idle bucket is full
 * anyway.
 */
export class RateLimiter extends DurableObject<Env> {
  #buckets = new Map<RateBucket, Bucket>();

  /**
   * Settles `holder`'s previous lease from this bucket (`spent` of it used,
   * or 0 when it had none), and leases it more tokens: its fair share of
   * what is left among the isolates holding leases, at most `maxLease`, at
   * least 1 (the caller spends one at once). 0 granted means the key's
   * usage reached `perMinute`, counting unreported leases as unused.
   */
  take(bucket: RateBucket, perMinute: number, holder: string, spent: number, maxLease: number): RateGrant {
    const now = clock.now();
    const refillPerMs = perMinute / 60_000;
    const state = this.#buckets.get(bucket) ?? { tokens: perMinute, at: now, leases: new Map<string, Lease>() };
    let tokens = Math.min(perMinute, state.tokens + (now - state.at) * refillPerMs);
    const previous = state.leases.get(holder);
    if (previous) tokens += previous.granted - Math.min(spent, previous.granted);
    state.leases.delete(holder);
    let possiblyUnused = 0;
    for (const [other, lease] of state.leases) {
      // After a window the refill has made up for whatever it left unspent.
      if (lease.until + 60_000 < now) state.leases.delete(other);
      // Its holder spent the first token when it leased it.
      else possiblyUnused += lease.granted - 1;
    }
    tokens = Math.min(perMinute, tokens);
    // A fair share of what is left, and within what unreported leases may hold: that bounds the excess.
    const share = Math.min(
      maxLease,
      Math.floor(tokens / (2 * (state.leases.size + 1))),
      Math.floor(perMinute * limits.rateLeaseUnreportedShare) - possiblyUnused,
    );
    const granted = tokens >= 1 ? Math.max(1, share) : tokens + possiblyUnused >= 1 ? 1 : 0;
    tokens -= granted;
    if (granted > 0) state.leases.set(holder, { granted, until: now + limits.rateLeaseMs });
    state.tokens = tokens;
    state.at = now;
    this.#buckets.set(bucket, state);
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1000));
    return { granted, retryAfterSeconds };
  }
}
