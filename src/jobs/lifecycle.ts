import { limits } from "../limits";
import type { Liveness } from "./liveness";
import type { CallbackEventType, JobError, JobRecord } from "./model";
import { isTerminal, wantsEvent } from "./model";
import { nextRetryDelaySeconds } from "./retry-policy";
import { canTransition } from "./transitions";

/**
 * The job lifecycle's rules, decided apart from I/O: each function takes the
 * job as its tracker holds it, the time (Unix ms) and what happened, and
 * returns what the tracker is to write, arm and answer. Nothing here reads or
 * writes storage; the tracker (tracker/job-tracker.ts) does that.
 */

/**
 * How an attempt ended, as its consumer reports it: its result, its failure,
 * or an interruption.
 */
export type AttemptOutcome = AttemptSuccess | AttemptFailure | AttemptInterruption;

/**
 * The attempt's result, inline or in R2. `logged`: whether the job may have
 * a log object, this attempt's (jobs/job-log.ts) or one an unseen earlier
 * run of the same attempt left (jobs/run.ts `mayFollowUnseenRun`); absent,
 * from a consumer older than the field, counts as true.
 */
export interface AttemptSuccess {
  ok: true;
  resultJson: string | null;
  resultKey: string | null;
  logged?: boolean;
}

/**
 * The attempt failed. With `retryAfterSeconds` (the handler's `JobError`) it
 * is retried after that many seconds instead of the backoff.
 */
export interface AttemptFailure {
  ok: false;
  error: JobError;
  retryable: boolean;
  retryAfterSeconds?: number;
}

/**
 * The attempt could not run, or its result could not be stored, because a
 * store it needed (R2) stayed unavailable: not the job's failure. It is
 * given back, not counted, and the job runs again later (`decideOutcome`).
 */
export interface AttemptInterruption {
  ok: false;
  interrupted: true;
  error: JobError;
}

/** What the consumer is told when it asks to start an attempt. */
export type BeginResult =
  | { kind: "run"; job: JobRecord; attempt: number }
  | { kind: "skip"; reason: "finished" | "running" | "not_due" | "missing" | "throttled" | "expired" };

export type CancelResult = { ok: true; job: JobRecord } | { ok: false; job: JobRecord | null };

/** The job's fields a change sets; the tracker adds `version` and `updatedAt` when it writes. */
export type JobState = Omit<JobRecord, "version" | "updatedAt">;

/**
 * One change of the job: its next state, the callback event it causes (written
 * only if the job asked for it), and whether the job gives back what it holds
 * of the tenant's running slots: the slot it ran in (leaving running), or its
 * place in line or reserved slot (ending while it waits).
 */
export interface Change {
  next: JobState;
  event: CallbackEventType | null;
  releasesSlot: boolean;
}

/**
 * The job's timer: an alarm at `alarmAt` (ms) and, unless null, its queue
 * message sent now to arrive after `enqueueDelaySeconds`. The alarm comes
 * first so a failed send is still found.
 */
export interface Timer {
  alarmAt: number;
  enqueueDelaySeconds: number | null;
}

/** How a failed attempt's retry is delayed: the base (a job type's, or the deployment's) and a random in [0, 1). */
export interface RetryDelay {
  baseSeconds: number;
  random: number;
}

/** A queue message may arrive this early (delays are whole seconds) and still count as due. */
export const EARLY_TOLERANCE_MS = 2_000;

/**
 * Whether `attempt` is the job's running attempt: only it may report
 * progress or an outcome. With `startToken` (the caller's, from its begin),
 * the attempt must also be the one that call started, when the job names a
 * token: two consumers each told they started attempt n of the job by
 * different trackers (one reset before storing its start) are told apart.
 */
export function holdsAttempt(job: JobRecord | null, attempt: number, startToken?: string | null): job is JobRecord {
  if (job?.status !== "running" || job.attempts !== attempt) return false;
  return startToken == null || job.startToken == null || job.startToken === startToken;
}

/**
 * What an attempt's consumer knows of its start, sent with each of its
 * reports: a tracker that has forgotten an attempt whose start it had not
 * stored (reset by a deploy within the attempt's first second) takes the
 * attempt back from it (`adoptStart`). `startedAt`: Unix ms.
 */
