import * as all from "./all";
import type { JobType } from "./define";

/** The registry, by name: every job type that `./all` exports. */
export const jobTypes: ReadonlyMap<string, JobType> = new Map(Object.values(all).map((t: JobType) => [t.name, t]));

export type { JobType } from "./define";
