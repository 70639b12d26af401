import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { clock } from "../platform/clock";
import { countOperation, metered } from "../platform/metering";
import { serialRunner } from "../platform/serial";
import { countRecordedOutcomes, createOutcomeTable, recordOutcome } from "../store/batch-outcomes";
import { batchIsRunning, completeBatch, findBatch, listTerminalBatchJobs } from "../store/batches";
import { shardOf } from "../store/databases";
import { insertWebhookEventIf } from "../store/webhook-events";
import { buildBatchEvent, enqueueEvent } from "../webhooks/events";
import { allTerminal, type BatchOutcome, type BatchRecord, type BatchView, toBatchView } from "./model";

/**
 * The authority on one batch's counts (named by the batch id). Each job of
 * the batch reports its terminal status here once its tracker has stored it
 * (tracker/job-tracker.ts); reports are taken one at a time and recorded by
 * job id in this object's SQLite, so a repeated report (a duplicate queue
 * delivery, a retried call) changes nothing, and a job retried by its own
 * attempts reports only its final status. When every job has reported, the
 * batch is completed in D1 with its final counts and its `batch.completed`
 * event (if `on_complete` was given) in one transaction that only a running
 * batch passes, so both happen once; the event then goes to the callbacks
 * queue like any job event, and this object's storage is freed. A report lost
 * on the way is made good by `reconcile`, which the sweep calls
 * (batches/backstop.ts).
 */
export class BatchTracker extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
    createOutcomeTable(ctx.storage.sql);
  }

  /** The batch's shard: its id names it. */
  readonly #db = shardOf(this.env, this.ctx.id.name as string);
  /** The batch's row as last read or written; null until read. */
  #batch: BatchRecord | null = null;
  /** One report at a time: each counts on what the one before it wrote. */
  readonly #serially = serialRunner();

  /** A job of the batch ended with `status` (terminal). Idempotent per job; may complete the batch. */
  report(jobId: string, status: BatchOutcome): Promise<void> {
    return this.#serially(async () => {
      const batch = await this.#load();
      if (batch?.status !== "running") return;
      if (!this.#record(jobId, status)) return;
      await this.#completeIfDone(batch);
    });
  }

  /**
   * The backstop: records every job of the batch that D1 shows terminal (a
   * terminal status never changes, so this is what it reported or would
   * have), then completes the batch if all are.
   */
  reconcile(): Promise<void> {
    return this.#serially(async () => {
      this.#batch = null; // trust D1, not a copy that may predate a completion
      const batch = await this.#load();
      if (batch?.status !== "running") return;
      for (const job of await listTerminalBatchJobs(this.#db, batch.tenantId, batch.id)) {
        this.#record(job.id, job.status);
      }
      await this.#completeIfDone(batch);
    });
  }

  /** The batch as it stands (null: no such batch): while it runs, with the counts recorded here. */
  view(): Promise<BatchView | null> {
    return this.#serially(async () => {
      const batch = await this.#load();
      if (!batch) return null;
      return toBatchView(
        batch,
        batch.status === "running" ? countRecordedOutcomes(this.ctx.storage.sql) : batch.counts,
      );
    });
  }

  /** Each outcome recorded is a row written to this object's storage, billed as one. */
  #record(jobId: string, status: BatchOutcome): boolean {
    const recorded = recordOutcome(this.ctx.storage.sql, jobId, status);
    if (recorded) countOperation("do_storage_writes");
    return recorded;
  }

  async #completeIfDone(batch: BatchRecord): Promise<void> {
    const counts = countRecordedOutcomes(this.ctx.storage.sql);
    if (!allTerminal(batch.total, counts)) return;
    const now = clock.now();
    const completed: BatchRecord = { ...batch, status: "completed", counts, completedAt: now };
    const event =
      batch.callbackUrl === null
        ? null
        : buildBatchEvent(batch.tenantId, batch.callbackUrl, toBatchView(completed, counts), now);
    // The event first, while the batch still runs: both statements pass only for the first completion.
    const results = await this.#db.batch([
      ...(event ? [insertWebhookEventIf(this.#db, event, batchIsRunning(batch.id))] : []),
      completeBatch(this.#db, batch.id, counts, now),
    ]);
    const first = results.at(-1)?.meta.changes === 1;
    // Completed either way; if an earlier completion stored it, its event (pending until sent) is the sweep's.
    this.#batch = first ? completed : null;
    if (first && event) await enqueueEvent(this.env, event);
    countOperation("do_storage_writes");
    await this.ctx.storage.deleteAll();
  }

  async #load(): Promise<BatchRecord | null> {
    this.#batch ??= await findBatch(this.#db, this.ctx.id.name as string);
    return this.#batch;
  }
}
