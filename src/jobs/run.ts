import type { Env, JobMessage } from "../env";
import { jobTypes } from "../job-types";
import { handlerErrorCode, JobError, type JobType, type Json, NonRetryableError } from "../job-types/define";
import { limits } from "../limits";
import { randomBytes, toBase64Url } from "../platform/crypto";
import { retrying } from "../platform/retrying";
import { deleteObject, putJson, resultKey } from "../store/blobs";
import type { EventForDelivery } from "../store/webhook-events";
import type { BatchSlots } from "../tenants/batch-slots";
import { abortWhenSuperseded } from "./cancel-watch";
import { heartbeatWhileRunning } from "./heartbeat";
import { readInputJson } from "./input";
import { AttemptLog } from "./job-log";
import type { AttemptFailure, AttemptInterruption, AttemptOutcome, BeginResult, StartClaim } from "./lifecycle";
import type { JobRecord } from "./model";

class AttemptTimeout extends Error {
  override name = "AttemptTimeout";
}
class AttemptStopped extends Error {
  override name = "AttemptStopped";
}

/**
 * The job's tracker, through a new stub at each call: once a stub has thrown
 * (its object reset by a deploy, say), every later call through it fails
 * too ("To continue invoking methods on a remote Durable Object a Worker
 * must recreate the stub", developers.cloudflare.com/durable-objects/api/stub,
 * read 2026-11-30). A stub is a local handle: making one costs no request.
 */
type Tracker = () => ReturnType<Env["JOB_TRACKER"]["getByName"]>;

/** What a consumer invocation's messages share: their tenants' slots, and their callbacks' first attempts. */
export interface Invocation {
  slots: BatchSlots;
  deliverFirstAttempt: (callback: EventForDelivery) => Promise<void>;
}

/**
 * Runs one queue message's job: asks the job's tracker for an attempt, runs the
 * handler under its timeout and abort signal, stores the result and reports the
 * outcome, then makes the first attempt of the callback that outcome causes
 * and gives back the job's running slot, each together with the invocation's
 * other jobs (`invocation`). A job that waits for a slot ends here; its
 * tenant's slots object sends it again. Duplicate and late messages end at
 * `begin()`, which is asked once more at once, through a new stub, if it
 * fails: a start stored whose answer was lost is then found again by its
 * token. Once the handler has run, its outcome is not given up to a
 * short outage: R2 is tried again (`limits.storeRetryDelaysMs`, then the
 * attempt is given back), the tracker too (`limits.outcomeReportRetryDelaysMs`),
 * and a tracker that cannot write to D1 keeps the outcome until it can.
 * `deliveries`: how many times the queue has delivered the message, this
 * time included.
 */
export async function runJobMessage(
  env: Env,
  message: JobMessage,
  invocation: Invocation,
  deliveries: number,
): Promise<void> {
  const standing = invocation.slots.standing(message.job_id);
  if (standing === "waiting") return;
  const tracker: Tracker = () => env.JOB_TRACKER.getByName(message.job_id);
  // Names this call, so that asked again it gets the attempt it started if only its answer was lost.
  const startToken = toBase64Url(randomBytes(limits.startTokenBytes));
  const start = await retrying<BeginResult>(
    (failedTries) =>
      tracker().begin(message.tenant_id ?? null, {
        slotHeld: standing === "held",
        slotHeldSince: invocation.slots.heldSince(message.job_id),
        startToken,
        askedBefore: failedTries > 0,
      }),
    limits.startRetryDelaysMs,
    (error) => console.warn("attempt not begun; asking again", { jobId: message.job_id, error: String(error) }),
  );
  if (start.kind !== "run") return;
  const { job, attempt } = start;
  // Sent with every report: a tracker reset before it stored the start takes the attempt back from it.
  const claim: StartClaim = { startToken, startedAt: job.startedAt as number };
  const unseenRunPossible = mayFollowUnseenRun(message, deliveries, invocation);
  const outcome = await runAttempt(env, job, attempt, tracker, claim, unseenRunPossible);
  const { discardResult, callback, releaseSlot } = await retrying(
    () => tracker().complete(attempt, outcome, job.tenantId, claim),
    limits.outcomeReportRetryDelaysMs,
    (error, delayMs) =>
      console.warn("outcome not reported; trying again", { jobId: job.id, attempt, delayMs, error: String(error) }),
  );
  // A result nobody will read: the job was canceled or the attempt superseded meanwhile.
  if (discardResult && outcome.ok && outcome.resultKey) await deleteObject(env.BLOBS, outcome.resultKey);
  await Promise.all([
    callback && invocation.deliverFirstAttempt(callback),
    releaseSlot && invocation.slots.release(job.tenantId, job.id),
  ]);
}

