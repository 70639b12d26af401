import { describe, expect, it } from "vitest";
import {
  adoptStart,
  change,
  decideBegin,
  decideCancel,
  decideExpiry,
  decideOnLiveness,
  decideOutcome,
  decideProgress,
  decideRepair,
  EARLY_TOLERANCE_MS,
  holdsAttempt,
  isRetryable,
  mayExpire,
  rerunOf,
  startMaybeUnseen,
  storesStartAtOnce,
  timerForRunAt,
  unusedResultKey,
  withExpiry,
  workerLost,
} from "../../src/jobs/lifecycle";
import type { JobRecord } from "../../src/jobs/model";
import { limits } from "../../src/limits";
import { jobRecord } from "../support/job-record";

const NOW = 1_800_000_000_000;
const SECOND = 1000;
const noJitter = { baseSeconds: 2, random: 0.5 };

const job = (fields: Partial<JobRecord> = {}): JobRecord => jobRecord({ runAt: NOW, ...fields }, NOW - 10 * SECOND);

const running = (fields: Partial<JobRecord> = {}) =>
  job({ status: "running", attempts: 1, startedAt: NOW - SECOND, leaseExpiresAt: NOW + 29 * SECOND, ...fields });
const failure = { code: "handler_error", message: "boom" };

describe("begin", () => {
  it("starts a due job as its next attempt, with a lease", () => {
    const decision = decideBegin(job(), NOW);
    expect(decision).toEqual({
      kind: "start",
      change: {
        next: expect.objectContaining({
          status: "running",
          attempts: 1,
          startedAt: NOW,
          leaseExpiresAt: NOW + limits.attemptLeaseSeconds * SECOND,
        }),
        event: null,
        releasesSlot: false,
      },
    });
  });

  it("starts a job whose message came a little early, but not one that is not yet due", () => {
    expect(decideBegin(job({ runAt: NOW + EARLY_TOLERANCE_MS }), NOW).kind).toBe("start");
    expect(decideBegin(job({ runAt: NOW + EARLY_TOLERANCE_MS + 1 }), NOW)).toEqual({ kind: "skip", reason: "not_due" });
  });

  it("skips a missing, finished or already running job", () => {
    expect(decideBegin(null, NOW)).toEqual({ kind: "skip", reason: "missing" });
    expect(decideBegin(job({ status: "canceled" }), NOW)).toEqual({ kind: "skip", reason: "finished" });
    expect(decideBegin(running(), NOW)).toEqual({ kind: "skip", reason: "running" });
  });

  it("stamps a start with its caller's token, and gives the caller asking again the attempt it started", () => {
    const decision = decideBegin(job(), NOW, "call-1");
    expect(decision).toMatchObject({ kind: "start", change: { next: { startToken: "call-1" } } });
    // Stored, its answer lost: the same call asking again gets its attempt back; no other call does.
    expect(decideBegin(running({ startToken: "call-1" }), NOW, "call-1")).toEqual({ kind: "resume" });
    expect(decideBegin(running({ startToken: "call-1" }), NOW, "call-2")).toEqual({ kind: "skip", reason: "running" });
    expect(decideBegin(running({ startToken: "call-1" }), NOW)).toEqual({ kind: "skip", reason: "running" });
    // A start that named no token is nobody's to resume, and a finished job's token starts nothing.
    expect(decideBegin(running({ startToken: null }), NOW, null)).toEqual({ kind: "skip", reason: "running" });
    expect(decideBegin(job({ status: "succeeded", startToken: "call-1" }), NOW, "call-1")).toEqual({
      kind: "skip",
      reason: "finished",
    });
  });
});

