import type { JobStatus } from "./model";

/**
 * The allowed status changes (API.md: status moves only forward;
 * running → queued only for a retry; a terminal status never changes).
 * A delayed job goes straight from scheduled to running when its message
 * arrives: skipping a state is still moving forward.
 */
const allowed: Record<JobStatus, readonly JobStatus[]> = {
  scheduled: ["queued", "running", "canceled", "failed"],
  queued: ["running", "canceled", "failed"],
  running: ["queued", "succeeded", "failed", "canceled"],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return allowed[from].includes(to);
}
