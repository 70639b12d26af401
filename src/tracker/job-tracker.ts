import { DurableObject } from "cloudflare:workers";
import type { BatchOutcome } from "../batches/model";
import { parseConfig } from "../config";
import type { Env } from "../env";
import { jobTypes } from "../job-types";
import {
  type AttemptOutcome,
  adoptStart,
  type BeginResult,
  type CancelResult,
  type Change,
  decideBegin,
  decideCancel,
  decideOnLiveness,
  decideOutcome,
  decideProgress,
  decideRepair,
  holdsAttempt,
  isOwnStart,
  mayExpire,
  type StartClaim,
  startMaybeUnseen,
  storesStartAtOnce,
  type Timer,
  timerForRunAt,
  unusedResultKey,
  withExpiry,
  workerLost,
} from "../jobs/lifecycle";
import type { JobRecord } from "../jobs/model";
import { isTerminal, wantsEvent } from "../jobs/model";
import { toJobView } from "../jobs/view";
import type { WatchEvent } from "../jobs/watch";
import { limits } from "../limits";
import { infraRetryDelaySeconds } from "../platform/backoff";
import { clock } from "../platform/clock";
import { countOperation, metered } from "../platform/metering";
import { serialRunner } from "../platform/serial";
import { answerClose, unlessUpgrade } from "../platform/sockets";
import { deleteObject } from "../store/blobs";
import { shardOf } from "../store/databases";
import { findJob, jobIsAt, renewLease, touchJob, updateJob, waitingStatuses } from "../store/jobs";
import {
  type EventForDelivery,
  insertWebhookEvent,
  insertWebhookEventIf,
  readSigningSecrets,
  secretsFound,
} from "../store/webhook-events";
import type { SlotGrant } from "../tenants/tenant-slots";
import { buildEvent, enqueueEvent, enqueueHeldEvents } from "../webhooks/events";
import { AttemptHearing } from "./attempt-hearing";
import { enqueueJob } from "./enqueue";
import { type Kept, keptOutcome } from "./kept-outcome";
import { LatestOncePer } from "./latest-once-per";
import { StoredValue } from "./stored-value";
import { acceptWatcher, broadcast } from "./watchers";

/**
 * What `complete` answers: whether the outcome counted (written, or kept
 * until D1 takes it), whether its result object is nobody's (the job was
 * canceled or the attempt superseded: the caller deletes it), and what it
 * leaves to its caller.
 */
export interface Completed extends LeftToCaller {
  accepted: boolean;
  discardResult: boolean;
}

/** What a change leaves to the caller that asked for it (`forCaller`): the callback's first attempt, the slot's release. */
interface LeftToCaller {
  callback: EventForDelivery | null;
  releaseSlot: boolean;
}

/**
 * The authority on one job (named by its id). Every change of the job goes
 * through here, one at a time, and is written to D1 guarded by `version`,
 * except an attempt's start, held in memory until the attempt has run
 * `limits.startStoredAfterMs` (its first heartbeat stores it) or is written
 * with its end; the tracker also owns the job's timers: long delays beyond what a queue can
 * hold, and re-enqueueing a lost message. What to change, arm and answer is
 * decided by jobs/lifecycle.ts; this object only loads, stores, times and
 * streams. An attempt starts only once the job holds one of its tenant's
 * running slots (tenants/tenant-slots.ts), given back whenever the job
 * leaves running or ends while it waits. A running attempt heartbeats it
 * (kept in memory); once the attempt's short lease has passed, the minute's
 * sweep asks whether it still does. No alarm per job: an alarm is a billed storage write, and a lost
 * consumer is rare — except for a job with a ttl, whose alarm at its
 * `expires_at` ends it if it has not started by then. An outcome D1 will not
 * take (down, overloaded) is kept in the object's storage and written on
 * the alarm, with growing delays, before anything else about the job.
 */