describe("an attempt's report", () => {
  it("lets only the job's running attempt report", () => {
    expect(holdsAttempt(running({ attempts: 2 }), 2)).toBe(true);
    expect(holdsAttempt(running({ attempts: 2 }), 1)).toBe(false);
    expect(holdsAttempt(job({ status: "canceled", attempts: 2 }), 2)).toBe(false);
    expect(holdsAttempt(null, 1)).toBe(false);
  });

  it("tells apart two consumers each told they started the same attempt, by their start tokens", () => {
    const started = running({ attempts: 2, startToken: "a" });
    expect(holdsAttempt(started, 2, "a")).toBe(true);
    expect(holdsAttempt(started, 2, "b")).toBe(false);
    // A caller that names no token, or a start stored without one, is judged by the attempt alone.
    expect(holdsAttempt(started, 2, null)).toBe(true);
    expect(holdsAttempt(running({ attempts: 2, startToken: null }), 2, "b")).toBe(true);
  });

  it("takes back an attempt whose start was never stored from its claim, only from one attempt fewer", () => {
    const claim = { startToken: "a", startedAt: NOW - SECOND };
    const taken = adoptStart(job({ status: "queued", attempts: 1 }), 2, claim);
    expect(taken?.next).toMatchObject({
      status: "running",
      attempts: 2,
      startedAt: NOW - SECOND,
      leaseExpiresAt: NOW - SECOND + limits.attemptLeaseSeconds * 1000,
      startToken: "a",
    });
    expect(taken?.releasesSlot).toBe(false);
    expect(adoptStart(job({ status: "scheduled", attempts: 0 }), 1, claim)?.next.status).toBe("running");
    // Another attempt stored, the job moved on, or no claim: the attempt does not hold the job.
    expect(adoptStart(job({ status: "queued", attempts: 2 }), 2, claim)).toBeNull();
    expect(adoptStart(running({ attempts: 1 }), 2, claim)).toBeNull();
    expect(adoptStart(job({ status: "canceled", attempts: 1 }), 2, claim)).toBeNull();
    expect(adoptStart(job({ status: "queued", attempts: 1 }), 2, null)).toBeNull();
    expect(adoptStart(null, 1, claim)).toBeNull();
  });

  it("holds a start unless its job may still expire, and suspects an unseen attempt behind a slot granted within a lease", () => {
    expect(storesStartAtOnce(job())).toBe(false);
    expect(storesStartAtOnce(job({ expiresAt: NOW + SECOND }))).toBe(true);
    expect(storesStartAtOnce(job({ expiresAt: NOW + SECOND, attempts: 1 }))).toBe(false); // started once: never expires
    const lease = limits.attemptLeaseSeconds * 1000;
    expect(startMaybeUnseen(null, NOW)).toBe(false);
    expect(startMaybeUnseen(NOW - lease + 1, NOW)).toBe(true);
    expect(startMaybeUnseen(NOW - lease, NOW)).toBe(false);
  });

  it("never moves progress back, keeps it within 100, and notifies only a job that asked", () => {
    const at40 = running({ progress: { percent: 40, message: null, updated_at: NOW - SECOND } });
    expect(decideProgress(at40, 10, "late", NOW).change.next.progress).toEqual({
      percent: 40,
      message: "late",
      updated_at: NOW,
    });
    expect(decideProgress(at40, 150, null, NOW).change.next.progress?.percent).toBe(100);
    expect(decideProgress(at40, 50, null, NOW).notify).toBe(false);
    const asked = running({ callbackUrl: "https://example.com/hook", callbackEvents: ["job.progress"] });
    expect(decideProgress(asked, 50, null, NOW).notify).toBe(true);
  });
});

