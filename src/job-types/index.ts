import type { z } from "zod";
import * as all from "./all";
import { checkRegistry, type JobType } from "./define";

/** Every job type `./all` exports (one line each: adding a job type is one file and that line). */
const registered = { ...all } satisfies Record<string, JobType>;

/** Every type by name; a bad definition throws here, when the module loads (`checkRegistry`). */
export const jobTypes: ReadonlyMap<string, JobType> = checkRegistry(Object.values(registered));

/**
 * Each registered type's name and the input its schema accepts (before
 * defaults are filled): the client types `submit` by it.
 */
export type JobInputs = {
  [Key in keyof typeof registered as (typeof registered)[Key]["name"]]: z.input<(typeof registered)[Key]["input"]>;
};

export type { JobType } from "./define";