export interface StartClaim {
  startToken: string | null;
  startedAt: number;
}

/**
 * Whether an attempt's start is written to D1 as it begins, rather than
 * once it has run `limits.startStoredAfterMs` (or when it ends, for an
 * attempt shorter than that, which then writes one row less): only the
 * first attempt of a job that may still expire. Its tracker's alarm at
 * `expires_at` may fire in a fresh instance, which must find the job
 * started, since a job that started is never expired (`mayExpire`).
 */
export function storesStartAtOnce(job: JobRecord): boolean {
  return mayExpire(job);
}

/**
 * Whether a job whose tracker knows no running attempt, and has made or
 * taken back no start itself, may still have one: its slot was granted
 * `heldSince` (Unix ms; null: granted now) less than an attempt's lease
 * ago, so an attempt holding it may have begun on a tracker that was then
 * reset before it stored the start (stored within
 * `limits.startStoredAfterMs` of the begin, else the attempt's heartbeats go
 * unheard and it is as lost). Such a begin is skipped as `running`: the
 * attempt, if it lives, reports to the tracker and is taken back
 * (`adoptStart`); if not, the sweep sends the job again after its grace,
 * when the slot is no longer that recent.
 */
export function startMaybeUnseen(heldSince: number | null, now: number): boolean {
  return heldSince !== null && now - heldSince < limits.attemptLeaseSeconds * 1000;
}

/**
 * The job running `attempt` as its consumer claims it began (`claim`), for
 * a tracker that finds the job waiting with one attempt fewer: the start
 * was never stored (its tracker reset first), so the attempt is the job's.
 * Null when the job stands otherwise (finished, canceled, another attempt
 * stored): the attempt does not hold the job.
 */
export function adoptStart(job: JobRecord | null, attempt: number, claim: StartClaim | null): Change | null {
  if (!job || !claim || !showsUnstoredStart(job, attempt)) return null;
  return started(job, claim);
}

/**
 * Whether the job (its row, or a view of it) stands as a tracker reset
 * before it stored `attempt`'s start shows it: waiting, with one attempt
 * fewer. Nothing else shows that: a cancel ends the job, and a reclaimed,
 * retried or given-back attempt keeps its count.
 */
export const showsUnstoredStart = (job: Pick<JobRecord, "status" | "attempts">, attempt: number): boolean =>
  isWaiting(job) && job.attempts === attempt - 1;

const isWaiting = (job: Pick<JobRecord, "status">) => job.status === "scheduled" || job.status === "queued";

/** The start of the job's next attempt at `startedAt` (Unix ms), named `startToken`. */
function started(job: JobRecord, { startedAt, startToken }: StartClaim): Change {
  const leaseExpiresAt = startedAt + limits.attemptLeaseSeconds * 1000;
  return change(job, { ...job, status: "running", attempts: job.attempts + 1, startedAt, leaseExpiresAt, startToken });
}

/**
 * The change from `job` to `next`. Throws an Error if the status change is not
 * allowed (transitions.ts): a bug in the caller, never the user's input.
 */
export function change(job: JobRecord, next: JobState, event: CallbackEventType | null = null): Change {
  if (job.status !== next.status && !canTransition(job.status, next.status)) {
    throw new Error(`illegal transition ${job.status} → ${next.status} for ${job.id}`);
  }
  const releasesSlot = job.status !== next.status && (job.status === "running" || isTerminal(next.status));
  return { next, event, releasesSlot };
}

/**
 * A begin request for a job as it stands (null: no such job), from a caller
 * that names its call by `startToken` (null: it names none). A running job
 * has already had its attempt judged, unless it is the caller's own
 * (`isOwnStart`). `start`: the tracker is to move it to running, stamped
 * with the token, once it holds one of the tenant's running slots (else it
 * waits: `throttled`). `resume`: the running attempt is the one this very
 * call asked for before, whose start was stored but whose answer never
 * reached the caller (the tracker reset just after the write, or D1's answer
 * lost); nobody runs it, so it is the caller's. `expire`: the job passed its
 * `expires_at` before its first attempt, so it ends instead of starting,
 * even if its alarm has not fired yet.
 */
