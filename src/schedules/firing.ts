import { latestDueAtOrBefore, nextDueAfter } from "./cron";

/** What a schedule's timer needs to decide: the stored schedule's timing. */
export interface ScheduleTiming {
  cron: string;
  timezone: string;
  paused: boolean;
  /** The next due time (ms), or null when none is pending (paused, or the expression ran out). */
  nextRunAt: number | null;
}

/**
 * What a schedule's timer does when woken (by its alarm, a change, or the
 * sweep's backstop):
 * - `idle`: nothing is pending: no alarm.
 * - `wait`: the next due time has not come: the alarm is set for it.
 * - `run`: a due time has come: one job for `dueAt`, then `nextRunAt` is
 *   the next due time after `now` (null: none). After an outage `dueAt` is
 *   the latest due time that passed, so the missed ones before it never run
 *   (no burst), and the latest runs once.
 */
export type Firing =
  | { kind: "idle" }
  | { kind: "wait"; alarmAt: number }
  | { kind: "run"; dueAt: number; nextRunAt: number | null };

/** Pure: the decision for `schedule` at `now` (ms). */
export function decideFiring(schedule: ScheduleTiming, now: number): Firing {
  if (schedule.paused || schedule.nextRunAt === null) return { kind: "idle" };
  if (schedule.nextRunAt > now) return { kind: "wait", alarmAt: schedule.nextRunAt };
  const latest = latestDueAtOrBefore(schedule.cron, schedule.timezone, now);
  const dueAt = latest !== null && latest > schedule.nextRunAt ? latest : schedule.nextRunAt;
  return { kind: "run", dueAt, nextRunAt: nextDueAfter(schedule.cron, schedule.timezone, now) };
}