describe("an attempt's outcome", () => {
  it("ends the job succeeded with its result, freeing the running slot", () => {
    const ok = { ok: true as const, resultJson: '{"a":1}', resultKey: null };
    const { change, timer } = decideOutcome(running({ error: failure }), ok, NOW, noJitter);
    expect(change.next).toMatchObject({ status: "succeeded", resultJson: '{"a":1}', error: null, finishedAt: NOW });
    expect(change.next.leaseExpiresAt).toBeNull();
    expect(change).toMatchObject({ event: "job.succeeded", releasesSlot: true });
    expect(timer).toBeNull();
  });

  it("queues a retryable failure with attempts left after the retry delay, and arms its timer", () => {
    const { change, timer } = decideOutcome(
      running({ attempts: 2 }),
      { ok: false, error: failure, retryable: true },
      NOW,
      noJitter,
    );
    expect(change.next).toMatchObject({ status: "queued", error: failure, runAt: NOW + 4 * SECOND, finishedAt: null });
    expect(change).toMatchObject({ event: null, releasesSlot: true });
    expect(timer).toEqual({ alarmAt: NOW + (4 + limits.enqueueGraceSeconds) * SECOND, enqueueDelaySeconds: 4 });
  });

  it("takes the retry delay's randomness from the caller", () => {
    const fail = { ok: false as const, error: failure, retryable: true };
    const early = decideOutcome(running(), fail, NOW, { baseSeconds: 10, random: 0 }).change.next.runAt;
    const late = decideOutcome(running(), fail, NOW, { baseSeconds: 10, random: 0.999999 }).change.next.runAt;
    expect(early).toBe(NOW + 8 * SECOND);
    expect(late).toBeCloseTo(NOW + 12 * SECOND, -1);
  });

  it("fails the job once attempts run out, or when the failure is not retryable", () => {
    const last = decideOutcome(running({ attempts: 3 }), { ok: false, error: failure, retryable: true }, NOW, noJitter);
    expect(last.change).toMatchObject({
      next: { status: "failed", error: failure, finishedAt: NOW },
      event: "job.failed",
    });
    expect(last.timer).toBeNull();
    const fatal = decideOutcome(running(), { ok: false, error: failure, retryable: false }, NOW, noJitter);
    expect(fatal.change.next.status).toBe("failed");
  });

  it("waits the handler's retryAfterSeconds instead of the backoff, capped at the backoff's maximum", () => {
    const withDelay = (retryAfterSeconds: number) =>
      decideOutcome(running({ attempts: 2 }), { ok: false, error: failure, retryable: true, retryAfterSeconds }, NOW, {
        baseSeconds: 2,
        random: 0.999,
      });
    const chosen = withDelay(7);
    expect(chosen.change.next).toMatchObject({ status: "queued", runAt: NOW + 7 * SECOND });
    expect(chosen.timer).toEqual({ alarmAt: NOW + (7 + limits.enqueueGraceSeconds) * SECOND, enqueueDelaySeconds: 7 });
    expect(withDelay(0).change.next.runAt).toBe(NOW);
    expect(withDelay(limits.retryMaxDelaySeconds * 10).change.next.runAt).toBe(
      NOW + limits.retryMaxDelaySeconds * SECOND,
    );
    // The last attempt's delay means nothing: the job fails.
    const last = decideOutcome(
      running({ attempts: 3 }),
      { ok: false, error: failure, retryable: true, retryAfterSeconds: 5 },
      NOW,
      noJitter,
    );
    expect(last.change.next.status).toBe("failed");
  });

  it("gives an interrupted attempt back, even the last: the job queues again at back-pressure's longest delay", () => {
    const unavailable = { code: "storage_unavailable", message: "R2 is down" };
    for (const attempts of [1, 3]) {
      const { change, timer } = decideOutcome(
        running({ attempts }),
        { ok: false, interrupted: true, error: unavailable },
        NOW,
        noJitter,
      );
      const runAt = NOW + limits.infraRetryMaxDelaySeconds * SECOND;
      expect(change.next).toMatchObject({ status: "queued", attempts, givenBack: 1, error: unavailable, runAt });
      expect(change).toMatchObject({ event: null, releasesSlot: true });
      expect(timer).toEqual(timerForRunAt(change.next, NOW));
    }
  });

  it("counts neither toward max_attempts nor toward the backoff an attempt given back", () => {
    const fail = { ok: false as const, error: failure, retryable: true };
    // Four started, one given back: the third counted attempt of three failed.
    expect(decideOutcome(running({ attempts: 3, givenBack: 1 }), fail, NOW, noJitter).change.next.status).toBe(
      "queued",
    );
    expect(decideOutcome(running({ attempts: 4, givenBack: 1 }), fail, NOW, noJitter).change.next.status).toBe(
      "failed",
    );
    // Six given back over an hour of R2 outage, then the first counted attempt fails: the first backoff step.
    const first = decideOutcome(running({ attempts: 1 }), fail, NOW, noJitter).change.next.runAt;
    expect(decideOutcome(running({ attempts: 7, givenBack: 6 }), fail, NOW, noJitter).change.next.runAt).toBe(first);
  });

  it("names a result nobody will read: not the one the job stores, nor a failure's", () => {
    const ok = { ok: true as const, resultJson: null, resultKey: "results/job_1/1.json" };
    expect(unusedResultKey(ok, job({ status: "canceled" }))).toBe("results/job_1/1.json");
    expect(unusedResultKey(ok, null)).toBe("results/job_1/1.json");
    expect(unusedResultKey(ok, job({ status: "succeeded", resultKey: "results/job_1/1.json" }))).toBeNull();
    expect(unusedResultKey({ ok: true, resultJson: "1", resultKey: null }, job())).toBeNull();
    expect(unusedResultKey({ ok: false, error: failure, retryable: true }, job())).toBeNull();
  });

  it("counts a lost attempt as a retryable worker_lost failure", () => {
    const { change } = decideOutcome(running(), workerLost, NOW, noJitter);
    expect(change.next).toMatchObject({ status: "queued", error: { code: "worker_lost" } });
  });

  it("counts a job as having left no log object only from its first attempt's success that says so", () => {
    const ok = { ok: true as const, resultJson: "1", resultKey: null };
    const loggedAfter = (outcome: Parameters<typeof decideOutcome>[1], fields: Partial<JobRecord> = {}) =>
      decideOutcome(running({ logged: true, ...fields }), outcome, NOW, noJitter).change.next.logged;
    // Until then it is not known (a submit stores true).
    expect(loggedAfter({ ...ok, logged: false })).toBe(false);
    expect(loggedAfter({ ...ok, logged: true })).toBe(true);
    // A consumer from before the field says nothing: it may have logged.
    expect(loggedAfter(ok)).toBe(true);
    // Attempts before it may have left theirs.
    expect(loggedAfter({ ...ok, logged: false }, { attempts: 2 })).toBe(true);
    // A failure's error is written with the attempt's log; a lost attempt may have logged.
    expect(loggedAfter({ ok: false, error: failure, retryable: true }, { logged: false })).toBe(true);
    expect(loggedAfter({ ok: false, error: failure, retryable: false }, { logged: false })).toBe(true);
    expect(loggedAfter({ ok: false, interrupted: true, error: failure }, { logged: false })).toBe(true);
    expect(loggedAfter(workerLost, { logged: false })).toBe(true);
  });
});

