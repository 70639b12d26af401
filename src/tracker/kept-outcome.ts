import type { AttemptOutcome, StartClaim } from "../jobs/lifecycle";
import { StoredValue } from "./stored-value";

/**
 * An attempt's outcome its tracker could not write to D1 yet, and how many
 * writes of it failed. `claim`: the attempt's start as its consumer told it
 * (null from a caller that sent none), so the outcome of an attempt whose
 * start was never stored can still be written (lifecycle.ts `adoptStart`).
 */
export interface Kept {
  attempt: number;
  outcome: AttemptOutcome;
  failures: number;
  claim: StartClaim | null;
}

/**
 * The outcome of the job's running attempt, kept in the tracker's own
 * storage while D1 cannot take it (a result over 64 KiB is in R2 already,
 * so it is at most the inline result, far below a stored value's 2 MB).
 * Stored only then: a tracker that began the attempt itself knows there is
 * none without reading (`none()`). Deleted once written (or with all the
 * object's storage when the job ends).
 */
export const keptOutcome = (storage: DurableObjectStorage) => new StoredValue<Kept>(storage, "outcome");
