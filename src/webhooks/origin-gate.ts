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
   * room for (none when it is full). A ticket is one connection; with
   * `connections` below `requests` (a job consumer's first attempts, sent
   * `limits.connectionsPerInvocation` at a time) at most that many tickets
   * are granted and each carries its share of the requests one after
   * another: ceil(requests / granted), for a lease and a hung bound of that
   * many rounds, but never more rounds than a full grant would need
   * (`ticketRounds`). One call per origin per batch. With `quickOnly`, none either
   * while the origin is slow: within the last `limits.slowOriginMemoryMs`
   * one of its requests took longer than `limits.quickOriginMs` (as
   * `release` was told), or a ticket has been held longer than
   * `limits.hungOriginMs` per request it carries (a request that does not
   * come back).
   *
   * Returns the ticket ids (`granted.length` ≤ min(requests, connections)).
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
    const rounds = ticketRounds(requests, wanted, granted.length);
    const lease = { hungAt: now + rounds * limits.hungOriginMs, until: now + rounds * leaseMs };
    for (const ticket of granted) this.#leases.set(ticket, lease);
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

/**
 * How many requests each of `granted` tickets carries in turn when
 * `requests` were to share `wanted` connections: the rounds a full grant
 * needs, ceil(requests / wanted), so a short grant carries fewer requests in
 * all (granted × rounds, at most `requests`), never longer rounds.
 */
export const ticketRounds = (requests: number, wanted: number, granted: number): number =>
  granted === 0 ? 0 : Math.ceil(requests / wanted);
