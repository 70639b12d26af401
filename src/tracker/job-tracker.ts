import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { jobTypes } from "../job-types";
import type { CallbackEventType, JobError, JobRecord, JobView } from "../jobs/model";
import { isTerminal, wantsEvent } from "../jobs/model";
import { nextRetryDelaySeconds } from "../jobs/retry-policy";
import { canTransition } from "../jobs/transitions";
import { toJobView } from "../jobs/view";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { countOperation, metered } from "../platform/metering";
import {
  findJob,
  parkJob,
  renewLease,
  startDueJob,
  startJob,
  touchJob,
  updateJob,
  wakeOldestParked,
} from "../store/jobs";
import { insertWebhookEvent } from "../store/webhook-events";
import { buildEvent, enqueueEvent } from "../webhooks/events";
import { AttemptHearing } from "./attempt-hearing";
import { enqueueJob } from "./enqueue";
import { LatestOncePer } from "./latest-once-per";
import type { WatchEvent } from "./watch";
import { acceptWatcher, broadcast, closeWatcher } from "./watchers";

/** What the consumer is told when it asks to start an attempt. */
export type BeginResult =
  | { kind: "run"; job: JobRecord; attempt: number }
  | { kind: "skip"; reason: "finished" | "running" | "not_due" | "missing" | "throttled" };

export type AttemptOutcome =
  | { ok: true; resultJson: string | null; resultKey: string | null }
  | { ok: false; error: JobError; retryable: boolean };

export type CancelResult = { ok: true; job: JobRecord } | { ok: false; job: JobRecord | null };

/** A queue message may arrive this early (delays are whole seconds) and still count as due. */
const EARLY_TOLERANCE_MS = 2_000;

/**
 * The authority on one job (named by its id). Every change of the job goes
 * through here, one at a time, and is written to D1 guarded by `version`; the
 * tracker also owns the job's timers: long delays beyond what a queue can
 * hold, and re-enqueueing a lost message. A running attempt heartbeats it
 * (kept in memory); once the attempt's short lease has passed, the minute's
 * sweep asks whether it still does. No alarm per job: an alarm is a billed
 * storage write, and a lost consumer is rare.
 */