describe("a liveness verdict", () => {
  it("waits for a heartbeat on the alarm until the silence ends", () => {
    expect(decideOnLiveness(running(), { kind: "wait", until: NOW + 30 * SECOND }, NOW)).toEqual({
      kind: "wait",
      alarmAt: NOW + 30 * SECOND,
    });
  });

  it("renews the lease of an attempt found alive past it, and keeps one within it", () => {
    const pastLease = running({ leaseExpiresAt: NOW - SECOND });
    expect(decideOnLiveness(pastLease, { kind: "alive" }, NOW)).toEqual({
      kind: "renew",
      renewLeaseUntil: NOW + limits.attemptLeaseSeconds * SECOND,
    });
    expect(decideOnLiveness(running(), { kind: "alive" }, NOW)).toEqual({ kind: "keep" });
  });

  it("reclaims a lost attempt", () => {
    expect(decideOnLiveness(running(), { kind: "lost" }, NOW)).toEqual({ kind: "lost" });
  });
});

describe("cancel", () => {
  it("cancels a job that has not finished, dropping an earlier attempt's error", () => {
    const decision = decideCancel(job({ attempts: 1, error: failure }), NOW);
    expect(decision).toMatchObject({
      next: { status: "canceled", error: null, finishedAt: NOW },
      event: "job.canceled",
    });
    expect(decideCancel(running(), NOW)?.releasesSlot).toBe(true);
  });

  it("gives back a waiting job's place in line (or the slot reserved for it) when it is canceled", () => {
    expect(decideCancel(job({ status: "queued" }), NOW)?.releasesSlot).toBe(true);
    expect(decideCancel(job({ status: "scheduled" }), NOW)?.releasesSlot).toBe(true);
  });

  it("counts a canceled job as logged: an attempt the cancel stopped never reports its outcome", () => {
    expect(decideCancel(running({ logged: false }), NOW)?.next.logged).toBe(true);
  });

  it("leaves a finished job as it is", () => {
    for (const status of ["succeeded", "failed", "canceled"] as const) {
      expect(decideCancel(job({ status }), NOW)).toBeNull();
    }
  });
});

