import type { JobType } from "./define";
import { echo } from "./echo";
import { fail } from "./fail";
import { sleep } from "./sleep";

/** The registry. Adding a job type is one file and one line here. */
const all: JobType[] = [echo, sleep, fail];

export const jobTypes: ReadonlyMap<string, JobType> = new Map(all.map((t) => [t.name, t]));

export type { JobType } from "./define";
