import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";

/**
 * Bounds the callback requests in flight to one origin (named by it), so a
 * slow or dead receiver occupies at most `maxInFlight` (32 by default) consumer
 * slots and other receivers' callbacks go on. Slots are leases: a consumer
 * that dies without releasing its slot loses it when the lease ends. It also
 * remembers whether the origin was slow lately, so job consumers, which make
 * a callback's first attempt themselves, leave a slow origin to the
 * callbacks queue. State is in memory only; losing it (eviction) can only
 * free slots early and forget slowness.
 */
export class OriginGate extends DurableObject<Env> {
  /** Ticket → when its request counts as hung if not released, and when its lease ends (ms). */
  #leases = new Map<string, { hungAt: number; until: number }>();
  /** Until when (ms) the origin counts as slow (see `acquire`). */
  #slowUntil = 0;

  /**
   * Tickets for up to `wanted` requests, as many as the origin's limit leaves
   * room for (none when it is full). One call per origin per batch. With
   * `quickOnly`, none either while the origin is slow: within the last
   * `limits.slowOriginMemoryMs` one of its requests took longer than
   * `limits.quickOriginMs` (as `release` was told), or a slot has been held
   * longer than `limits.hungOriginMs` (a request that does not come back)
   * for each round its caller needs: tickets granted together are sent
   * `limits.connectionsPerInvocation` at a time, so the last ones wait
   * rounds for a connection without their origin being slow.
   */
  acquire(wanted: number, leaseMs: number, maxInFlight: number, options: { quickOnly?: boolean } = {}): string[] {
    const now = clock.now();
    for (const [ticket, lease] of this.#leases) {
      if (lease.until <= now) this.#leases.delete(ticket);
      else if (now > lease.hungAt) this.#markSlow(now);
    }
    if (options.quickOnly && this.#slowUntil > now) return [];
    const granted = Array.from({ length: Math.max(0, Math.min(wanted, maxInFlight - this.#leases.size)) }, () =>
      crypto.randomUUID(),
    );
    const rounds = Math.ceil(granted.length / limits.connectionsPerInvocation);
    const hungAt = now + rounds * limits.hungOriginMs;
    for (const ticket of granted) this.#leases.set(ticket, { hungAt, until: now + leaseMs });
    return granted;
  }

  /**
   * Frees the tickets. `slowestMs`: the longest request made with them (the
   * request alone, not the caller's own waiting or recording), which tells
   * whether the origin answers quickly.
   */
  release(tickets: string[], slowestMs = 0): void {
    for (const ticket of tickets) this.#leases.delete(ticket);
    if (slowestMs > limits.quickOriginMs) this.#markSlow(clock.now());
  }

  #markSlow(now: number): void {
    this.#slowUntil = now + limits.slowOriginMemoryMs;
  }
}
