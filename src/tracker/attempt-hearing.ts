import { attemptLiveness, type Liveness } from "../jobs/liveness";
import type { JobRecord } from "../jobs/model";
import { limits } from "../limits";
import { StoredValue } from "./stored-value";

/** Stored only while a restarted tracker waits to hear from its attempt. */
interface Silence {
  attempt: number;
  since: number;
}

/**
 * What a tracker has heard from its running attempt. Heartbeats are kept in
 * memory only (no write per heartbeat); the one thing stored is the start of
 * a wait by a tracker that had heard nothing, so the wait ends on time even
 * if the object restarts or hibernates meanwhile. It is deleted when the
 * attempt is heard from or reclaimed.
 */
export class AttemptHearing {
  #heard: { attempt: number; at: number } | null = null;
  /** The stored silence, read once per instance and only when needed. */
  readonly #silence: StoredValue<Silence>;

  constructor(storage: DurableObjectStorage) {
    this.#silence = new StoredValue<Silence>(storage, "silence");
  }

  /** The attempt began here at `at` (ms): nothing stored can be about it yet. */
  began(attempt: number, at: number): void {
    this.#heard = { attempt, at };
  }

  /** The attempt beat or reported progress at `at` (ms). Its first word to this instance ends a stored wait. */
  async heard(attempt: number, at: number): Promise<void> {
    const first = this.#heard?.attempt !== attempt;
    this.#heard = { attempt, at };
    if (first) await this.forget();
  }

  /**
   * Whether the job's running attempt lives. When nothing has been heard,
   * `mayWait` starts (and stores) a wait, whose end the caller arms an alarm
   * for; without it, the attempt is left alone (`alive`) until someone may.
   */
  async judge(job: JobRecord, now: number, { mayWait }: { mayWait: boolean }): Promise<Liveness> {
    const heardAt = this.#heard?.attempt === job.attempts ? this.#heard.at : null;
    const silence = heardAt === null ? await this.#silence.read() : null;
    const silentSince = silence?.attempt === job.attempts ? silence.since : null;
    const liveness = attemptLiveness({
      now,
      leaseExpiresAt: job.leaseExpiresAt,
      heardAt,
      silentSince,
      silenceMs: limits.attemptSilenceSeconds * 1000,
    });
    if (liveness.kind === "wait" && silentSince === null) {
      if (!mayWait) return { kind: "alive" };
      await this.#silence.put({ attempt: job.attempts, since: now });
    }
    return liveness;
  }

  /** Whether a wait is stored (read once per instance). */
  async isWaiting(): Promise<boolean> {
    return (await this.#silence.read()) !== null;
  }

  /** The object's storage was deleted (the job finished): nothing is stored any more. */
  cleared(): void {
    this.#silence.none();
  }

  /** Drops a stored wait (the attempt was heard from, or reclaimed). */
  forget(): Promise<void> {
    return this.#silence.delete();
  }
}
