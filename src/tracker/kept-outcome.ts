import type { AttemptOutcome } from "../jobs/lifecycle";
import { countOperation } from "../platform/metering";

/** An attempt's outcome its tracker could not write to D1 yet, and how many writes of it failed. */
export interface Kept {
  attempt: number;
  outcome: AttemptOutcome;
  failures: number;
}

const KEPT_KEY = "outcome";

/**
 * The outcome of the job's running attempt, kept in the tracker's own
 * storage while D1 cannot take it (a result over 64 KiB is in R2 already,
 * so it is at most the inline result, far below a stored value's 2 MB).
 * Stored only then: a tracker that began the attempt itself knows there is
 * none without reading. Deleted once written (or with all the object's
 * storage when the job ends).
 */
export class KeptOutcome {
  /** The stored outcome; undefined until read (once per instance, and only when needed). */
  #kept: Kept | null | undefined = undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** An attempt began here: nothing can be kept for it yet. */
  began(): void {
    this.#kept = null;
  }

  /** The kept outcome, if any. */
  async read(): Promise<Kept | null> {
    if (this.#kept === undefined) this.#kept = (await this.storage.get<Kept>(KEPT_KEY)) ?? null;
    return this.#kept;
  }

  /** Keeps (or keeps again, with its count of failed writes) an outcome D1 did not take. */
  async keep(kept: Kept): Promise<void> {
    countOperation("do_storage_writes");
    await this.storage.put(KEPT_KEY, kept);
    this.#kept = kept;
  }

  /** Drops the kept outcome (written, or no longer the job's to write). */
  async forget(): Promise<void> {
    if (!(await this.read())) return;
    this.#kept = null;
    countOperation("do_storage_writes");
    await this.storage.delete(KEPT_KEY);
  }

  /** The object's storage was deleted (the job finished): nothing is kept any more. */
  cleared(): void {
    this.#kept = null;
  }
}
