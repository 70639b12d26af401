import type { z } from "zod";
import { idempotencyWindowMs, parseConfig } from "../config";
import type { CreateScheduleSchema, ScheduleSchema, UpdateScheduleSchema } from "../contract/schemas";
import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import type { SubmitJobRequest } from "../jobs/model";
import { type Idempotency, prepareJob, usedIdempotencyKey } from "../jobs/submit";
import { limits } from "../limits";
import { clock, isoTime } from "../platform/clock";
import { isScheduleId, newId } from "../platform/ids";
import { deleteExpiredIdempotencyKey, insertScheduleCreateKey } from "../store/idempotency";
import {
  deleteSchedule as deleteScheduleRow,
  findSchedule,
  insertScheduleWithinLimit,
  listSchedules,
  type ScheduleRecord,
  updateSchedule as updateScheduleRow,
} from "../store/schedules";
import { checkCron, nextDueAfter } from "./cron";

/**
 * Schedules as the API sees them (API.md "Schedules"): validation, the
 * tenant's limit, and waking the schedule's timer after every change so its
 * alarm follows the stored next due time. Rows live on the control database.
 */
export type CreateScheduleRequest = z.output<typeof CreateScheduleSchema>;
export type UpdateScheduleRequest = z.output<typeof UpdateScheduleSchema>;
export type ScheduleView = z.output<typeof ScheduleSchema>;

export const scheduleNotFound = () => new DomainError(404, "not_found", "No schedule with this id.");

/**
 * Creates a schedule and arms its timer. With `idempotency` (its
 * Idempotency-Key, scope `schedule_create`), a repeat within 24 h answers
 * the schedule the first request created (`replayed`), as BullMQ's
 * `upsertJobScheduler` keeps one scheduler per id. Throws 400 for a bad
 * field, 409 `schedule_limit` past the tenant's limit, 409
 * `idempotency_conflict` for the key with another body, or when the
 * key's schedule was deleted since.
 */
export async function createSchedule(
  env: Env,
  tenantId: string,
  request: CreateScheduleRequest,
  idempotency: Idempotency | null = null,
): Promise<{ schedule: ScheduleRecord; replayed: boolean }> {
  const now = clock.now();
  const since = now - idempotencyWindowMs(parseConfig(env).retentionMs);
  if (idempotency) {
    const replay = await replayCreate(env, tenantId, idempotency, since);
    if (replay) return { schedule: replay, replayed: true };
  }
  checkSchedule(env, tenantId, request, now);
  const schedule: ScheduleRecord = {
    id: newId.schedule(),
    tenantId,
    name: request.name ?? null,
    cron: request.cron,
    timezone: request.timezone,
    jobJson: JSON.stringify(request.job),
    paused: request.paused,
    nextRunAt: request.paused ? null : nextDueAfter(request.cron, request.timezone, now),
    lastRunAt: null,
    lastJobId: null,
    createdAt: now,
    updatedAt: now,
  };
  const insert = insertScheduleWithinLimit(env.DB, schedule, limits.maxSchedulesPerTenant);
  let inserted: D1Result;
  if (idempotency) {
    const { key, requestHash } = idempotency;
    const record = { requestHash, jobIds: [schedule.id], createdAt: now };
    try {
      [, inserted] = (await env.DB.batch([
        deleteExpiredIdempotencyKey(env.DB, tenantId, "schedule_create", key, since),
        insert,
        insertScheduleCreateKey(env.DB, tenantId, key, record),
      ])) as [D1Result, D1Result, D1Result];
    } catch (error) {
      // A concurrent create with the same key won (the whole batch was refused): answer its schedule.
      const replay = await replayCreate(env, tenantId, idempotency, since);
      if (!replay) throw error;
      return { schedule: replay, replayed: true };
    }
  } else {
    inserted = await insert.run();
  }
  if (inserted.meta.changes !== 1) {
    throw new DomainError(
      409,
      "schedule_limit",
      `This tenant has ${limits.maxSchedulesPerTenant} schedules, the most allowed; delete one to create another.`,
    );
  }
  await wakeTimer(env, schedule.id);
  return { schedule, replayed: false };
}

/**
 * The schedule an earlier create with this key made, or null when the key is
 * unknown or expired. Throws 409 `idempotency_conflict` when that schedule
 * was deleted since: the key's request can neither be replayed nor made
 * again (a 404 would read as a wrong route to a client retrying a POST).
 */
async function replayCreate(
  env: Env,
  tenantId: string,
  idempotency: Idempotency,
  usedSince: number,
): Promise<ScheduleRecord | null> {
  const found = await usedIdempotencyKey(env.DB, tenantId, idempotency, usedSince);
  if (!found) return null;
  const id = found.jobIds[0] ?? "";
  const schedule = await findTenantSchedule(env, tenantId, id);
  if (schedule) return schedule;
  throw new DomainError(
    409,
    "idempotency_conflict",
    `This Idempotency-Key created schedule ${id}, which has since been deleted; send another key to create a schedule.`,
  );
}

/** The tenant's schedule; 404 for an unknown id or another tenant's. */
export async function getSchedule(env: Env, tenantId: string, id: string): Promise<ScheduleRecord> {
  const found = await findTenantSchedule(env, tenantId, id);
  if (!found) throw scheduleNotFound();
  return found;
}

