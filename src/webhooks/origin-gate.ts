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

  /**
   * Tickets for up to `wanted` requests, as many as the origin's limit leaves
   * room for (none when it is full). One call per origin per queue batch.
   */
  acquire(wanted: number, leaseMs: number, maxInFlight: number): string[] {
    const now = clock.now();
    for (const [ticket, until] of this.#leases) if (until <= now) this.#leases.delete(ticket);
    const granted = Array.from({ length: Math.max(0, Math.min(wanted, maxInFlight - this.#leases.size)) }, () =>
      crypto.randomUUID(),
    );
    for (const ticket of granted) this.#leases.set(ticket, now + leaseMs);
    return granted;
  }

  release(tickets: string[]): void {
    for (const ticket of tickets) this.#leases.delete(ticket);
  }
}
