import type { z } from "zod";
import { checkRegistry, type JobType } from "./define";
import { echo } from "./echo";
import { fail } from "./fail";
import { sleep } from "./sleep";

/** The registry. Adding a job type is one file and one line here. */
const all = [echo, sleep, fail] satisfies JobType[];

/** Every type by name; a bad definition throws here, when the module loads (`checkRegistry`). */
export const jobTypes: ReadonlyMap<string, JobType> = checkRegistry(all);

/**
 * Each registered type's name and the input its schema accepts (before
 * defaults are filled): the client types `submit` by it.
 */
export type JobInputs = { [Type in (typeof all)[number] as Type["name"]]: z.input<Type["input"]> };

export type { JobType } from "./define";