/** The tenant's schedule, or null for an unknown id, one not shaped like a schedule's, or another tenant's. */
function findTenantSchedule(env: Env, tenantId: string, id: string): Promise<ScheduleRecord | null> {
  return isScheduleId(id) ? findSchedule(env.DB, id, tenantId) : Promise.resolve(null);
}

/** A page of the tenant's schedules, newest first; the cursor is the page's last id. */
export async function listTenantSchedules(
  env: Env,
  tenantId: string,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ schedules: ScheduleRecord[]; nextCursor: string | null }> {
  if (options.cursor !== undefined && !isScheduleId(options.cursor)) {
    throw new DomainError(400, "validation_failed", "The cursor is not one this API gave out.", [
      { path: "query.cursor", message: "invalid cursor" },
    ]);
  }
  const rows = await listSchedules(env.DB, tenantId, options.limit + 1, options.cursor);
  const schedules = rows.slice(0, options.limit);
  const last = schedules.at(-1);
  return { schedules, nextCursor: rows.length > options.limit && last ? last.id : null };
}

/**
 * Changes any of cron, timezone, job, paused and name. A change of timing
 * (cron, timezone, paused) recomputes the next due time from now (a resumed
 * schedule does not catch up) and moves the timer's alarm. Written over the
 * version it read; a concurrent PATCH or run makes it read and apply the
 * patch again. Throws 404 when the tenant has no such schedule, 400 as a
 * create does.
 */
export async function updateSchedule(
  env: Env,
  tenantId: string,
  id: string,
  patch: UpdateScheduleRequest,
): Promise<ScheduleRecord> {
  for (;;) {
    const current = await getSchedule(env, tenantId, id);
    const updated = patched(env, current, patch, clock.now());
    if (await updateScheduleRow(env.DB, updated, current)) {
      if (updated.nextRunAt !== current.nextRunAt || updated.paused !== current.paused) await wakeTimer(env, id);
      return updated;
    }
  }
}

/** `current` with `patch` applied at `now` (checked like a create). */
function patched(env: Env, current: ScheduleRecord, patch: UpdateScheduleRequest, now: number): ScheduleRecord {
  const cron = patch.cron ?? current.cron;
  const timezone = patch.timezone ?? current.timezone;
  const paused = patch.paused ?? current.paused;
  const job = patch.job ?? (JSON.parse(current.jobJson) as SubmitJobRequest);
  checkSchedule(env, current.tenantId, { cron, timezone, job }, now);
  const retimed = cron !== current.cron || timezone !== current.timezone || paused !== current.paused;
  return {
    ...current,
    name: patch.name === undefined ? current.name : patch.name,
    cron,
    timezone,
    jobJson: patch.job === undefined ? current.jobJson : JSON.stringify(patch.job),
    paused,
    nextRunAt: !retimed ? current.nextRunAt : paused ? null : nextDueAfter(cron, timezone, now),
    // Always a new version, even within the millisecond the read one was written in.
    updatedAt: Math.max(now, current.updatedAt + 1),
  };
}

/** Deletes the schedule and clears its timer's alarm; 404 when the tenant has no such schedule. */
export async function deleteSchedule(env: Env, tenantId: string, id: string): Promise<void> {
  if (!isScheduleId(id) || !(await deleteScheduleRow(env.DB, tenantId, id))) throw scheduleNotFound();
  await wakeTimer(env, id);
}

export function toScheduleView(schedule: ScheduleRecord): ScheduleView {
  return {
    id: schedule.id,
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    job: JSON.parse(schedule.jobJson),
    paused: schedule.paused,
    next_run_at: isoTime(schedule.nextRunAt),
    last_run_at: isoTime(schedule.lastRunAt),
    last_job_id: schedule.lastJobId,
    created_at: isoTime(schedule.createdAt) as string,
  };
}

/**
 * The timer reads the stored schedule and sets, moves or clears its alarm
 * (schedule-timer.ts). The change is stored either way: a timer that could
 * not be reached is woken by the sweep once a due time passes unrun, and an
 * alarm left behind by a delete finds no schedule and ends.
 */
async function wakeTimer(env: Env, id: string): Promise<void> {
  await env.SCHEDULE_TIMER.getByName(id)
    .wake()
    .catch((error: unknown) => {
      console.error("schedule timer not woken; the sweep will wake it", { scheduleId: id, error: String(error) });
    });
}

/**
 * The cron and zone, and the job body as a submit would check it (its job
 * type, input, callback, sizes), then its size as stored with the schedule.
 */
function checkSchedule(
  env: Env,
  tenantId: string,
  schedule: { cron: string; timezone: string; job: SubmitJobRequest },
  now: number,
): void {
  checkCron(schedule.cron, schedule.timezone, now);
  prepareJob(env, tenantId, schedule.job, now, "job.", 0);
  const bytes = new TextEncoder().encode(JSON.stringify(schedule.job)).byteLength;
  if (bytes > limits.maxScheduleJobBytes) {
    const message = `The job is ${bytes} bytes as JSON; a schedule's job may be at most ${limits.maxScheduleJobBytes}.`;
    throw new DomainError(413, "payload_too_large", message, [{ path: "job", message }]);
  }
}