export class JobTracker extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
  }

  /** The job's shard: its id names it. */
  readonly #db = shardOf(this.env, this.ctx.id.name as string);
  /** The job as this tracker knows it: its row, or the running attempt whose start is not stored yet. */
  #job: JobRecord | null = null;
  /**
   * The row as D1 holds it while `#job` is an attempt's start not stored yet
   * (one version on from it), else null: the next write is made over it.
   */
  #unstoredFrom: JobRecord | null = null;
  /**
   * This instance made, resumed or took back a start of the job, and holds
   * every start since: none can have begun on an earlier instance unseen
   * (lifecycle.ts `startMaybeUnseen`), so a slot held since that start (a
   * retry's message before its release landed) is no reason to wait.
   * Cleared when it forgets a start it held.
   */
  #knowsStarts = false;
  /**
   * A write made while a start was held failed with D1's error: it may have
   * landed, its answer lost. The next call reads the row first (`#load`).
   */
  #heldWriteInDoubt = false;
  /**
   * The job's tenant once this instance knows it: the row is found by it
   * (store/jobs.ts `findJob`). Entry points take it from a caller that knows
   * it (`tenantId`: the job's; null when the caller does not know it); the
   * row, once read, tells it too, and an alarm's instance reads it where
   * the alarm was set (`#storedTenant`). Until then the row is looked for
   * under every tenant with jobs on the shard.
   */
  #tenantId: string | null = null;
  /** This instance set an alarm or ran one: the object holds storage even if no alarm is pending now. */
  #usedStorage = false;
  /** One change at a time: the order of changes is the order of calls. */
  readonly #serially = serialRunner();
  #hearing = new AttemptHearing(this.ctx.storage);
  #kept = keptOutcome(this.ctx.storage);
  /**
   * The job's tenant, kept beside any alarm this object sets: an alarm may
   * fire in a fresh instance, which would otherwise probe every tenant with
   * jobs on the shard for the job's row (`#find`).
   */
  #storedTenant = new StoredValue<string>(this.ctx.storage, "tenant");
  /** job.progress callbacks: at most one a second, carrying the latest progress. */
  #progressEvents = new LatestOncePer(1000, () => {
    this.#serially(() => this.#emitProgressEvent()).catch((error) => {
      console.error("job.progress event not written", { jobId: this.#job?.id, error: String(error) });
    });
  });

  /**
   * Starts an attempt if the job is due, nobody holds it and it wins one of
   * its tenant's running slots (else `throttled`: it waits in line and is
   * sent again when its turn comes). Duplicate or late messages get `skip`.
   * `tenantId`: the message's, or null when it carries none. `slotHeld`: the
   * caller already acquired the job's slot (a consumer does, for its whole
   * batch at once: tenants/batch-slots.ts); `slotHeldSince`: when the job
   * had been granted it, if it held it before (lifecycle.ts
   * `startMaybeUnseen`). `startToken`: the caller's name for this call,
   * random, kept with the start; the same call asked again (`askedBefore`:
   * its first answer lost) gets the attempt it started (lifecycle.ts
   * `decideBegin`, `resume`), which needs no slot request. The start is
   * held, not written (`#start`).
   */
  begin(
    tenantId: string | null = null,
    {
      slotHeld = false,
      slotHeldSince = null,
      startToken = null,
      askedBefore = false,
    }: { slotHeld?: boolean; slotHeldSince?: number | null; startToken?: string | null; askedBefore?: boolean } = {},
  ): Promise<BeginResult> {
    return this.#serially(async () => {
      const id = this.ctx.id.name as string;
      this.#told(tenantId);
      // A tracker that holds no state yet (a fresh message for a fresh job, the common case) and knows the
      // tenant takes the slot before it reads the job. Not for a call asked again: its start may be held, and
      // then the job is read before any slot request.
      const fastPath = this.#job === null && tenantId !== null && !askedBefore;
      let heldSince = slotHeld ? slotHeldSince : null;
      if (fastPath && !slotHeld) {
        const slot = await this.#acquireSlot(tenantId, id);
        if (!slot) return { kind: "skip", reason: "throttled" };
        heldSince = slot.heldSince;
      }
      const readAfresh = this.#job === null;
      // A fresh message's job waits (two probes of its key, not nine), and its slot, granted now, was held by no
      // attempt, so none has an outcome kept here (a kept outcome keeps its slot until written): no storage read.
      if (fastPath && heldSince === null) this.#job = await findJob(this.#db, tenantId, id, waitingStatuses);
      const job = await this.#load();
      const now = clock.now();
      // The caller's own start is not judged: its handler has not run yet, however late the caller asks again.
      if (job?.status === "running" && !isOwnStart(job, startToken)) {
        await this.#checkAttempt(job, now, { mayWait: true });
      }
      const decision = decideBegin(this.#job, now, startToken);
      if (decision.kind === "resume") {
        const resumed = this.#job as JobRecord;
        // Heard from at last: a wait the sweep may have stored for this silent attempt ends here.
        await this.#hearing.heard(resumed.attempts, now);
        this.#knowsStarts = true;
        // Watchers heard of the start unless its write failed here (this object then forgot it) or this object is new.
        if (readAfresh) await this.#broadcast(resumed, "status");
        return { kind: "run", job: resumed, attempt: resumed.attempts };
      }
      if (decision.kind === "expire") {
        // Not started by its expires_at: it ends here (its slot or place in line is given back by the commit).
        await this.#commit(decision.change);
        return { kind: "skip", reason: "expired" };
      }
      if (decision.kind === "skip") {
        // A slot taken for this message (above, by this call's first ask, or by the caller) is not this job's to
        // keep unless it runs: a late or repeated message, or a finished job's turn. A running job's acquire only
        // confirmed its slot.
        if ((fastPath || slotHeld || askedBefore) && tenantId !== null && this.#job?.status !== "running") {
          await this.#releaseSlot(tenantId, id);
        }
        return decision;
      }
      // A call asked again acquires afresh: the slot its caller held may have been given away meanwhile
      // (its start reclaimed as lost); for a slot still the job's, the acquire only confirms it.
      if (!fastPath && (!slotHeld || askedBefore)) {
        const slot = await this.#acquireSlot(decision.change.next.tenantId, id);
        if (!slot) return { kind: "skip", reason: "throttled" };
        // A caller whose batch acquired the slot said whose it was then; acquired again, it is this caller's own.
        if (!slotHeld) heldSince = slot.heldSince;
      }
      // Its slot held already, recently: an attempt may run whose start a reset tracker never stored. It keeps the slot.
      if (!this.#knowsStarts && startMaybeUnseen(heldSince, now)) return { kind: "skip", reason: "running" };
      // A write that fails keeps the slot: the message is retried (and finds it held) or the slots' audit frees it.
      await this.#start(decision.change);
      const started = this.#job as JobRecord;
      this.#began(started.attempts, now);
      this.#kept.none(); // begun here: no outcome can be kept for it
      return { kind: "run", job: started, attempt: started.attempts };
    });
  }

  /**
   * Records progress of the running attempt (storing its start with it, if
   * held). `stop` tells the handler to abort (canceled or superseded).
   * `tenantId`: see `#tenantId`; `claim`: see `#holding`.
   */
  progress(
    attempt: number,
    percent: number,
    message: string | null,
    tenantId: string | null = null,
    claim: StartClaim | null = null,
  ): Promise<{ stop: boolean }> {
    this.#told(tenantId);
    return this.#serially(async () => {
      const job = await this.#holding(attempt, claim);
      if (!job) return { stop: true };
      const now = clock.now();
      await this.#hearing.heard(attempt, now);
      const { change, notify } = decideProgress(job, percent, message, now);
      await this.#commit(change);
      if (notify) this.#progressEvents.request();
      return { stop: false };
    });
  }

  /**
   * The running attempt says it is alive (`limits.startStoredAfterMs` after
   * it began, then every `limits.heartbeatIntervalSeconds`, from attempts
   * that run that long). Kept in memory: no write, but for the first one,
   * which stores the attempt's start if it is held. `stop` as for `progress`.
   * `tenantId`: see `#tenantId`; `claim`: see `#holding`.
   */
  heartbeat(
    attempt: number,
    tenantId: string | null = null,
    claim: StartClaim | null = null,
  ): Promise<{ stop: boolean }> {
    this.#told(tenantId);
    return this.#serially(async () => {
      if (!(await this.#holding(attempt, claim))) return { stop: true };
      await this.#hearing.heard(attempt, clock.now());
      if (this.#unstoredFrom !== null) await this.#storeStart();
      return { stop: false };
    });
  }

  /**
   * Records how an attempt ended. Ignored (`accepted: false`) unless that
   * attempt still holds the job. Two things are left to the caller, a job
   * consumer, which does them for many jobs at once: the callback event the
   * change causes, if any, is stored and handed back, not queued (the caller
   * makes its first attempt: webhooks/first-attempt.ts), and the job's
   * running slot is not released but `releaseSlot` says it is to be
   * (tenants/batch-slots.ts). When D1 cannot read the job or take the
   * write, the outcome is kept and written later (`accepted`, nothing left
   * to the caller; the write checks then that the attempt still holds the
   * job); it throws only when the tracker cannot keep it either. An attempt
   * whose start is held is written with its end, in one row.
   * `tenantId`: see `#tenantId`; `claim`: see `#holding`.
   */
  complete(
    attempt: number,
    outcome: AttemptOutcome,
    tenantId: string | null = null,
    claim: StartClaim | null = null,
  ): Promise<Completed> {
    this.#told(tenantId);
    return this.#serially(async () => {
      try {
        const job = await this.#holding(attempt, claim);
        if (!job) {
          const discardResult = unusedResultKey(outcome, this.#job) !== null;
          return { accepted: false, discardResult, callback: null, releaseSlot: false };
        }
        const left = await this.#finishAttempt(job, outcome, clock.now(), { forCaller: true });
        return { accepted: true, discardResult: false, ...left };
      } catch (error) {
        // Written, and a later step failed: as before, the caller hears of it.
        if (this.#job !== null && !holdsAttempt(this.#job, attempt, claim?.startToken)) throw error;
        // Reported again while kept (its first answer lost): kept already, its backoff goes on.
        if ((await this.#kept.read())?.attempt !== attempt) {
          await this.#keepOutcome({ attempt, outcome, failures: 1, claim }, error);
        }
        return { accepted: true, discardResult: false, callback: null, releaseSlot: false };
      }
    });
  }

  /**
   * Whether the job runs, as its tracker knows it (after any change in
   * progress). Reads only: the tenant's slots ask it about a slot held long,
   * whose release may have been lost. `tenantId`: see `#tenantId`.
   */
  isRunning(tenantId: string | null = null): Promise<boolean> {
    this.#told(tenantId);
    return this.#serially(async () => (await this.#load())?.status === "running");
  }

  /** Cancels a job that has not finished. `tenantId`: see `#tenantId`. */
  cancel(tenantId: string | null = null): Promise<CancelResult> {
    this.#told(tenantId);
    return this.#serially(async () => {
      const job = await this.#load();
      const change = job && decideCancel(job, clock.now());
      if (!change) return { ok: false, job };
      await this.#commit(change);
      return { ok: true, job: this.#job as JobRecord };
    });
  }

  /**
   * Takes charge of a job whose delay is longer than a queue message can
   * wait (and of its expiry, if any). `tenantId`: see `#tenantId`.
   */
  schedule(tenantId: string | null = null): Promise<void> {
    this.#told(tenantId);
    return this.#serially(async () => {
      const job = await this.#load();
      if (job && !isTerminal(job.status)) await this.#arm(job, withExpiry(job, timerForRunAt(job, clock.now())));
    });
  }

  /**
   * Arms the alarm at `expiresAt` (Unix ms) for a job with a ttl whose queue
   * message was sent at submit: if it has not started by then, the alarm ends
   * it `expired` — also while it waits for one of its tenant's running slots
   * or behind a queue backlog, where nothing else would look at it. Reads no
   * D1; an alarm already due earlier is kept (it re-arms with the expiry).
   * `tenantId`: the job's (see `#tenantId`).
   */
  watchExpiry(expiresAt: number, tenantId: string | null = null): Promise<void> {
    this.#told(tenantId);
    return this.#serially(async () => {
      if (this.#job !== null && !mayExpire(this.#job)) return; // started (or finished) already
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null || alarm > expiresAt) await this.#setAlarm(expiresAt);
    });
  }

  /**
   * A watcher joins (Upgrade: websocket). Accepted through the hibernation
   * API, so an idle watcher does not keep this object awake; it gets the
   * current state at once and every change after it.
   */
  override fetch(request: Request): Promise<Response> {
    const refused = unlessUpgrade(request);
    if (refused) return Promise.resolve(refused);
    this.#told(new URL(request.url).searchParams.get("tenant"));
    return this.#serially(async () => {
      const job = await this.#load();
      const first = job ? { event: "status" as const, data: toJobView(job) } : null;
      return acceptWatcher(this.ctx, first, job !== null && isTerminal(job.status));
    });
  }

  /** Watchers only listen; whatever they send is ignored. */
  override webSocketMessage(): void {}

  override webSocketClose(socket: WebSocket, code: number): void {
    answerClose(socket, code);
  }

  /**
   * Called by the sweep for a job that looks stranded: re-enqueues it, or asks
   * whether its running attempt still lives and reclaims it if not.
   * `tenantId`: see `#tenantId`.
   */
  recover(tenantId: string | null = null): Promise<void> {
    this.#told(tenantId);
    return this.#serially(async () => {
      // Trust D1, not a cache that may predate a restart; but a start held here is in no other store.
      if (this.#unstoredFrom === null) this.#forget();
      const job = await this.#load();
      if (job) await this.#repair(job, clock.now(), { mayWait: true });
    });
  }

  /**
   * Hands a long-delayed job to the queue, re-enqueues a lost message, or ends
   * a wait to hear from a running attempt. It never starts such a wait (the
   * sweep does): an alarm for a running job may be an earlier one, and
   * waiting again each time would only cost writes. A job finished or deleted
   * meanwhile needs it no more: its storage is freed. A kept outcome is
   * written first (`#load`).
   */
  override alarm(): Promise<void> {
    return this.#serially(async () => {
      this.#usedStorage = true;
      let job: JobRecord | null;
      let wroteKept: boolean;
      try {
        wroteKept = await this.#writeKept();
        job = await this.#load();
      } catch (error) {
        if (await this.#kept.read()) return; // still kept: the alarm is armed again for it
        throw error;
      }
      if (!job || isTerminal(job.status)) return this.#freeStorage();
      // A kept outcome written here armed the job's next timer itself.
      if (!wroteKept) await this.#repair(job, clock.now(), { mayWait: false });
    });
  }

  async #emitProgressEvent(): Promise<void> {
    // Read afresh if a failed write made this object forget the job (the write may have landed).
    const job = await this.#load();
    // A finished job's terminal event already carries its last progress.
    if (job?.status !== "running") return;
    const event = buildEvent(job.tenantId, job.callbackUrl as string, "job.progress", toJobView(job), clock.now());
    await insertWebhookEvent(this.#db, event).run();
    await enqueueEvent(this.env, event);
  }

  async #repair(job: JobRecord, now: number, options: { mayWait: boolean }): Promise<void> {
    const repair = decideRepair(job, now);
    if (repair.kind === "check_attempt") return this.#checkAttempt(job, now, options);
    if (repair.kind === "expire") {
      await this.#commit(repair.change);
      return;
    }
    // A lost message (local restart, failed send): the job is marked looked after, so the sweep moves on.
    if (repair.kind === "reenqueue")
      return this.#arm(job, repair.timer, () => touchJob(this.#db, job, job.version, now).run());
    if (repair.kind === "arm") return this.#arm(job, repair.timer);
  }

  /**
   * Sets the timer's alarm, then (after `beforeSend`, if given) sends its
   * message: the alarm first, so that if the send fails the alarm still finds the job.
   */
  async #arm(
    job: Pick<JobRecord, "id" | "tenantId">,
    timer: Timer,
    beforeSend?: () => Promise<unknown>,
  ): Promise<void> {
    await this.#setAlarm(timer.alarmAt);
    await beforeSend?.();
    if (timer.enqueueDelaySeconds !== null) await enqueueJob(this.env, job, timer.enqueueDelaySeconds);
  }

  /**
   * Reclaims the running attempt if it is lost (its consumer died). A tracker
   * that has not heard from it may, with `mayWait`, wait one silence for a
   * heartbeat first, on the alarm.
   */
  async #checkAttempt(job: JobRecord, now: number, { mayWait }: { mayWait: boolean }): Promise<void> {
    const verdict = decideOnLiveness(job, await this.#hearing.judge(job, now, { mayWait }), now);
    if (verdict.kind === "wait" && (await this.ctx.storage.getAlarm()) !== verdict.alarmAt) {
      await this.#setAlarm(verdict.alarmAt);
    }
    if (verdict.kind === "renew") {
      if (this.#unstoredFrom !== null) await this.#storeStart(verdict.renewLeaseUntil);
      else await renewLease(this.#db, job, job.version, verdict.renewLeaseUntil).run();
    }
    if (verdict.kind !== "lost") return;
    await this.#finishAttempt(job, workerLost, now);
    // A finished job's storage went with it (#freeStorage); a retry still drops the ended wait.
    if (!isTerminal((this.#job as JobRecord).status)) await this.#hearing.forget();
  }

  /** Commits the attempt's outcome; with `forCaller`, leaves the callback and the slot to the caller (see `#commit`). */
  async #finishAttempt(
    job: JobRecord,
    outcome: AttemptOutcome,
    now: number,
    options: { forCaller?: boolean } = {},
  ): Promise<LeftToCaller> {
    const retryDelay = { baseSeconds: this.#retryBaseDelay(job), random: Math.random() };
    const { change, timer } = decideOutcome(job, outcome, now, retryDelay);
    const left = await this.#commit(change, options);
    if (timer) await this.#arm(job, timer);
    return left;
  }

  #retryBaseDelay(job: JobRecord): number {
    return (
      parseConfig(this.env).retryBaseDelaySeconds ??
      jobTypes.get(job.type)?.defaults.retryBaseDelaySeconds ??
      limits.retryBaseDelaySeconds
    );
  }

  /**
   * Writes the change over the version this tracker holds, with the callback
   * event it causes in the same transaction, then tells watchers, sends the
   * event and gives back the job's running slot if the change releases it; a
   * finished job's storage is then freed. With `forCaller`, the event is not
   * sent but answered with its tenant's secrets (read in the same round trip)
   * for the caller to deliver, and the slot is not released but answered as
   * the caller's to release.
   */
  async #commit(change: Change, options: { forCaller?: boolean } = {}): Promise<LeftToCaller> {
    const current = this.#job as JobRecord;
    const now = clock.now();
    const changed: JobRecord = { ...change.next, version: current.version + 1, updatedAt: now };
    const { event, releasesSlot } = change;
    const outbox =
      event && wantsEvent(changed, event)
        ? buildEvent(changed.tenantId, changed.callbackUrl as string, event, toJobView(changed), now)
        : null;
    // The caller makes a terminal event's first attempt at once: until it is recorded, the job's row holds the
    // event (store/held-events.ts), which then needs no row of its own.
    const held = outbox !== null && options.forCaller === true && outbox.payloadFromJob;
    const job = held
      ? { ...changed, heldEvent: { id: outbox.id, createdAt: outbox.createdAt, delivered: null } }
      : changed;
    const stored = this.#unstoredFrom ?? current;
    const statements = [updateJob(this.#db, job, stored)];
    if (outbox && !held) statements.push(insertWebhookEventIf(this.#db, outbox, jobIsAt(job, job.version)));
    const secretsAt =
      outbox !== null && options.forCaller === true
        ? statements.push(readSigningSecrets(this.#db, job.tenantId)) - 1
        : -1;
    const results = await this.#write(job, statements);
    await this.#broadcast(job, current.status === job.status ? "progress" : "status");
    const secrets = secretsAt === -1 ? null : secretsFound(results[secretsAt] as D1Result);
    const callback = outbox && secrets ? { event: outbox, secrets, held } : null;
    if (outbox && !callback)
      await (held ? enqueueHeldEvents(this.env, this.#db, [outbox]) : enqueueEvent(this.env, outbox));
    const releaseSlot = releasesSlot && options.forCaller === true;
    if (releasesSlot && !releaseSlot) await this.#releaseSlot(job.tenantId, job.id);
    if (isTerminal(job.status)) await this.#ended(job);
    return { callback, releaseSlot };
  }

  /**
   * Writes `job` with `statements` (the first writes the job's row) and holds
   * it as stored. Throws D1's error, or when the row was not at the version
   * this tracker holds. A D1 error makes this tracker forget the job (the
   * write may have landed, its answer lost) and read it afresh, but for a
   * start it holds, which is in no other store: kept, so a duplicate message
   * still finds the attempt running however long D1 refuses the start's
   * write, and the next call reads the row before anything else to find
   * whether the write landed (`#load`). A row not at the version held is
   * forgotten either way.
   */
  async #write(job: JobRecord, statements: D1PreparedStatement[]): Promise<D1Result[]> {
    const results = await this.#db.batch(statements).catch((error: unknown) => {
      if (this.#unstoredFrom === null) this.#forget();
      else this.#heldWriteInDoubt = true;
      throw error;
    });
    if (results[0]?.meta.changes !== 1) {
      // Only this tracker writes a job after it is created, so this means the row was deleted.
      this.#forget();
      throw new Error(`job ${job.id} changed outside its tracker`);
    }
    this.#job = job;
    this.#unstoredFrom = null;
    return results;
  }

  /**
   * Starts the attempt of `change`: written now if its job may still expire
   * (lifecycle.ts `storesStartAtOnce`), else held here (one version on from
   * the row) until the attempt's first heartbeat (`#storeStart`), or written
   * with the attempt's end, which then writes one row instead of two.
   */
  async #start(change: Change): Promise<void> {
    const current = this.#job as JobRecord;
    if (storesStartAtOnce(current)) {
      await this.#commit(change);
      return;
    }
    this.#holdStart(change);
    // Watchers hear of the start from the tracker at once; the job's GET and lists from D1 once it is stored.
    await this.#broadcast(this.#job as JobRecord, "status");
  }

  /** Holds `change`, an attempt's start, without writing it (`#start`, `#holding`). */
  #holdStart(change: Change): void {
    const current = this.#job as JobRecord;
    this.#unstoredFrom ??= current;
    this.#job = { ...change.next, version: current.version + 1, updatedAt: clock.now() };
  }

  /**
   * Writes the start held here (with its lease renewed to `leaseUntil`, Unix
   * ms, when given). Its watchers heard of it when it was held.
   */
  async #storeStart(leaseUntil?: number): Promise<void> {
    const held = this.#job as JobRecord;
    const started = leaseUntil === undefined ? held : { ...held, leaseExpiresAt: leaseUntil };
    await this.#write(started, [updateJob(this.#db, started, this.#unstoredFrom as JobRecord)]);
  }

  /**
   * The job if `attempt` holds it, as this tracker knows it; or taken back
   * from the attempt's `claim` (its start as its consumer was told it) when
   * the job's row shows it waiting with one attempt fewer: the attempt began
   * on this tracker, which reset (a deploy) before storing the start
   * (lifecycle.ts `adoptStart`). Null when the attempt does not hold the job.
   */
  async #holding(attempt: number, claim: StartClaim | null): Promise<JobRecord | null> {
    const job = await this.#load();
    if (holdsAttempt(job, attempt, claim?.startToken)) return job;
    const adopted = adoptStart(job, attempt, claim);
    if (!adopted) return null;
    this.#holdStart(adopted);
    this.#began(attempt, clock.now());
    return this.#job;
  }

  /** Forgets the job: the next call reads it afresh (and a start held here is as unseen as an earlier instance's). */
  #forget(): void {
    if (this.#unstoredFrom !== null) this.#knowsStarts = false;
    this.#job = null;
    this.#unstoredFrom = null;
    this.#heldWriteInDoubt = false;
  }

  /**
   * What every terminal path (complete, fail, cancel, a lost attempt, an
   * expiry) does once the terminal job is stored: a job of a batch tells its
   * batch how it ended, then the job's storage is freed. A plain job makes no
   * request here. The job's change stands whatever the report does: a
   * report lost on the way (an error, or this object dying first) is made
   * good by the sweep's backstop (batches/backstop.ts), and a repeated one
   * changes nothing (batches/tracker.ts counts each job once).
   */
  async #ended(job: JobRecord): Promise<void> {
    if (job.batchId) {
      const status = job.status as BatchOutcome;
      await this.env.BATCH_TRACKER.getByName(job.batchId)
        .report(job.id, status)
        .catch((error: unknown) => {
          console.error("batch not told of its job's end; the sweep's backstop will count it", {
            jobId: job.id,
            batchId: job.batchId,
            error: String(error),
          });
        });
    }
    await this.#freeStorage();
  }

  /** The job's slot if it holds (or was just granted) one of its tenant's running slots; if not (null), it waits in line. */
  async #acquireSlot(tenantId: string, jobId: string): Promise<SlotGrant | null> {
    return (await this.#slots(tenantId).acquireGrants([jobId]))[0] ?? null;
  }

  /** The running slots of the job's tenant. */
  #slots(tenantId: string) {
    return this.env.TENANT_SLOTS.getByName(tenantId);
  }

  /**
   * Gives back the job's slot or place in line. The job's change is stored
   * already, so a failure is only logged: the slot is then held by a job that
   * no longer runs, which the slots' audit finds and frees.
   */
  async #releaseSlot(tenantId: string, jobId: string): Promise<void> {
    try {
      await this.#slots(tenantId).release([jobId]);
    } catch (error) {
      console.error("slot release failed; the tenant's slot audit will free it", { jobId, error: String(error) });
    }
  }

  /** Tells the job's watchers, if any, of its new state. */
  async #broadcast(after: JobRecord, event: WatchEvent): Promise<void> {
    if (this.ctx.getWebSockets().length === 0) return;
    broadcast(this.ctx, { event, data: toJobView(after) }, isTerminal(after.status));
  }

  /**
   * An alarm is a write to the object's storage, billed as one; so is the
   * job's tenant kept beside it, once (`#storedTenant`).
   */
  async #setAlarm(at: number): Promise<void> {
    countOperation("do_storage_writes");
    this.#usedStorage = true;
    await this.ctx.storage.setAlarm(at);
    const tenantId = this.#job?.tenantId ?? this.#tenantId;
    if (tenantId !== null && (await this.#storedTenant.read()) !== tenantId) await this.#storedTenant.put(tenantId);
  }

  /**
   * A finished job needs no timer, no stored wait and no kept tenant: if
   * this object holds any (or ran an alarm, whose record stays until
   * deleteAll), one deleteAll() frees it all, the pending alarm included
   * (compatibility date ≥ 2026-02-24). Most jobs never store anything and
   * pay nothing here (reads only).
   */
  async #freeStorage(): Promise<void> {
    const holds =
      this.#usedStorage ||
      (await this.ctx.storage.getAlarm()) !== null ||
      (await this.#hearing.isWaiting()) ||
      (await this.#kept.read()) !== null ||
      (await this.#storedTenant.read()) !== null;
    if (!holds) return;
    countOperation("do_storage_writes");
    await this.ctx.storage.deleteAll();
    this.#hearing.cleared();
    this.#kept.none();
    this.#storedTenant.none();
    this.#usedStorage = false;
  }

  /**
   * The job, with any outcome kept for its running attempt written first
   * (looked for only where there can be one: not yet loaded, or running);
   * throws D1's error while it refuses that write.
   */
  async #load(): Promise<JobRecord | null> {
    if (this.#heldWriteInDoubt) await this.#settleHeldWrite();
    if (this.#job === null || this.#job.status === "running") await this.#writeKept();
    this.#job ??= await this.#find();
    return this.#job;
  }

  /**
   * After a write that failed while a start was held: the row still at the
   * version held means nothing landed, and the start stays held; a row moved
   * on means the write landed (its answer lost), and the row is the job now.
   * Throws D1's error while it cannot read (still in doubt).
   */
  async #settleHeldWrite(): Promise<void> {
    const row = await this.#find();
    this.#heldWriteInDoubt = false;
    if (row?.version === this.#unstoredFrom?.version) return;
    this.#job = row;
    this.#unstoredFrom = null;
  }

  /** A caller told the job's tenant (null: it did not know it); the first told, or the row, is kept. */
  #told(tenantId: string | null): void {
    this.#tenantId ??= tenantId;
  }

  /**
   * The job's row as D1 holds it, found by its key with the tenant once this
   * instance knows it (from a caller, or kept beside an alarm); until then
   * every tenant with jobs on the shard is probed.
   */
  async #find(): Promise<JobRecord | null> {
    if (this.#tenantId === null) this.#told(await this.#storedTenant.read());
    const job = await findJob(this.#db, this.#tenantId, this.ctx.id.name as string);
    if (job) this.#tenantId = job.tenantId;
    return job;
  }

  /** An attempt began here, or was taken back here, at `at` (ms): nothing was heard from it before. */
  #began(attempt: number, at: number): void {
    this.#hearing.began(attempt, at);
    this.#knowsStarts = true;
  }

  /**
   * Keeps an outcome D1 did not take (`error`, its `failures`th refusal) and
   * arms the alarm to write it after back-pressure's growing delay.
   */
  async #keepOutcome(kept: Kept, error: unknown): Promise<void> {
    const delaySeconds = infraRetryDelaySeconds(kept.failures);
    console.warn("outcome kept until D1 takes it", {
      jobId: this.ctx.id.name,
      attempt: kept.attempt,
      failures: kept.failures,
      delaySeconds,
      error: String(error),
    });
    await this.#kept.put(kept);
    await this.#setAlarm(clock.now() + delaySeconds * 1000);
  }

  /**
   * Writes the outcome kept for the running attempt, if any; whether there
   * was one. The row is read afresh: the write that failed may have landed
   * (its answer lost), and then only what follows a change is left to do.
   * While D1 still cannot read or take it, the outcome stays kept, the alarm
   * is armed again, and D1's error is thrown (the API answers it 503).
   */
  async #writeKept(): Promise<boolean> {
    const kept = await this.#kept.read();
    if (!kept) return false;
    try {
      const job = await this.#find();
      this.#forget();
      this.#job = job;
      // An attempt whose start was never stored is taken back from its claim, kept with the outcome.
      const adopted = adoptStart(job, kept.attempt, kept.claim);
      if (adopted) this.#holdStart(adopted);
      const held = this.#job;
      if (holdsAttempt(held, kept.attempt, kept.claim?.startToken)) {
        await this.#finishAttempt(held, kept.outcome, clock.now());
      } else {
        // The attempt no longer holds the job: its write landed after all, or the job moved on
        // (gone, reclaimed, a later attempt), and then its result is nobody's.
        if (job?.attempts === kept.attempt) await this.#followLandedWrite(job);
        const unused = unusedResultKey(kept.outcome, job);
        if (unused !== null) await deleteObject(this.env.BLOBS, unused);
      }
    } catch (error) {
      // Written, and a later step failed: the job has moved on, so the kept outcome is no longer its.
      if (this.#job !== null && !holdsAttempt(this.#job, kept.attempt, kept.claim?.startToken)) throw error;
      await this.#keepOutcome({ ...kept, failures: kept.failures + 1 }, error);
      throw error;
    }
    // A finished job's storage went with it (#freeStorage); a retry's keeps its timer's alarm.
    await this.#kept.delete();
    return true;
  }

  /**
   * What follows a change whose write landed though its caller heard a
   * failure: watchers are told, and a finished job tells its batch and frees
   * its storage; a retry gets its timer. Its callback event is stored, and
   * the sweep sends it (lost-message grace); its slot's release is left to
   * the slots' audit.
   */
  async #followLandedWrite(job: JobRecord): Promise<void> {
    await this.#broadcast(job, "status");
    if (isTerminal(job.status)) return this.#ended(job);
    await this.#repair(job, clock.now(), { mayWait: false });
  }
}
