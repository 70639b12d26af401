import { clock } from "../platform/clock";

/**
 * Runs `work` at most once per `intervalMs`: a request while one is pending
 * adds nothing, so the run that follows sees the latest state (latest wins).
 */
export class LatestOncePer {
  #lastRun = 0;
  #pending: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly work: () => void,
  ) {}

  request(): void {
    if (this.#pending !== null) return;
    const wait = Math.max(0, this.#lastRun + this.intervalMs - clock.now());
    this.#pending = setTimeout(() => {
      this.#pending = null;
      this.#lastRun = clock.now();
      this.work();
    }, wait);
  }
}
