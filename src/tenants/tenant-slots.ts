import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { sendJobMessages } from "../jobs/job-queues";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { countOperation, metered } from "../platform/metering";
import { SlotJournal } from "../store/slot-journal";
import { findMaxRunningJobs } from "../store/tenants";
import { SlotBook, type SlotChanges, type Suspect, type Verdict } from "./slot-book";

/**
 * The running slots of one tenant (named by its id): at most its
 * `max_running_jobs` jobs run at once, and the rest start oldest first. One
 * object per tenant, so no database has to count a tenant's running jobs
 * (they live in many shards). A job consumer acquires the slots of its
 * batch's jobs with one request per tenant, and releases the slots of the
 * jobs it finished a few ms' worth at a time (tenants/batch-slots.ts); a job
 * tracker acquires and releases on the rarer paths (a late or repeated
 * message, a cancel, a lost attempt); a freed slot is reserved for the oldest waiter, whose
 * message this object sends itself. Every entry is stored in the object's
 * SQLite before it answers, so a restart forgets no slot: a request's changes
 * as one journal row (store/slot-journal.ts), since each row written is
 * billed; decisions are slot-book.ts's.
 */
/**
 * A slot granted to `jobId`. `heldSince`: when the job was granted the slot
 * it already held (Unix ms), or null for a slot granted by this acquire.
 */
export interface SlotGrant {
  jobId: string;
  heldSince: number | null;
}

export class TenantSlots extends DurableObject<Env> {
  #journal: SlotJournal;
  #book: SlotBook;
  /** The tenant's limit: read from the control database once per instance, then pushed by `setLimit`. */
  #limit: number | null = null;
  #limitRead: Promise<number> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
    this.#journal = new SlotJournal(ctx.storage.sql);
    this.#book = new SlotBook(this.#journal.entries());
  }

  /**
   * Slots for `jobIds` (one request for a consumer batch's jobs of this
   * tenant), decided oldest first; answers the ids of those granted (see
   * `acquireGrants`). Kept as it was for callers deployed before
   * `acquireGrants`: while a deploy rolls out, an old consumer still asks this.
   */
  async acquire(jobIds: readonly string[]): Promise<string[]> {
    return (await this.acquireGrants(jobIds)).map((grant) => grant.jobId);
  }

  /**
   * Slots for `jobIds`, decided oldest first (an id named twice, as by a
   * message delivered twice in one batch, once); answers those granted, in
   * id order, each with when it held its slot since: each holds or was
   * handed one, or one was free and no older job waited. The others wait in
   * line and are woken (their messages sent) when their turn comes. A
   * refusal may start an audit of slots held long, in the background.
   */
  async acquireGrants(jobIds: readonly string[]): Promise<SlotGrant[]> {
    const limit = await this.#currentLimit();
    const now = clock.now();
    const granted: SlotGrant[] = [];
    const changes: SlotChanges[] = [];
    const asked = [...new Set(jobIds)].sort();
    for (const jobId of asked) {
      const { granted: got, heldSince, changes: jobChanges } = this.#book.acquire(jobId, limit, now);
      changes.push(jobChanges);
      if (got) granted.push({ jobId, heldSince });
    }
    this.#store(...changes);
    const woken = changes.flatMap((c) => c.woken);
    if (granted.length < asked.length) this.#auditInBackground(now);
    await this.#wake(woken);
    return granted;
  }

  /**
   * `jobIds` no longer run or wait (idempotent): their slots go to the oldest
   * waiters. The release is stored first and stands even when the hand-out
   * fails (the limit unreadable): a waiting job is then started by the next
   * hand-out, or by the sweep, which re-sends a queued job after its grace.
   */
  async release(jobIds: readonly string[]): Promise<void> {
    this.#store(...jobIds.map((jobId) => this.#book.release(jobId)));
    await this.#handOut().catch((error) => {
      console.error("freed slots not handed out yet; the next hand-out or the sweep starts the waiting jobs", {
        error: String(error),
      });
    });
  }

  /** The tenant's limit changed (null: the default): it applies from now, and a raised one wakes waiters at once. */
  async setLimit(maxRunningJobs: number | null): Promise<void> {
    this.#limit = maxRunningJobs ?? limits.defaultMaxRunningJobs;
    await this.#handOut();
  }

  /** Hands free slots to the oldest waiters and sends their messages. */
  async #handOut(): Promise<void> {
    const limit = await this.#currentLimit();
    const changes = this.#book.fill(limit, clock.now());
    this.#store(changes);
    await this.#wake(changes.woken);
  }

  #currentLimit(): Promise<number> {
    if (this.#limit !== null) return Promise.resolve(this.#limit);
    this.#limitRead ??= findMaxRunningJobs(this.env.DB, this.ctx.id.name as string).then(
      (max) => {
        // A `setLimit` that came meanwhile is newer than what was read.
        this.#limit ??= max ?? limits.defaultMaxRunningJobs;
        return this.#limit;
      },
      (error) => {
        this.#limitRead = null; // the next call reads again
        throw error;
      },
    );
    return this.#limitRead;
  }

  /** Stores the changes of one request's book calls (later ones win) together: one journal row, not one per job. */
  #store(...changes: SlotChanges[]): void {
    const writes = new Map(changes.flatMap((c) => [...c.writes]));
    countOperation("do_storage_writes", this.#journal.write(writes));
  }

  /**
   * Sends the messages of jobs just handed a slot. If a send fails the
   * reservation stands: the sweep re-enqueues the queued job, and a
   * reservation nobody claims lapses to the next waiter.
   */
  async #wake(jobIds: string[]): Promise<void> {
    const tenantId = this.ctx.id.name as string;
    for (let i = 0; i < jobIds.length; i += limits.maxBatchJobs) {
      const messages = jobIds
        .slice(i, i + limits.maxBatchJobs)
        .map((id) => ({ body: { job_id: id, tenant_id: tenantId } }));
      try {
        await sendJobMessages(this.env, messages);
      } catch (error) {
        console.error("slot hand-off enqueue failed; the sweep will start the job", {
          jobIds: messages.map((m) => m.body.job_id),
          error: String(error),
        });
      }
    }
  }

  /** Asks about long-held slots (a lost release holds one forever), without delaying the refused acquire. */
  #auditInBackground(now: number): void {
    const suspects = this.#book.startAudit(now);
    if (suspects.length === 0) return;
    this.ctx.waitUntil(
      this.#audit(suspects).catch((error) => {
        console.error("slot audit failed; the next refused acquire audits again", { error: String(error) });
      }),
    );
  }

  async #audit(suspects: Suspect[]): Promise<void> {
    const answers = await Promise.allSettled(
      suspects.map((s) => this.env.JOB_TRACKER.getByName(s.jobId).isRunning(this.ctx.id.name as string)),
    );
    const verdicts: Verdict[] = suspects.map((suspect, i) => {
      const answer = answers[i] as PromiseSettledResult<boolean>;
      return { ...suspect, running: answer.status === "fulfilled" ? answer.value : null };
    });
    this.#store(this.#book.settleAudit(verdicts, clock.now()));
    await this.#handOut();
  }
}
