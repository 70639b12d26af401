import { sql } from "./sql";

/**
 * Schedules, on the control database (migrations/0009_schedules.sql). Times
 * are Unix ms. Every read and change by a tenant names the tenant, so another
 * tenant's schedule is never found.
 */
export interface ScheduleRecord {
  id: string;
  tenantId: string;
  name: string | null;
  cron: string;
  timezone: string;
  /** The submit body each run creates a job from, as JSON. */
  jobJson: string;
  paused: boolean;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

interface ScheduleRow {
  id: string;
  tenant_id: string;
  name: string | null;
  cron: string;
  timezone: string;
  job_json: string;
  paused: number;
  next_run_at: number | null;
  last_run_at: number | null;
  last_job_id: string | null;
  created_at: number;
  updated_at: number;
}

const fromRow = (row: ScheduleRow): ScheduleRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  cron: row.cron,
  timezone: row.timezone,
  jobJson: row.job_json,
  paused: row.paused === 1,
  nextRunAt: row.next_run_at,
  lastRunAt: row.last_run_at,
  lastJobId: row.last_job_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/**
 * Stores a new schedule unless its tenant already has `max`: one statement,
 * so concurrent creations cannot pass the limit together. Answers false when
 * the limit refused it.
 */
export async function insertScheduleWithinLimit(db: D1Database, s: ScheduleRecord, max: number): Promise<boolean> {
  const result = await sql(db)`INSERT INTO schedules
    (id, tenant_id, name, cron, timezone, job_json, paused, next_run_at, last_run_at, last_job_id, created_at, updated_at)
    SELECT ${s.id}, ${s.tenantId}, ${s.name}, ${s.cron}, ${s.timezone}, ${s.jobJson}, ${s.paused}, ${s.nextRunAt},
      ${s.lastRunAt}, ${s.lastJobId}, ${s.createdAt}, ${s.updatedAt}
    WHERE (SELECT COUNT(*) FROM schedules WHERE tenant_id = ${s.tenantId}) < ${max}`.run();
  return result.meta.changes === 1;
}

/** The schedule with this id; of `tenantId` only, when given (a timer reads its own by id alone). */
export async function findSchedule(db: D1Database, id: string, tenantId?: string): Promise<ScheduleRecord | null> {
  const row =
    tenantId === undefined
      ? await sql(db)`SELECT * FROM schedules WHERE id = ${id}`.first<ScheduleRow>()
      : await sql(db)`SELECT * FROM schedules WHERE id = ${id} AND tenant_id = ${tenantId}`.first<ScheduleRow>();
  return row ? fromRow(row) : null;
}

/** Up to `limit` of the tenant's schedules, newest first, those created before `beforeId` when given. */
export async function listSchedules(
  db: D1Database,
  tenantId: string,
  limit: number,
  beforeId?: string,
): Promise<ScheduleRecord[]> {
  const { results } =
    beforeId === undefined
      ? await sql(
          db,
        )`SELECT * FROM schedules WHERE tenant_id = ${tenantId} ORDER BY id DESC LIMIT ${limit}`.all<ScheduleRow>()
      : await sql(db)`SELECT * FROM schedules WHERE tenant_id = ${tenantId} AND id < ${beforeId}
          ORDER BY id DESC LIMIT ${limit}`.all<ScheduleRow>();
  return results.map(fromRow);
}

/**
 * Writes a changed schedule's fields (a PATCH) over the version `read` was
 * taken at: its `updated_at` and `next_run_at` (which a run moves). Answers
 * false when the schedule is gone or changed meanwhile (the caller reads
 * again), so two PATCHes at once never write back each other's old fields.
 */
export async function updateSchedule(
  db: D1Database,
  s: ScheduleRecord,
  read: Pick<ScheduleRecord, "updatedAt" | "nextRunAt">,
): Promise<boolean> {
  const result = await sql(db)`UPDATE schedules SET name = ${s.name}, cron = ${s.cron}, timezone = ${s.timezone},
    job_json = ${s.jobJson}, paused = ${s.paused}, next_run_at = ${s.nextRunAt}, updated_at = ${s.updatedAt}
    WHERE id = ${s.id} AND tenant_id = ${s.tenantId} AND updated_at = ${read.updatedAt}
      AND next_run_at IS ${read.nextRunAt}`.run();
  return result.meta.changes === 1;
}

/** Deletes the tenant's schedule. Answers false when there was none. */
export async function deleteSchedule(db: D1Database, tenantId: string, id: string): Promise<boolean> {
  const result = await sql(db)`DELETE FROM schedules WHERE id = ${id} AND tenant_id = ${tenantId}`.run();
  return result.meta.changes === 1;
}

/**
 * Records a run and the next due time, only while the schedule still waits
 * for `dueFrom` (a PATCH or DELETE meanwhile wins). A null `lastRunAt` and
 * `lastJobId` keep the last run as it was (a due time that made no job).
 * Answers whether it did.
 */
export async function recordScheduleRun(
  db: D1Database,
  id: string,
  run: { dueFrom: number; lastRunAt: number | null; lastJobId: string | null; nextRunAt: number | null },
): Promise<boolean> {
  const result = await sql(db)`UPDATE schedules SET last_run_at = COALESCE(${run.lastRunAt}, last_run_at),
    last_job_id = COALESCE(${run.lastJobId}, last_job_id), next_run_at = ${run.nextRunAt}
    WHERE id = ${id} AND next_run_at = ${run.dueFrom}`.run();
  return result.meta.changes === 1;
}

/** Ids of schedules due before `dueBefore` (overdue: their alarm was lost), the most overdue first. */
export async function listOverdueScheduleIds(db: D1Database, dueBefore: number, limit: number): Promise<string[]> {
  const { results } = await sql(
    db,
  )`SELECT id FROM schedules WHERE next_run_at IS NOT NULL AND next_run_at < ${dueBefore}
    ORDER BY next_run_at LIMIT ${limit}`.all<{ id: string }>();
  return results.map((row) => row.id);
}