describe("repair and timers", () => {
  it("waits on the alarm for a run time beyond the queue's delay limit", () => {
    const runAt = NOW + (limits.maxQueueDelaySeconds + 3600) * SECOND;
    expect(timerForRunAt({ runAt }, NOW)).toEqual({ alarmAt: NOW + 3600 * SECOND, enqueueDelaySeconds: null });
  });

  it("sends the message within the limit, rounding its delay up, and watches for it a grace later", () => {
    expect(timerForRunAt({ runAt: NOW + 1500 }, NOW)).toEqual({
      alarmAt: NOW + 1500 + limits.enqueueGraceSeconds * SECOND,
      enqueueDelaySeconds: 2,
    });
    expect(timerForRunAt({ runAt: NOW - SECOND }, NOW).enqueueDelaySeconds).toBe(0);
  });

  it("re-enqueues a waiting job whose message is a grace overdue, and arms one not yet", () => {
    const grace = limits.enqueueGraceSeconds * SECOND;
    expect(decideRepair(job({ runAt: NOW - grace }), NOW)).toEqual({
      kind: "reenqueue",
      timer: { alarmAt: NOW + grace, enqueueDelaySeconds: 0 },
    });
    expect(decideRepair(job({ runAt: NOW - grace + 1 }), NOW)).toMatchObject({ kind: "arm" });
  });

  it("checks a running job's attempt and leaves a finished job alone", () => {
    expect(decideRepair(running(), NOW)).toEqual({ kind: "check_attempt" });
    expect(decideRepair(job({ status: "failed" }), NOW)).toEqual({ kind: "none" });
  });
});

describe("change", () => {
  it("refuses a status change the transition table forbids", () => {
    const done = job({ status: "succeeded" });
    expect(() => change(done, { ...done, status: "running" })).toThrow(/illegal transition succeeded → running/);
  });
});

