import { attemptLiveness, type Liveness } from "../jobs/liveness";
import type { JobRecord } from "../jobs/model";
import { limits } from "../limits";
import { countOperation } from "../platform/metering";

/** Stored only while a restarted tracker waits to hear from its attempt. */
interface Silence {
  attempt: number;
  since: number;
}

const SILENCE_KEY = "silence";

/**
 * What a tracker has heard from its running attempt. Heartbeats are kept in
 * memory only (no write per heartbeat); the one thing stored is the start of
 * a wait by a tracker that had heard nothing, so the wait ends on time even
 * if the object restarts or hibernates meanwhile. It is deleted when the
 * attempt is heard from or reclaimed.
 */
export class AttemptHearing {
  #heard: { attempt: number; at: number } | null = null;
  /** The stored silence; undefined until read (once per instance, and only when needed). */
  #silence: Silence | null | undefined = undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** The attempt began here at `at` (ms): nothing stored can be about it yet. */
  began(attempt: number, at: number): void {
    this.#heard = { attempt, at };
  }

  /** The attempt beat or reported progress at `at` (ms). Its first word to this instance ends a stored wait. */
  async heard(attempt: number, at: number): Promise<void> {
    const first = this.#heard?.attempt !== attempt;
    this.#heard = { attempt, at };
    if (first && (await this.#readSilence())) await this.forget();
  }

  /**
   * Whether the job's running attempt lives. When nothing has been heard,
   * `mayWait` starts (and stores) a wait, whose end the caller arms an alarm
   * for; without it, the attempt is left alone (`alive`) until someone may.
   */
  async judge(job: JobRecord, now: number, { mayWait }: { mayWait: boolean }): Promise<Liveness> {
    const heardAt = this.#heard?.attempt === job.attempts ? this.#heard.at : null;
    const silence = heardAt === null ? await this.#readSilence() : null;
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
      this.#silence = { attempt: job.attempts, since: now };
      countOperation("do_storage_writes");
      await this.storage.put(SILENCE_KEY, this.#silence);
    }
    return liveness;
  }

  /** Whether a wait is stored (read once per instance). */
  async isWaiting(): Promise<boolean> {
    return (await this.#readSilence()) !== null;
  }

  /** The object's storage was deleted (the job finished): nothing is stored any more. */
  cleared(): void {
    this.#silence = null;
  }

  /** Drops a stored wait (the attempt was heard from, or reclaimed). */
  async forget(): Promise<void> {
    if (!(await this.#readSilence())) return;
    this.#silence = null;
    countOperation("do_storage_writes");
    await this.storage.delete(SILENCE_KEY);
  }

  async #readSilence(): Promise<Silence | null> {
    if (this.#silence === undefined) this.#silence = (await this.storage.get<Silence>(SILENCE_KEY)) ?? null;
    return this.#silence;
  }
}