export class JobTracker extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
  }

  #job: JobRecord | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #hearing = new AttemptHearing(this.ctx.storage);
  /** job.progress callbacks: at most one a second, carrying the latest progress. */
  #progressEvents = new LatestOncePer(1000, () => {
    this.#serially(() => this.#emitProgressEvent()).catch((error) => {
      console.error("job.progress event not written", { jobId: this.#job?.id, error: String(error) });
    });
  });

  /** Starts an attempt if the job is due and nobody holds it. Duplicate or late messages get `skip`. */
  begin(): Promise<BeginResult> {
    return this.#serially(async () => {
      if (this.#job === null) {
        const started = await startDueJob(this.env.DB, this.ctx.id.name as string, clock.now(), {
          earlyToleranceMs: EARLY_TOLERANCE_MS,
          leaseMs: limits.attemptLeaseSeconds * 1000,
          defaultMax: limits.defaultMaxRunningJobs,
        });
        if (started) {
          this.#job = started;
          this.#hearing.began(started.attempts, clock.now());
          await this.#broadcast(started, "status");
          return { kind: "run", job: started, attempt: started.attempts };
        }
      }
      // Not startable as it stood in D1 (finished, running, not due, throttled), or state already held.
      const job = await this.#load();
      if (!job) return { kind: "skip", reason: "missing" };
      const now = clock.now();
      if (job.status === "running") await this.#checkAttempt(job, now, { mayWait: true });
      const current = this.#job as JobRecord;
      if (isTerminal(current.status)) return { kind: "skip", reason: "finished" };
      if (current.status === "running") return { kind: "skip", reason: "running" };
      if (current.runAt > now + EARLY_TOLERANCE_MS) return { kind: "skip", reason: "not_due" };
      const attempt = current.attempts + 1;
      const leaseExpiresAt = now + limits.attemptLeaseSeconds * 1000;
      const started = await this.#commit(
        { ...current, status: "running", attempts: attempt, startedAt: now, leaseExpiresAt },
        { admit: true },
      );
      if (!started) {
        await this.#waitForSlot(current, now);
        return { kind: "skip", reason: "throttled" };
      }
      this.#hearing.began(attempt, now);
      return { kind: "run", job: this.#job as JobRecord, attempt };
    });
  }

  /** Records progress of the running attempt. `stop` tells the handler to abort (canceled or superseded). */
  progress(attempt: number, percent: number, message: string | null): Promise<{ stop: boolean }> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (!holdsAttempt(job, attempt)) return { stop: true };
      await this.#hearing.heard(attempt, clock.now());
      const clamped = Math.min(100, Math.max(job.progress?.percent ?? 0, percent));
      await this.#commit({ ...job, progress: { percent: clamped, message, updated_at: clock.now() } });
      if (wantsEvent(job, "job.progress")) this.#progressEvents.request();
      return { stop: false };
    });
  }

  /**
   * The running attempt says it is alive (every limits.heartbeatIntervalSeconds,
   * from attempts that run that long). Kept in memory: no write. `stop` as for
   * `progress`.
   */
  heartbeat(attempt: number): Promise<{ stop: boolean }> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (!holdsAttempt(job, attempt)) return { stop: true };
      await this.#hearing.heard(attempt, clock.now());
      return { stop: false };
    });
  }

  /** Records how an attempt ended. Ignored (`accepted: false`) unless that attempt still holds the job. */
  complete(attempt: number, outcome: AttemptOutcome): Promise<{ accepted: boolean }> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (!holdsAttempt(job, attempt)) return { accepted: false };
      await this.#finishAttempt(job, outcome, clock.now());
      return { accepted: true };
    });
  }

  /** Cancels a job that has not finished. */
  cancel(): Promise<CancelResult> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (!job || isTerminal(job.status)) return { ok: false, job };
      const now = clock.now();
      // An earlier attempt's error is not the job's: a canceled job has none (API.md).
      await this.#commit(
        { ...job, status: "canceled", error: null, finishedAt: now, leaseExpiresAt: null },
        { event: "job.canceled" },
      );
      return { ok: true, job: this.#job as JobRecord };
    });
  }

  /** The job's message died in the dead-letter queue: fail the job rather than leave it waiting. */
  abandon(): Promise<void> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (!job || isTerminal(job.status)) return;
      const error = {
        code: "internal_error",
        message: "The job could not be run after repeated infrastructure failures.",
      };
      await this.#commit(
        { ...job, status: "failed", error, finishedAt: clock.now(), leaseExpiresAt: null },
        { event: "job.failed" },
      );
    });
  }

  /** Takes charge of a job whose delay is longer than a queue message can wait. */
  schedule(): Promise<void> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (job && !isTerminal(job.status)) await this.#armForRunAt(job, clock.now());
    });
  }

  /**
   * A watcher joins (Upgrade: websocket). Accepted through the hibernation
   * API, so an idle watcher does not keep this object awake; it gets the
   * current state at once and every change after it.
   */
  override fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Promise.resolve(new Response("expected a WebSocket upgrade", { status: 426 }));
    }
    return this.#serially(async () => {
      const job = await this.#load();
      const first = job ? { event: "status" as const, data: await this.#view(job) } : null;
      return acceptWatcher(this.ctx, first, job !== null && isTerminal(job.status));
    });
  }

  /** Watchers only listen; whatever they send is ignored. */
  override webSocketMessage(): void {}

  override webSocketClose(socket: WebSocket, code: number): void {
    closeWatcher(socket, code);
  }

  /**
   * Called by the sweep for a job that looks stranded: re-enqueues it, or asks
   * whether its running attempt still lives and reclaims it if not.
   */
  recover(): Promise<void> {
    return this.#serially(async () => {
      this.#job = null; // trust D1, not a cache that may predate a restart
      const job = await this.#load();
      if (job) await this.#repair(job, clock.now(), { mayWait: true });
    });
  }

  /**
   * Hands a long-delayed job to the queue, re-enqueues a lost message, or ends
   * a wait to hear from a running attempt. It never starts such a wait (the
   * sweep does): an alarm for a running job may be an earlier one, and
   * waiting again each time would only cost writes.
   */
  override alarm(): Promise<void> {
    return this.#serially(async () => {
      const job = await this.#load();
      if (job) await this.#repair(job, clock.now(), { mayWait: false });
    });
  }

  async #emitProgressEvent(): Promise<void> {
    const job = this.#job;
    // A finished job's terminal event already carries its last progress.
    if (job?.status !== "running") return;
    const event = buildEvent(
      job.tenantId,
      job.callbackUrl as string,
      "job.progress",
      await this.#view(job),
      clock.now(),
    );
    await insertWebhookEvent(this.env.DB, event).run();
    await enqueueEvent(this.env, event);
  }

  async #repair(job: JobRecord, now: number, options: { mayWait: boolean }): Promise<void> {
    if (isTerminal(job.status)) return;
    if (job.status === "running") return this.#checkAttempt(job, now, options);
    const lostAfter = job.runAt + limits.enqueueGraceSeconds * 1000;
    if (now >= lostAfter) {
      // Its message should have started it by now: it was lost (local restart, failed send).
      await this.#setAlarm(now + limits.enqueueGraceSeconds * 1000);
      await touchJob(this.env.DB, job.id, job.version, now).run();
      await enqueueJob(this.env, job.id, 0);
    } else {
      await this.#armForRunAt(job, now);
    }
  }

  /**
   * Sends the job's message once its run time is within a queue's delay
   * limit; until then the alarm waits. Then watches for the message to arrive.
   */
  async #armForRunAt(job: JobRecord, now: number): Promise<void> {
    const waitMs = job.runAt - now;
    if (waitMs > limits.maxQueueDelaySeconds * 1000) {
      await this.#setAlarm(job.runAt - limits.maxQueueDelaySeconds * 1000);
      return;
    }
    // The alarm first: if the send fails, the alarm still finds the job.
    await this.#setAlarm(job.runAt + limits.enqueueGraceSeconds * 1000);
    await enqueueJob(this.env, job.id, Math.max(0, Math.ceil(waitMs / 1000)));
  }

  /**
   * Reclaims the running attempt if it is lost (its consumer died). A tracker
   * that has not heard from it may, with `mayWait`, wait one silence for a
   * heartbeat first, on the alarm.
   */
  async #checkAttempt(job: JobRecord, now: number, { mayWait }: { mayWait: boolean }): Promise<void> {
    const liveness = await this.#hearing.judge(job, now, { mayWait });
    if (liveness.kind === "wait" && (await this.ctx.storage.getAlarm()) !== liveness.until) {
      await this.#setAlarm(liveness.until);
    }
    if (liveness.kind === "alive" && (job.leaseExpiresAt ?? 0) <= now) {
      // Asked by the sweep past its lease: renewed, the sweep turns to jobs it has not asked about lately.
      await renewLease(this.env.DB, job.id, job.version, now + limits.attemptLeaseSeconds * 1000).run();
    }
    if (liveness.kind !== "lost") return;
    await this.#hearing.forget();
    const error = { code: "worker_lost", message: "The attempt stopped sending heartbeats: its worker was lost." };
    await this.#finishAttempt(job, { ok: false, error, retryable: true }, now);
  }

  async #finishAttempt(job: JobRecord, outcome: AttemptOutcome, now: number): Promise<void> {
    if (outcome.ok) {
      await this.#commit(
        {
          ...job,
          status: "succeeded",
          resultJson: outcome.resultJson,
          resultKey: outcome.resultKey,
          error: null,
          finishedAt: now,
          leaseExpiresAt: null,
        },
        { event: "job.succeeded" },
      );
      return;
    }
    if (outcome.retryable && job.attempts < job.maxAttempts) {
      const delay = nextRetryDelaySeconds(job.attempts, this.#retryBaseDelay(job));
      const retry = {
        ...job,
        status: "queued" as const,
        error: outcome.error,
        runAt: now + delay * 1000,
        leaseExpiresAt: null,
      };
      await this.#commit(retry);
      await this.#armForRunAt(retry, now);
      return;
    }
    await this.#commit(
      { ...job, status: "failed", error: outcome.error, finishedAt: now, leaseExpiresAt: null },
      { event: "job.failed" },
    );
  }

  #retryBaseDelay(job: JobRecord): number {
    const override = Number(this.env.RETRY_BASE_DELAY_SECONDS);
    if (this.env.RETRY_BASE_DELAY_SECONDS !== undefined && Number.isFinite(override)) return override;
    return jobTypes.get(job.type)?.defaults.retryBaseDelaySeconds ?? limits.retryBaseDelaySeconds;
  }

  /**
   * Writes the next state of the job over the version this tracker holds, with
   * the callback event it causes in the same transaction, then tells watchers
   * and sends the event. With `admit`, the change to running also has to win
   * one of the tenant's running slots: false when it did not (nothing changed).
   */
  async #commit(
    next: Omit<JobRecord, "version" | "updatedAt">,
    options: { event?: CallbackEventType; admit?: boolean } = {},
  ): Promise<boolean> {
    const current = this.#job as JobRecord;
    if (current.status !== next.status && !canTransition(current.status, next.status)) {
      throw new Error(`illegal transition ${current.status} → ${next.status} for ${current.id}`);
    }
    const now = clock.now();
    const job: JobRecord = { ...next, version: current.version + 1, updatedAt: now };
    const statements = [
      options.admit
        ? startJob(this.env.DB, job, current.version, limits.defaultMaxRunningJobs)
        : updateJob(this.env.DB, job, current.version),
    ];
    const { event } = options;
    const outbox =
      event && wantsEvent(job, event)
        ? buildEvent(job.tenantId, job.callbackUrl as string, event, await this.#view(job), now)
        : null;
    if (outbox) statements.push(insertWebhookEvent(this.env.DB, outbox));
    // Leaving running frees a slot of the tenant: its oldest parked job takes it, in the same round trip.
    const freesSlot = current.status === "running" && job.status !== "running";
    if (freesSlot) statements.push(wakeOldestParked(this.env.DB, job.tenantId, limits.defaultMaxRunningJobs, now));
    const results = await this.env.DB.batch<{ id: string }>(statements);
    const update = results[0];
    if (update?.meta.changes !== 1) {
      if (options.admit) return false;
      // Only this tracker writes a job after it is created, so this means the row was deleted.
      this.#job = null;
      throw new Error(`job ${current.id} changed outside its tracker`);
    }
    this.#job = job;
    await this.#broadcast(job, current.status === job.status ? "progress" : "status");
    if (outbox) await enqueueEvent(this.env, outbox);
    if (freesSlot) await this.#startWoken(results.at(-1)?.results[0]?.id);
    return true;
  }

  /**
   * No running slot for this job now: it waits (parked) in id order. If a
   * slot is free after all (an older parked job's hand-off was lost), the
   * oldest parked job gets it, so waiting never depends on one message.
   */
  async #waitForSlot(job: JobRecord, now: number): Promise<void> {
    await parkJob(this.env.DB, job.id, now).run();
    const woken = await wakeOldestParked(this.env.DB, job.tenantId, limits.defaultMaxRunningJobs, now).first<{
      id: string;
    }>();
    await this.#startWoken(woken?.id);
  }

  /** Enqueues a job that was just handed a running slot. */
  async #startWoken(next: string | undefined): Promise<void> {
    if (!next) return;
    try {
      await enqueueJob(this.env, next, 0);
    } catch (error) {
      // The woken job is queued in D1; the sweep re-enqueues it.
      console.error("hand-off enqueue failed; the sweep will start the job", { jobId: next, error: String(error) });
    }
  }

  /** Tells the job's watchers, if any, of its new state. */
  async #broadcast(after: JobRecord, event: WatchEvent): Promise<void> {
    if (this.ctx.getWebSockets().length === 0) return;
    broadcast(this.ctx, { event, data: await this.#view(after) }, isTerminal(after.status));
  }

  async #view(job: JobRecord): Promise<JobView> {
    return toJobView(job);
  }

  /**
   * An alarm is a write to the object's storage, billed as one. A finished
   * job's alarm is left to fire: it finds the job finished and does nothing,
   * one request ($0.15 per million) instead of a delete (a $1 per million write).
   */
  #setAlarm(at: number): Promise<void> {
    countOperation("do_storage_writes");
    return this.ctx.storage.setAlarm(at);
  }

  async #load(): Promise<JobRecord | null> {
    this.#job ??= await findJob(this.env.DB, this.ctx.id.name as string);
    return this.#job;
  }

  /** Runs `work` after every earlier call has finished: the order of changes is the order of calls. */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Whether `attempt` is the job's running attempt: only it may report progress or an outcome. */
function holdsAttempt(job: JobRecord | null, attempt: number): job is JobRecord {
  return job?.status === "running" && job.attempts === attempt;
}
