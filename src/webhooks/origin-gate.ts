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
   * Tickets for `requests` requests, as many as the origin's limit leaves
   * room for (none when it is full). A ticket is one connection: with
   * `connections` below `requests` (a job consumer's first attempts, sent
   * `limits.connectionsPerInvocation` at a time) at most that many tickets
   * are granted, and tickets fewer than the requests carry them in turn,
   * starting the last within `limits.firstAttemptCarryMs`: such a ticket
   * has that much longer before it counts as hung and before its lease
   * ends. One call per origin per batch. With `quickOnly`, none either while
   * the origin is slow: within the last `limits.slowOriginMemoryMs` one of
   * its requests took longer than `limits.quickOriginMs` (as `release` or
   * `reportSlow` was told), or a ticket has been held past its hung bound
   * (`limits.hungOriginMs` after its last request could start: a request
   * that does not come back).
   *
   * Returns the ticket ids (at most min(requests, connections)).
   */
  acquire(
    requests: number,
    leaseMs: number,
    maxInFlight: number,
    options: { quickOnly?: boolean; connections?: number } = {},
  ): string[] {
    const now = clock.now();
    for (const [ticket, lease] of this.#leases) {
      if (lease.until <= now) this.#leases.delete(ticket);
      else if (now > lease.hungAt) this.#markSlow(now);
    }
    if (options.quickOnly && this.#slowUntil > now) return [];
    const wanted = Math.min(requests, options.connections ?? requests);
    const granted = Array.from({ length: Math.max(0, Math.min(wanted, maxInFlight - this.#leases.size)) }, () =>
      crypto.randomUUID(),
    );
    const carryMs = granted.length < requests ? limits.firstAttemptCarryMs : 0;
    const lease = { hungAt: now + carryMs + limits.hungOriginMs, until: now + carryMs + leaseMs };
    for (const ticket of granted) this.#leases.set(ticket, lease);
    return granted;
  }

  /**
   * The origin was found slow before its tickets are released: a job
   * consumer's request ran past `limits.quickOriginMs`, so its group sends
   * no more and other consumers leave the origin to the callbacks queue now.
   */
  reportSlow(): void {
    this.#markSlow(clock.now());
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