export function decideBegin(
  job: JobRecord | null,
  now: number,
  startToken: string | null = null,
):
  | Extract<BeginResult, { kind: "skip" }>
  | { kind: "start"; change: Change }
  | { kind: "resume" }
  | { kind: "expire"; change: Change } {
  if (!job) return { kind: "skip", reason: "missing" };
  if (isTerminal(job.status)) return { kind: "skip", reason: "finished" };
  if (isOwnStart(job, startToken)) return { kind: "resume" };
  if (job.status === "running") return { kind: "skip", reason: "running" };
  if (hasExpired(job, now)) return { kind: "expire", change: decideExpiry(job, now) };
  if (job.runAt > now + EARLY_TOLERANCE_MS) return { kind: "skip", reason: "not_due" };
  return { kind: "start", change: started(job, { startedAt: now, startToken }) };
}

/**
 * Whether the job's running attempt is the one a begin call named
 * `startToken` started: the token is the caller's own, random, and used for
 * one call and its retry only, so no other caller can hold that attempt.
 */
export function isOwnStart(job: JobRecord | null, startToken: string | null): boolean {
  return job?.status === "running" && startToken !== null && job.startToken === startToken;
}

/**
 * Progress of the running attempt: it never goes back (a late report keeps the
 * higher percent) and stays within 0–100. `notify`: the job asked for job.progress
 * events (the tracker sends at most one a second).
 */
export function decideProgress(
  job: JobRecord,
  percent: number,
  message: string | null,
  now: number,
): { change: Change; notify: boolean } {
  const clamped = Math.min(100, Math.max(job.progress?.percent ?? 0, percent));
  const next = { ...job, progress: { percent: clamped, message, updated_at: now } };
  return { change: change(job, next), notify: wantsEvent(job, "job.progress") };
}

/**
 * How the running attempt ended: success ends the job; a retryable failure
 * with attempts left queues it again after the retry delay (with `timer`):
 * the handler's `retryAfterSeconds` when it gave one (no jitter; capped at
 * `limits.retryMaxDelaySeconds` like the backoff), else the backoff;
 * anything else fails it. Attempts given back do not count toward
 * `maxAttempts` nor the backoff. An interruption is back-pressure: the
 * attempt is given back (counted in `givenBack`: the job still has all the
 * attempts it had) and the job is queued again
 * `limits.infraRetryMaxDelaySeconds` later, the longest delay back-pressure
 * waits, since the short retries within the attempt
 * (`limits.storeRetryDelaysMs`) already failed.
 */
export function decideOutcome(
  job: JobRecord,
  outcome: AttemptOutcome,
  now: number,
  retryDelay: RetryDelay,
): { change: Change; timer: Timer | null } {
  // Only the first attempt's success can say that the job left no log object (a failure's error is
  // one, and attempts before it may have left theirs); it is believed only from a report that says so.
  const logged = !(outcome.ok && outcome.logged === false && job.attempts === 1);
  const ended = { ...job, finishedAt: now, leaseExpiresAt: null, logged };
  if ("interrupted" in outcome) {
    const given: JobState = {
      ...job,
      status: "queued",
      givenBack: job.givenBack + 1,
      error: outcome.error,
      logged,
      runAt: now + limits.infraRetryMaxDelaySeconds * 1000,
      leaseExpiresAt: null,
    };
    return { change: change(job, given), timer: timerForRunAt(given, now) };
  }
  if (outcome.ok) {
    const { resultJson, resultKey } = outcome;
    return {
      change: change(job, { ...ended, status: "succeeded", resultJson, resultKey, error: null }, "job.succeeded"),
      timer: null,
    };
  }
  const counted = job.attempts - job.givenBack;
  if (outcome.retryable && counted < job.maxAttempts) {
    const delaySeconds =
      outcome.retryAfterSeconds === undefined
        ? nextRetryDelaySeconds(counted, retryDelay.baseSeconds, retryDelay.random)
        : Math.min(Math.max(0, outcome.retryAfterSeconds), limits.retryMaxDelaySeconds);
    const retry: JobState = {
      ...job,
      status: "queued",
      error: outcome.error,
      logged,
      runAt: now + delaySeconds * 1000,
      leaseExpiresAt: null,
    };
    return { change: change(job, retry), timer: timerForRunAt(retry, now) };
  }
  return { change: change(job, { ...ended, status: "failed", error: outcome.error }, "job.failed"), timer: null };
}