/**
 * Whether a run of this message's attempt that its consumer cannot see may
 * have come before it, and left a log object: a tracker reset in an
 * attempt's first second loses the start it held, and a later message then
 * starts the same attempt number again. None can have, only for the job's
 * first message (`first`, sent by its submit), delivered the first time, to
 * an invocation that was granted the job's running slot itself: a run that
 * died would have held the slot, or its message come again. (A duplicate of
 * the submit's message from Queues, after the slots' audit freed a dead
 * run's slot, is the one case this misses: README, "Where data lives".)
 */
function mayFollowUnseenRun(message: JobMessage, deliveries: number, invocation: Invocation): boolean {
  const grantedHere =
    invocation.slots.standing(message.job_id) === "held" && invocation.slots.heldSince(message.job_id) === null;
  return !(message.first === true && deliveries === 1 && grantedHere);
}

/**
 * Runs the attempt and answers its outcome; a success says whether the job
 * may have a log object (`AttemptSuccess.logged`): this attempt's, or one an
 * unseen earlier run of it left (`unseenRunPossible`).
 */
async function runAttempt(
  env: Env,
  job: JobRecord,
  attempt: number,
  tracker: Tracker,
  claim: StartClaim,
  unseenRunPossible: boolean,
): Promise<AttemptOutcome> {
  const type = jobTypes.get(job.type);
  if (!type) {
    const error = { code: "unknown_job_type", message: `This worker has no job type "${job.type}".` };
    return { ok: false, error, retryable: false };
  }
  let stored: unknown;
  try {
    stored = await fromR2(() => readInputJson(env.BLOBS, job), job.id, attempt);
  } catch (error) {
    return interruption("The job's input could not be read", error);
  }
  // The input is stored as sent; the handler gets it as its type's schema parses it (defaults
  // filled). It passed that schema at submit, so a failure here means the schema changed since.
  const input = type.input.safeParse(stored);
  if (!input.success) {
    const message = `The input no longer matches the "${type.name}" job type: ${input.error.message}`;
    return {
      ok: false,
      error: { code: "invalid_input", message: message.slice(0, limits.maxErrorMessageChars) },
      retryable: false,
    };
  }
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeout(`The attempt ran past its timeout of ${job.timeoutSeconds} s.`)),
    job.timeoutSeconds * 1000,
  );
  const stop = (reason: string) => controller.abort(new AttemptStopped(reason));
  const endWatch = abortWhenSuperseded(env, job, attempt, stop);
  const endHeartbeat = heartbeatWhileRunning(() => tracker().heartbeat(attempt, job.tenantId, claim), attempt, stop);
  const log = new AttemptLog(env.BLOBS, job.id, attempt);
  let outcome: AttemptOutcome;
  try {
    const value = await runUntilAborted(type, {
      input: input.data,
      signal: controller.signal,
      attempt,
      jobId: job.id,
      env,
      log: (message, options) => log.log(message, options),
      progress: async (percent, message) => {
        if (!Number.isFinite(percent)) throw new TypeError("progress percent must be a finite number");
        // Bounded like the error message: it is stored in the job's row and carried by every view and event.
        const bounded = message == null ? null : storedText(String(message), limits.maxProgressMessageChars);
        let stop: boolean;
        try {
          ({ stop } = await tracker().progress(attempt, percent, bounded, job.tenantId, claim));
        } catch (error) {
          // Storage down or overloaded is not the handler's failure: the report is lost, the attempt goes on
          // (the next report, or the outcome, carries the job on), as a missed heartbeat does.
          console.warn("progress not recorded", { jobId: job.id, attempt, error: String(error) });
          return;
        }
        if (stop) controller.abort(new AttemptStopped("The job was canceled or its attempt superseded."));
      },
    });
    outcome = await storeResult(env, job.id, attempt, value);
    if (!outcome.ok) log.recordFailure(outcome.error);
  } catch (error) {
    outcome = failureOf(controller.signal.aborted ? controller.signal.reason : error);
    log.recordFailure(outcome.error);
  } finally {
    clearTimeout(timer);
    endWatch();
    endHeartbeat();
    // Before the outcome, so a finished job's log is whole; a failed write loses lines, never the outcome.
    await log.close().catch((error) => {
      console.error("job log not stored", { jobId: job.id, attempt, error: String(error) });
    });
  }
  // Read once the log is closed: a handler that logs after it returned cannot add an object unsaid.
  return outcome.ok ? { ...outcome, logged: log.mayHaveWritten || unseenRunPossible } : outcome;
}

/**
 * A handler's text as a job's row stores it: its first `chars` UTF-16 code
 * units, made well-formed. A lone surrogate (a cut emoji, or sent as such)
 * would not survive D1's UTF-8 text, so the row, every view and every
 * callback rebuilt from it would differ from what the tracker first held.
 */
