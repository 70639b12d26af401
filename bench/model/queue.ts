// The emulated database's service discipline, pure so it is tested in Node
// (test/unit/capacity.test.ts); bench/model/entry.ts's gate applies it.

/**
 * A single-server FIFO queue with a deterministic service time. Each query is
 * given the slot [max(arrival, end of the previous slot), + its service time], in ms
 * on the caller's clock: never served before it arrives, and a caller that is
 * released late (a busy thread's timer) does not push later slots back, so
 * the server's capacity is exactly 1000 ÷ service ms queries/s.
 */
export class FifoServer {
  #freeAt = Number.NEGATIVE_INFINITY;

  /** The slot of a query arriving at `arrival` (ms; calls in arrival order) served for `serviceMs`: `{ start, end }` in ms. */
  admit(arrival: number, serviceMs: number): { start: number; end: number } {
    const start = Math.max(arrival, this.#freeAt);
    this.#freeAt = start + serviceMs;
    return { start, end: this.#freeAt };
  }
}