/**
 * The R2 key of an outcome's result that `job` (as stored now; null when
 * gone) does not name, so nobody will read it: the attempt was superseded,
 * or the job canceled or gone meanwhile. Null when there is none, or when
 * the job names it (the outcome was written already, and reported again).
 */
export function unusedResultKey(outcome: AttemptOutcome, job: Pick<JobRecord, "resultKey"> | null): string | null {
  const key = outcome.ok ? outcome.resultKey : null;
  return key !== null && job?.resultKey !== key ? key : null;
}

/** What a lost attempt counts as: a retryable failure of its worker. */
export const workerLost: AttemptOutcome = {
  ok: false,
  error: { code: "worker_lost", message: "The attempt stopped sending heartbeats: its worker was lost." },
  retryable: true,
};

/**
 * The verdict on the running attempt's liveness (liveness.ts). `alarmAt`: wait
 * for a heartbeat until then; `renewLeaseUntil`: found alive past its lease, the
 * lease is renewed so the sweep turns to jobs it has not asked about lately;
 * `lost`: the attempt ends as `workerLost`.
 */
export function decideOnLiveness(
  job: JobRecord,
  liveness: Liveness,
  now: number,
):
  | { kind: "wait"; alarmAt: number }
  | { kind: "renew"; renewLeaseUntil: number }
  | { kind: "keep" }
  | { kind: "lost" } {
  if (liveness.kind === "wait") return { kind: "wait", alarmAt: liveness.until };
  if (liveness.kind === "lost") return { kind: "lost" };
  if ((job.leaseExpiresAt ?? 0) <= now) {
    return { kind: "renew", renewLeaseUntil: now + limits.attemptLeaseSeconds * 1000 };
  }
  return { kind: "keep" };
}

/**
 * Whether `expires_at` (from `ttl_seconds`) still applies: only until the
 * job's first attempt starts. Like Trigger.dev's `ttl` (and Celery's
 * `expires`, checked before a task starts), a job that has started is never
 * expired: its running attempt and its retries go on after `expires_at`.
 */
export function mayExpire(job: JobRecord): job is JobRecord & { expiresAt: number } {
  return job.expiresAt !== null && job.attempts === 0 && isWaiting(job);
}

/** Whether the job is past its `expires_at` without having started. */
export function hasExpired(job: JobRecord, now: number): boolean {
  return mayExpire(job) && now >= job.expiresAt;
}

/**
 * The expiry of a job that has not started by its `expires_at`: it ends
 * canceled with error code `expired` (API.md), and `job.canceled` is sent if
 * asked for. Throws (a bug in the caller) for a job that has started.
 */
export function decideExpiry(job: JobRecord, now: number): Change {
  if (!mayExpire(job)) throw new Error(`job ${job.id} cannot expire: it has started or has no expires_at`);
  const error = {
    code: "expired",
    message: `The job did not start by its expires_at (${new Date(job.expiresAt).toISOString()}).`,
  };
  return change(job, { ...job, status: "canceled", error, finishedAt: now, leaseExpiresAt: null }, "job.canceled");
}

/**
 * `timer` with its alarm brought forward to the job's `expires_at` while the
 * job may still expire: one alarm serves both (a Durable Object has one).
 */
export function withExpiry(job: JobRecord, timer: Timer): Timer {
  return mayExpire(job) && job.expiresAt < timer.alarmAt ? { ...timer, alarmAt: job.expiresAt } : timer;
}

/** A cancel: a job that has not finished ends canceled; null if it had finished. */
export function decideCancel(job: JobRecord, now: number): Change | null {
  if (isTerminal(job.status)) return null;
  // An earlier attempt's error is not the job's: a canceled job has none (API.md). An attempt
  // stopped by the cancel may have logged, and its outcome is not recorded.
  return change(
    job,
    { ...job, status: "canceled", error: null, finishedAt: now, leaseExpiresAt: null, logged: true },
    "job.canceled",
  );
}

