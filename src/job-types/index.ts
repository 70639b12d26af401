import type { z } from "zod";
import * as all from "./all";
import type { JobType } from "./define";

/** Every job type `./all` exports (one line each: adding a job type is one file and that line). */
const registered = { ...all } satisfies Record<string, JobType>;

/** The registry, by name. */
export const jobTypes: ReadonlyMap<string, JobType> = new Map(Object.values(registered).map((t) => [t.name, t]));

/**
 * Each registered type's name and the input its schema accepts (before
 * defaults are filled): the client types `submit` by it.
 */
export type JobInputs = {
  [Key in keyof typeof registered as (typeof registered)[Key]["name"]]: z.input<(typeof registered)[Key]["input"]>;
};

export type { JobType } from "./define";
