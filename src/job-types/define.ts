import type { z } from "zod";
import type { Json } from "../jobs/model";
import { limits } from "../limits";

export { handlerErrorCode, JobError, type JobErrorOptions, NonRetryableError } from "./errors";
export type { Json };

/**
 * The Worker's bindings as a handler sees them: `Env` (src/env.ts), merged
 * into this interface there, so in the Worker every binding is typed.
 * Declared here, not imported, so the client — whose types come from the
 * registry — does not take in the Worker's types; where it is compiled
 * without them (Node, browsers), a handler's bindings are untyped rather than
 * missing, so a job type that uses them still compiles there.
 */
export interface JobEnv {
  // biome-ignore lint/suspicious/noExplicitAny: only seen where src/env.ts is not, which types every binding
  [binding: string]: any;
}

/** A log line's level (`ctx.log`). */
export type LogLevel = "info" | "warn" | "error";

/** What a handler gets for one attempt. */
export interface JobContext<Input> {
  /** The input, already validated (and defaulted) by the type's schema. */
  input: Input;
  /** Aborted when the attempt times out or the job is canceled: stop soon after. */
  signal: AbortSignal;
  /** Reports progress: percent 0–100 (kept monotonic), with an optional message. */
  progress: (percent: number, message?: string) => Promise<void>;
  /** 1 on the first attempt, 2 on the first retry, … */
  attempt: number;
  jobId: string;
  /**
   * Keeps a line in the job's log (`GET /v1/jobs/{id}/logs`), level `info`
   * unless told. Buffered: it returns at once and costs no D1 row. A job keeps
   * at most 500 lines of 2 KiB (UTF-8) each over all its attempts: a longer
   * message is cut and later lines are dropped, and the log says `truncated`.
   * Throws a TypeError for a level other than `info`, `warn` or `error`.
   */
  log: (message: string, options?: { level?: LogLevel }) => void;
  /** The Worker's bindings (R2, queues, Durable Objects, and any binding added to wrangler.toml and `Env`). */
  env: JobEnv;
}

export interface JobTypeDefaults {
  /** Attempts when the request names none. */
  maxAttempts: number;
  /** Seconds an attempt may run when the request names none (≤ 840). */
  timeoutSeconds: number;
  /** Delay before the second attempt; later ones double it, capped at 15 min. */
  retryBaseDelaySeconds: number;
}

export interface JobTypeSpec<Name extends string, Schema extends z.ZodType> {
  name: Name;
  description: string;
  input: Schema;
  defaults?: Partial<JobTypeDefaults>;
  /**
   * Does the work. Return JSON; throw to fail the attempt: it is retried while
   * attempts remain, except after a `NonRetryableError`; a `JobError` chooses
   * its error code and the delay before the next attempt.
   */
  run: (ctx: JobContext<z.output<Schema>>) => Promise<Json>;
}

/**
 * A registered job type. Its literal name and input schema stay in the type
 * (the client's `submit` is typed from them); the handler's input is erased.
 */
export interface JobType<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  name: Name;
  description: string;
  input: Schema;
  defaults: JobTypeDefaults;
  run: (ctx: JobContext<unknown>) => Promise<Json>;
}

const baseDefaults: JobTypeDefaults = { maxAttempts: 3, timeoutSeconds: 300, retryBaseDelaySeconds: 2 };

/**
 * Declares a job type: a name, an input schema and a handler. The handler's
 * `input` is typed from the schema. The definition is checked when the
 * registry is built (`checkRegistry`).
 */
export function defineJobType<Name extends string, Schema extends z.ZodType>(
  spec: JobTypeSpec<Name, Schema>,
): JobType<Name, Schema> {
  return {
    name: spec.name,
    description: spec.description,
    input: spec.input,
    defaults: { ...baseDefaults, ...spec.defaults },
    run: spec.run as JobType["run"],
  };
}

/** A job type's name: lower case letters and digits, words joined by `_` or `-`, at most 64 characters. */
const namePattern = /^(?=.{1,64}$)[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/;

/**
 * The registry of `types`, by name, once every definition is checked: a name
 * that follows `namePattern` and no other type has; defaults within what a
 * request could set (attempts 1–`limits.maxAttempts`, timeout
 * 1–`limits.maxTimeoutSeconds` s, a retry delay of 0–`limits.retryMaxDelaySeconds`
 * s). Throws an Error naming every fault, so a bad definition fails the test
 * suite (and the Worker's start) rather than a job.
 */
export function checkRegistry(types: readonly JobType[]): ReadonlyMap<string, JobType> {
  const faults: string[] = [];
  const registry = new Map<string, JobType>();
  for (const type of types) {
    if (!namePattern.test(type.name)) faults.push(`"${type.name}": a name is lower-case words joined by _ or - (≤ 64)`);
    if (registry.has(type.name)) faults.push(`"${type.name}": registered twice`);
    registry.set(type.name, type);
    const { maxAttempts, timeoutSeconds, retryBaseDelaySeconds } = type.defaults;
    if (!inRange(maxAttempts, 1, limits.maxAttempts, true)) {
      faults.push(`"${type.name}": maxAttempts ${maxAttempts} is not an integer in 1–${limits.maxAttempts}`);
    }
    if (!inRange(timeoutSeconds, 1, limits.maxTimeoutSeconds, true)) {
      faults.push(
        `"${type.name}": timeoutSeconds ${timeoutSeconds} is not an integer in 1–${limits.maxTimeoutSeconds}`,
      );
    }
    if (!inRange(retryBaseDelaySeconds, 0, limits.retryMaxDelaySeconds, false)) {
      faults.push(
        `"${type.name}": retryBaseDelaySeconds ${retryBaseDelaySeconds} is not in 0–${limits.retryMaxDelaySeconds}`,
      );
    }
  }
  if (faults.length > 0) throw new Error(`Invalid job type definitions:\n${faults.join("\n")}`);
  return registry;
}

const inRange = (value: number, min: number, max: number, integer: boolean) =>
  (integer ? Number.isInteger(value) : Number.isFinite(value)) && value >= min && value <= max;

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export { sleep as wait } from "../platform/sleep";
