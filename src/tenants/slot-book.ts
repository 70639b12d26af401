import { limits } from "../limits";

/**
 * Where a job stands with its tenant's running slots, as stored: `running`
 * holds a slot (since `at`); `reserved` was handed one and has until `at` to
 * claim it; `waiting` waits for one (since `at`). Times are Unix ms.
 */
export interface SlotEntry {
  state: "running" | "reserved" | "waiting";
  at: number;
}

/**
 * What one call changed: each touched job's entry as it now stands (null:
 * gone), for the caller to store, and the jobs just handed a slot, whose
 * messages the caller sends.
 */
export interface SlotChanges {
  writes: Map<string, SlotEntry | null>;
  woken: string[];
}

/** A running job whose slot is being audited, with the generation its entry had when asked about. */
export interface Suspect {
  jobId: string;
  generation: number;
}

/** What a job's tracker answered about a suspect: null when it could not be asked (it stays, asked again later). */
export type Verdict = Suspect & { running: boolean | null };

interface Running {
  /** When it was granted the slot (ms): what a later acquire of the same job is told (`heldSince`). */
  grantedAt: number;
  /** When it was last known to run: granted, acquired again, or confirmed by an audit (ms). */
  confirmedAt: number;
  /** Bumped whenever the entry is confirmed, so an audit's late answer cannot drop a slot acquired since. */
  generation: number;
}

/**
 * The running slots of one tenant and its waiting list, decided apart from
 * I/O (tenants/tenant-slots.ts stores and sends what this returns). Slots go
 * in job id order, which is creation order: a job takes a free slot only
 * when no older job waits; a freed slot is reserved for the oldest waiter,
 * who is woken. A reservation not claimed in `limits.slotReservationSeconds`
 * lapses and the slot goes on. Every call is synchronous, so a caller that
 * stores its changes before awaiting anything keeps them atomic.
 */
export class SlotBook {
  #running = new Map<string, Running>();
  /** Job id → when its reservation lapses (ms). */
  #reserved = new Map<string, number>();
  /** Job ids, ascending: the oldest waiter first. */
  #waiting: string[] = [];
  #generation = 0;
  /** When the last audit began (ms). */
  #auditedAt = Number.NEGATIVE_INFINITY;

  /** The book as stored (`entries`: job id and entry). */
  constructor(entries: Iterable<[string, SlotEntry]>) {
    for (const [jobId, entry] of entries) {
      if (entry.state === "running")
        this.#running.set(jobId, { grantedAt: entry.at, confirmedAt: entry.at, generation: 0 });
      else if (entry.state === "reserved") this.#reserved.set(jobId, entry.at);
      else this.#waiting.push(jobId);
    }
    this.#waiting.sort();
  }

