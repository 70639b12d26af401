import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import type { SubmitJobRequest } from "../jobs/model";
import { submitJobs } from "../jobs/submit";
import { clock } from "../platform/clock";
import { metered } from "../platform/metering";
import { serialRunner } from "../platform/serial";
import { findSchedule, recordScheduleRun, type ScheduleRecord } from "../store/schedules";
import { decideFiring } from "./firing";

/**
 * The timer of one schedule (named by its id): its alarm fires at the next
 * due time, creates that time's job through the normal submit path, records
 * the run and sets the next alarm. The schedule's row (control database) is
 * the truth; this object stores nothing but its alarm, and every wake-up —
 * the alarm, a change through the API, the sweep's backstop — reads the row
 * and does what firing.ts decides, one at a time.
 *
 * A run's job is created with an idempotency key of (schedule, due time), so
 * a duplicate wake-up for a due time whose run was not recorded (a crash
 * between the two writes, an alarm retried) answers the job already created
 * instead of making a second one.
 */
export class ScheduleTimer extends DurableObject<Env> {
  /** One wake-up at a time: each reads what the one before it wrote. */
  readonly #serially = serialRunner();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, metered(env));
  }

  /** Runs a due time that has come, then sets the alarm for the next (or clears it: paused, deleted). */
  wake(): Promise<void> {
    return this.#serially(() => this.#wake());
  }

  override alarm(): Promise<void> {
    return this.#serially(() => this.#wake());
  }

  async #wake(): Promise<void> {
    const id = this.ctx.id.name as string;
    const schedule = await findSchedule(this.env.DB, id);
    const firing = schedule ? decideFiring(schedule, clock.now()) : ({ kind: "idle" } as const);
    if (schedule && firing.kind === "run") {
      const jobId = await this.#createJob(schedule, firing.dueAt);
      const recorded = await recordScheduleRun(this.env.DB, id, {
        dueFrom: schedule.nextRunAt as number,
        lastRunAt: jobId === null ? null : firing.dueAt,
        lastJobId: jobId,
        nextRunAt: firing.nextRunAt,
      });
      // A change stored meanwhile decides the alarm (its own wake-up waits behind this one).
      if (!recorded) return this.#wake();
      return this.#setAlarm(firing.nextRunAt);
    }
    return this.#setAlarm(firing.kind === "wait" ? firing.alarmAt : null);
  }

  /**
   * The job of `dueAt`, or null when its body no longer passes a submit's
   * checks (a job type removed since, a callback setting changed): that due
   * time is skipped, with a log line, rather than retried forever. Other
   * failures (D1 unreachable) throw: the alarm is retried, and the sweep wakes
   * a schedule whose due time passed unrun.
   */
  async #createJob(schedule: ScheduleRecord, dueAt: number): Promise<string | null> {
    const request = JSON.parse(schedule.jobJson) as SubmitJobRequest;
    // The key alone identifies the run, so a body changed meanwhile replays the run's job rather than conflicting.
    const idempotency = { scope: "schedule" as const, key: `${schedule.id}@${dueAt}`, requestHash: "" };
    try {
      const { jobs } = await submitJobs(this.env, schedule.tenantId, [request], {
        idempotency,
        scheduleId: schedule.id,
      });
      return jobs[0]?.id ?? null;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      console.error("a schedule's job was refused; this due time is skipped", {
        scheduleId: schedule.id,
        dueAt,
        code: error.code,
        message: error.message,
      });
      return null;
    }
  }

  async #setAlarm(at: number | null): Promise<void> {
    if (at === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
  }
}
