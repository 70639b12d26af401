import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { clock } from "../platform/clock";

/**
 * Bounds the callback requests in flight to one origin (named by it), so a
 * slow or dead receiver occupies at most `maxInFlight` (32 by default) consumer
 * slots and other receivers' callbacks go on. Slots are leases: a consumer
 * that dies without releasing its slot loses it when the lease ends. State
 * is in memory only; losing it (eviction) can only free slots early.
 */
export class OriginGate extends DurableObject<Env> {
  #leases = new Map<string, number>();

  /** A ticket for one request, or null when the origin is at its limit. */
  acquire(leaseMs: number, maxInFlight: number): string | null {
    const now = clock.now();
    for (const [ticket, until] of this.#leases) if (until <= now) this.#leases.delete(ticket);
    if (this.#leases.size >= maxInFlight) return null;
    const ticket = crypto.randomUUID();
    this.#leases.set(ticket, now + leaseMs);
    return ticket;
  }

  release(ticket: string): void {
    this.#leases.delete(ticket);
  }
}