  /**
   * `jobId` asks for a slot under `limit` at `now`: granted when it holds one
   * already, claims its reservation, or is reached in id order among the
   * waiters while slots are free (older waiters reached first are woken).
   * Otherwise it waits in the list. `heldSince`: when a slot it held already
   * was granted (ms), else null: a job acquired again within an attempt's
   * lease may have an attempt running whose start its tracker has not stored
   * (jobs/lifecycle.ts `startMaybeUnseen`).
   */
  acquire(
    jobId: string,
    limit: number,
    now: number,
  ): { granted: boolean; heldSince: number | null; changes: SlotChanges } {
    const changes = noChanges();
    const held = this.#running.get(jobId);
    if (held) {
      this.#confirm(held, now);
      return { granted: true, heldSince: held.grantedAt, changes };
    }
    if (this.#reserved.delete(jobId)) {
      this.#run(jobId, now, changes);
      return { granted: true, heldSince: null, changes };
    }
    if (this.#enqueue(jobId)) changes.writes.set(jobId, { state: "waiting", at: now });
    this.#fill(limit, now, changes, jobId);
    return { granted: this.#running.has(jobId), heldSince: null, changes };
  }

  /**
   * `jobId` gives up its slot, reservation or place in the list (if any).
   * Needs no limit, so it is stored even when the limit cannot be read;
   * `fill` then hands the freed slot on.
   */
  release(jobId: string): SlotChanges {
    const changes = noChanges();
    if (this.#running.delete(jobId) || this.#reserved.delete(jobId) || this.#dequeue(jobId)) {
      changes.writes.set(jobId, null);
    }
    return changes;
  }

  /** Hands any free slot to the oldest waiters: after a release, a raised limit or lapsed reservations. */
  fill(limit: number, now: number): SlotChanges {
    const changes = noChanges();
    this.#fill(limit, now, changes);
    return changes;
  }

  /**
   * The running jobs to ask about now, if an audit is due: those not known
   * to run for `limits.attemptLeaseSeconds`, least recently confirmed first,
   * at most `limits.slotAuditBatch`; none within
   * `limits.slotAuditIntervalSeconds` of the last audit. Marks the audit begun.
   */
  startAudit(now: number): Suspect[] {
    if (now - this.#auditedAt < limits.slotAuditIntervalSeconds * 1000) return [];
    const before = now - limits.attemptLeaseSeconds * 1000;
    const suspects = [...this.#running]
      .filter(([, entry]) => entry.confirmedAt < before)
      .sort(([, a], [, b]) => a.confirmedAt - b.confirmedAt)
      .slice(0, limits.slotAuditBatch)
      .map(([jobId, entry]) => ({ jobId, generation: entry.generation }));
    if (suspects.length > 0) this.#auditedAt = now;
    return suspects;
  }

  /**
   * The audit's answers: a job still running is confirmed; one that is not
   * loses its slot (its release was lost), unless it acquired it again
   * since it was asked about; `fill` then hands freed slots on.
   */
  settleAudit(verdicts: Verdict[], now: number): SlotChanges {
    const changes = noChanges();
    for (const { jobId, generation, running } of verdicts) {
      const entry = this.#running.get(jobId);
      if (!entry || entry.generation !== generation || running === null) continue;
      if (running) this.#confirm(entry, now);
      else {
        this.#running.delete(jobId);
        changes.writes.set(jobId, null);
      }
    }
    return changes;
  }

  #confirm(entry: Running, now: number): void {
    entry.confirmedAt = now;
    entry.generation = ++this.#generation;
  }

  #run(jobId: string, now: number, changes: SlotChanges): void {
    this.#running.set(jobId, { grantedAt: now, confirmedAt: now, generation: ++this.#generation });
    changes.writes.set(jobId, { state: "running", at: now });
  }

  /**
   * Lapsed reservations end; then while slots are free the oldest waiter
   * takes one: `acquirer` (the job asking now) runs at once, any other is
   * reserved one and woken.
   */
  #fill(limit: number, now: number, changes: SlotChanges, acquirer?: string): void {
    for (const [jobId, until] of this.#reserved) {
      if (until > now) continue;
      this.#reserved.delete(jobId);
      changes.writes.set(jobId, null);
    }
    while (this.#running.size + this.#reserved.size < limit) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      if (next === acquirer) {
        this.#run(next, now, changes);
        continue;
      }
      const until = now + limits.slotReservationSeconds * 1000;
      this.#reserved.set(next, until);
      changes.writes.set(next, { state: "reserved", at: until });
      changes.woken.push(next);
    }
  }

  /** Adds the job to the waiting list in id order; false if it was there already. */
  #enqueue(jobId: string): boolean {
    const at = this.#position(jobId);
    if (this.#waiting[at] === jobId) return false;
    this.#waiting.splice(at, 0, jobId);
    return true;
  }

  /** Removes the job from the waiting list; false if it was not there. */
  #dequeue(jobId: string): boolean {
    const at = this.#position(jobId);
    if (this.#waiting[at] !== jobId) return false;
    this.#waiting.splice(at, 1);
    return true;
  }

  /** Where `jobId` is, or would go, in the waiting list (binary search). */
  #position(jobId: string): number {
    let low = 0;
    let high = this.#waiting.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#waiting[middle] as string) < jobId) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function noChanges(): SlotChanges {
  return { writes: new Map(), woken: [] };
}
