import type { z } from "zod";

import type { Json } from "../jobs/model";

export type { Json };

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
  /** Does the work. Return JSON; throw to fail the attempt (it is retried while attempts remain). */
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
 * `input` is typed from the schema.
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

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export { sleep as wait } from "../platform/sleep";