const storedText = (text: string, chars: number) => text.slice(0, chars).toWellFormed();

/** The handler's result, or the signal's reason as soon as it aborts, even if the handler ignores it. */
function runUntilAborted(type: JobType, ctx: Parameters<JobType["run"]>[0]): Promise<Json> {
  return new Promise((resolve, reject) => {
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    type.run(ctx).then(resolve, reject);
  });
}

/**
 * The result as the job's row keeps it: inline, or in R2 (an interruption if
 * R2 stays unavailable). Throws a TypeError, the handler's failure like any it
 * throws, for a result JSON cannot encode: a BigInt or a cycle (thrown by
 * `JSON.stringify`), a function, a symbol, or a `toJSON()` answering undefined
 * (for which it answers undefined, which D1 would refuse for good).
 */
async function storeResult(env: Env, jobId: string, attempt: number, value: Json): Promise<AttemptOutcome> {
  const json: string | undefined = JSON.stringify(value ?? null);
  if (json === undefined)
    throw new TypeError(`The handler's result cannot be encoded as JSON (typeof ${typeof value}).`);
  if (new TextEncoder().encode(json).byteLength <= limits.maxInlineJsonBytes) {
    return { ok: true, resultJson: json, resultKey: null };
  }
  const key = resultKey(jobId, attempt);
  try {
    await fromR2(() => putJson(env.BLOBS, key, json), jobId, attempt);
  } catch (error) {
    return interruption("The result could not be stored", error);
  }
  return { ok: true, resultJson: null, resultKey: key };
}

/** An R2 read or write of an attempt, tried again after each of `limits.storeRetryDelaysMs`; throws the last failure. */
function fromR2<T>(work: () => Promise<T>, jobId: string, attempt: number): Promise<T> {
  return retrying(work, limits.storeRetryDelaysMs, (error, delayMs) => {
    console.warn("R2 unavailable; trying again", { jobId, attempt, delayMs, error: String(error) });
  });
}

/** The attempt given back because R2 stayed unavailable (`what` failed): not the handler's failure. */
function interruption(what: string, error: unknown): AttemptInterruption {
  const message =
    `${what}: R2 was unavailable (${String(error)}). The attempt is given back, not counted toward max_attempts; ` +
    `the job runs again in ${limits.infraRetryMaxDelaySeconds / 60} min.`;
  return {
    ok: false,
    interrupted: true,
    error: { code: "storage_unavailable", message: storedText(message, limits.maxErrorMessageChars) },
  };
}

/**
 * A failed attempt's outcome: `timeout` or `canceled` when the attempt was
 * stopped; the handler's own code (if valid: `handlerErrorCode`) from a
 * `NonRetryableError` (not retried) or a `JobError` (with its retry delay);
 * else `handler_error`. Never throws: a handler may throw anything (an
 * Error whose message is not text, an object with no `toString`, a revoked
 * Proxy), and each is its attempt's failure, not a crash of the consumer's;
 * what cannot be read of it is left out, the rest still counts.
 */
function failureOf(reason: unknown): AttemptFailure {
  const said = readOr(() => {
    const text = reason instanceof Error ? reason.message : reason;
    return typeof text === "string" ? text : String(text);
  }, "The handler threw a value that cannot be read.");
  const message = storedText(said, limits.maxErrorMessageChars);
  // `instanceof` itself throws for a revoked Proxy.
  const kind = readOr(() => {
    if (reason instanceof AttemptTimeout) return "timeout";
    if (reason instanceof AttemptStopped) return "canceled";
    return reason instanceof NonRetryableError ? "final" : reason instanceof JobError ? "retry" : "other";
  }, "other");
  if (kind === "timeout" || kind === "canceled") return { ok: false, error: { code: kind, message }, retryable: true };
  const error = { code: "handler_error", message: message || "The handler threw without a message." };
  const code = () => handlerErrorCode(readOr(() => (reason as JobError).code, undefined));
  if (kind === "final") return { ok: false, error: { ...error, code: code() }, retryable: false };
  if (kind === "retry") {
    const failure = { ok: false as const, error: { ...error, code: code() }, retryable: true };
    const after = readOr(() => (reason as JobError).retryAfterSeconds, undefined);
    // Any number but NaN: the lifecycle holds it to 0–900 s, so Infinity waits the longest, as "above 900 s" says.
    return typeof after === "number" && !Number.isNaN(after) ? { ...failure, retryAfterSeconds: after } : failure;
  }
  return { ok: false, error, retryable: true };
}

/** `read()`, or `fallback` when it throws: reading a thrown value runs the handler's getters and traps. */
function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