describe("expiry (ttl_seconds)", () => {
  const expiring = (fields: Partial<JobRecord> = {}) => job({ expiresAt: NOW + 5 * SECOND, ...fields });

  it("ends a job that has not started by its expires_at canceled, with code expired and job.canceled", () => {
    const decision = decideBegin(expiring({ expiresAt: NOW }), NOW);
    expect(decision).toEqual({
      kind: "expire",
      change: {
        next: expect.objectContaining({
          status: "canceled",
          attempts: 0,
          finishedAt: NOW,
          error: { code: "expired", message: expect.stringContaining(new Date(NOW).toISOString()) },
        }),
        event: "job.canceled",
        releasesSlot: true,
      },
    });
    expect(decideBegin(expiring({ expiresAt: NOW + 1 }), NOW)).toMatchObject({ kind: "start" });
  });

  it("applies only until the first attempt starts: a started job and its retries never expire", () => {
    expect(mayExpire(expiring())).toBe(true);
    expect(mayExpire(expiring({ status: "scheduled" }))).toBe(true);
    expect(mayExpire(job())).toBe(false);
    const retryWaiting = expiring({ attempts: 1, expiresAt: NOW - SECOND });
    // A first attempt given back (R2 down) still started the job.
    expect(mayExpire({ ...retryWaiting, givenBack: 1 })).toBe(false);
    expect(mayExpire(retryWaiting)).toBe(false);
    expect(decideBegin(retryWaiting, NOW)).toMatchObject({ kind: "start" });
    expect(decideRepair(retryWaiting, NOW)).toMatchObject({ kind: "arm" });
    expect(mayExpire(running({ expiresAt: NOW - SECOND }))).toBe(false);
    expect(decideRepair(running({ expiresAt: NOW - SECOND }), NOW)).toEqual({ kind: "check_attempt" });
    expect(() => decideExpiry(retryWaiting, NOW)).toThrow(/cannot expire/);
  });

  it("has the alarm or the sweep expire a waiting job, and never arm a timer past its expires_at", () => {
    const grace = limits.enqueueGraceSeconds * SECOND;
    expect(decideRepair(expiring({ expiresAt: NOW }), NOW)).toMatchObject({
      kind: "expire",
      change: { next: { status: "canceled", error: { code: "expired" } } },
    });
    // A lost message's re-enqueue watches again at its expiry, not a grace later.
    expect(decideRepair(expiring({ runAt: NOW - grace }), NOW)).toEqual({
      kind: "reenqueue",
      timer: { alarmAt: NOW + 5 * SECOND, enqueueDelaySeconds: 0 },
    });
    // A long delay waits for the queue's limit first: its expiry comes after the run time.
    const far = NOW + 3 * 86_400 * SECOND;
    const delayed = expiring({ status: "scheduled", runAt: far, expiresAt: far + SECOND });
    expect(decideRepair(delayed, NOW)).toEqual({ kind: "arm", timer: timerForRunAt(delayed, NOW) });
    expect(withExpiry(expiring(), { alarmAt: NOW + grace, enqueueDelaySeconds: 1 })).toEqual({
      alarmAt: NOW + 5 * SECOND,
      enqueueDelaySeconds: 1,
    });
    expect(withExpiry(job(), { alarmAt: NOW + grace, enqueueDelaySeconds: 1 }).alarmAt).toBe(NOW + grace);
  });
});

describe("retry as a new job (POST /v1/jobs/{id}/retry)", () => {
  const original = job({
    status: "failed",
    attempts: 3,
    inputJson: null,
    inputKey: "inputs/job_1.json",
    error: failure,
    callbackUrl: "https://client.example/hooks",
    callbackEvents: ["job.failed"],
    metadataJson: '{"order":"A-17"}',
    maxAttempts: 3,
    timeoutSeconds: 120,
    expiresAt: NOW - 60 * SECOND,
    batchId: "bat_1",
    scheduleId: "sch_1",
    resultKey: "results/job_1/3.json",
    finishedAt: NOW - SECOND,
    version: 9,
  });

  it("may run only a failed or canceled job again", () => {
    expect(isRetryable({ status: "failed" })).toBe(true);
    expect(isRetryable({ status: "canceled" })).toBe(true);
    for (const status of ["scheduled", "queued", "running", "succeeded"] as const) {
      expect(isRetryable({ status })).toBe(false);
      expect(() => rerunOf(job({ status }), "job_2", NOW, null)).toThrow(/not retryable/);
    }
  });

  it("copies type, input, callback, metadata and limits, links retry_of, and starts afresh now", () => {
    expect(rerunOf(original, "job_2", NOW, "inputs/job_2.json")).toEqual({
      ...job(),
      id: "job_2",
      status: "queued",
      inputJson: null,
      inputKey: "inputs/job_2.json",
      callbackUrl: "https://client.example/hooks",
      callbackEvents: ["job.failed"],
      metadataJson: '{"order":"A-17"}',
      maxAttempts: 3,
      timeoutSeconds: 120,
      createdAt: NOW,
      runAt: NOW,
      updatedAt: NOW,
      // No expiry, batch or schedule of its own; the original's result and error stay the original's.
      expiresAt: null,
      batchId: null,
      scheduleId: null,
      retryOf: "job_1",
      // Not known until its first attempt succeeds.
      logged: true,
    });
  });
});