/**
 * A job's timer once it is due to run at `runAt`: beyond a queue's delay limit
 * the alarm waits until the message can be sent; within it the message goes
 * now and the alarm watches for it to arrive (a grace later).
 */
export function timerForRunAt(job: Pick<JobRecord, "runAt">, now: number): Timer {
  const waitMs = job.runAt - now;
  if (waitMs > limits.maxQueueDelaySeconds * 1000) {
    return { alarmAt: job.runAt - limits.maxQueueDelaySeconds * 1000, enqueueDelaySeconds: null };
  }
  return {
    alarmAt: job.runAt + limits.enqueueGraceSeconds * 1000,
    enqueueDelaySeconds: Math.max(0, Math.ceil(waitMs / 1000)),
  };
}

/**
 * A repair, by the sweep or the job's alarm: `none` for a finished job;
 * `check_attempt` for a running one (its liveness decides); `expire` for a
 * job past its `expires_at` that has not started; `reenqueue` for a
 * waiting job whose message should have started it a grace ago (it was lost:
 * the tracker marks the job looked after and sends it again); else `arm`.
 * A waiting job's timer never passes its `expires_at`.
 */
export function decideRepair(
  job: JobRecord,
  now: number,
):
  | { kind: "none" }
  | { kind: "check_attempt" }
  | { kind: "expire"; change: Change }
  | { kind: "reenqueue"; timer: Timer }
  | { kind: "arm"; timer: Timer } {
  if (isTerminal(job.status)) return { kind: "none" };
  if (job.status === "running") return { kind: "check_attempt" };
  if (hasExpired(job, now)) return { kind: "expire", change: decideExpiry(job, now) };
  if (now >= job.runAt + limits.enqueueGraceSeconds * 1000) {
    const timer = { alarmAt: now + limits.enqueueGraceSeconds * 1000, enqueueDelaySeconds: 0 };
    return { kind: "reenqueue", timer: withExpiry(job, timer) };
  }
  return { kind: "arm", timer: withExpiry(job, timerForRunAt(job, now)) };
}

/** Whether `POST /v1/jobs/{id}/retry` may run the job again: only once it has failed or was canceled. */
export function isRetryable(job: Pick<JobRecord, "status">): boolean {
  return job.status === "failed" || job.status === "canceled";
}

/**
 * The new job that runs `original` again (`POST /v1/jobs/{id}/retry`), as
 * `id`, queued to run now: the same type, input, callback, metadata,
 * `max_attempts` and timeout, with `retry_of` naming the original, which
 * itself never changes. `inputKey`: where the new job's own copy of an input
 * kept in R2 lives (the original's object goes when retention purges it),
 * null for an input kept inline. Like Trigger.dev's replay, the new job is
 * an explicit request to run now: it has no `expires_at` (the original's
 * ttl was about waiting too long before a first start), joins no batch and
 * belongs to no schedule (`retry_of` leads to the job that did). Throws (a
 * bug in the caller) for a job that is not retryable.
 */
export function rerunOf(original: JobRecord, id: string, now: number, inputKey: string | null): JobRecord {
  if (!isRetryable(original)) throw new Error(`job ${original.id} is ${original.status}: not retryable`);
  return {
    id,
    tenantId: original.tenantId,
    type: original.type,
    status: "queued",
    inputJson: original.inputJson,
    inputKey,
    progress: null,
    attempts: 0,
    givenBack: 0,
    maxAttempts: original.maxAttempts,
    timeoutSeconds: original.timeoutSeconds,
    resultJson: null,
    resultKey: null,
    error: null,
    callbackUrl: original.callbackUrl,
    callbackEvents: original.callbackEvents,
    metadataJson: original.metadataJson,
    createdAt: now,
    runAt: now,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: null,
    startToken: null,
    expiresAt: null,
    retryOf: original.id,
    batchId: null,
    scheduleId: null,
    version: 1,
    updatedAt: now,
    logged: true,
  };
}
