import type { Env } from "../env";
import { limits } from "../limits";
import { listOverdueScheduleIds } from "../store/schedules";

/**
 * The cron trigger's backstop for schedule timers: wakes the timers of
 * schedules whose next due time passed more than a few seconds ago without
 * a run (an alarm lost, a timer unreachable when the schedule changed). A
 * timer woken twice for one due time still makes one job (schedule-timer.ts).
 * Answers how many it woke.
 */
export async function wakeOverdueSchedules(env: Env, now: number): Promise<number> {
  const overdueBefore = now - limits.scheduleOverdueSeconds * 1000;
  const ids = await listOverdueScheduleIds(env.DB, overdueBefore, limits.scheduleSweepBatch);
  // One timer that fails (it is retried next minute) does not stop the others or the rest of the sweep.
  const woken = await Promise.allSettled(ids.map((id) => env.SCHEDULE_TIMER.getByName(id).wake()));
  woken.forEach((outcome, i) => {
    if (outcome.status === "rejected") {
      console.error("overdue schedule not woken", { scheduleId: ids[i], error: String(outcome.reason) });
    }
  });
  return ids.length;
}
