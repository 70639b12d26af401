import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { ulid } from "../platform/ids";
import type { RateBucket, RateGrant } from "./rate-limiter";

/** Tokens this isolate leased from one bucket of a key's RateLimiter. */
interface Lease {
  perMinute: number;
  granted: number;
  spent: number;
  /** Epoch ms; after it the lease is not spent any more (the object may reclaim it). */
  until: number;
}

/**
 * One Worker isolate's leases of rate-limit tokens, by key and bucket: most
 * requests spend a leased token without a Durable Object request; one whose
 * lease is spent or expired reports what it spent and asks for a new one,
 * and only the object's refusal answers 429. The middleware keeps one in
 * module scope; tests make several to stand for several isolates.
 */
export class RateLeases {
  /**
   * Names this isolate to the RateLimiter objects, which credit its unspent
   * tokens back. Made at the first lease: workerd allows no random values in
   * global scope, where the middleware's instance is made.
   */
  #holder: string | undefined;
  readonly #leases = new Map<string, Lease>();
  /**
   * Lease requests in flight, one per key and bucket: requests that find the
   * lease spent wait for the same new one (each taking its own would hold a
   * lease per concurrent request).
   */
  readonly #refills = new Map<string, Promise<RateGrant>>();

  /**
   * Spends one of `keyId`'s `bucket` tokens at `perMinute`. A changed limit
   * applies at once: a lease taken at another limit is settled first.
   * @throws DomainError 429 `rate_limited` with Retry-After (seconds) once the key's usage reached the limit.
   */
  async spend(env: Env, keyId: string, bucket: RateBucket, perMinute: number): Promise<void> {
    const leaseKey = `${keyId}:${bucket}`;
    // Each turn either spends a token, or waits for a lease with at least one (or none left: 429).
    for (;;) {
      const lease = this.#leases.get(leaseKey);
      if (lease && lease.perMinute === perMinute && lease.spent < lease.granted && lease.until > clock.now()) {
        lease.spent++;
        return;
      }
      const grant = await this.#refill(env, keyId, bucket, perMinute, leaseKey);
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
  }

  #holderId(): string {
    this.#holder ??= ulid();
    return this.#holder;
  }

  #refill(env: Env, keyId: string, bucket: RateBucket, perMinute: number, leaseKey: string): Promise<RateGrant> {
    let pending = this.#refills.get(leaseKey);
    if (!pending) {
      const spent = this.#leases.get(leaseKey)?.spent ?? 0;
      this.#leases.delete(leaseKey);
      const maxLease = Math.max(1, Math.floor(perMinute * limits.rateLeaseMaxShare));
      pending = env.RATE_LIMITER.getByName(keyId)
        .take(bucket, perMinute, this.#holderId(), spent, maxLease)
        .then((grant) => {
          if (grant.granted > 0) {
            this.#leases.set(leaseKey, {
              perMinute,
              granted: grant.granted,
              spent: 0,
              until: clock.now() + limits.rateLeaseMs,
            });
          }
          return grant;
        })
        .finally(() => this.#refills.delete(leaseKey));
      this.#refills.set(leaseKey, pending);
    }
    return pending;
  }
}
