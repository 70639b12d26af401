import { type HeldEventKey, materializeHeldEvents } from "./held-events";
import { owedJobStatuses, type StoredJobStatus, shownStatus, type TerminalJobStatus, withTenantsOfJobs } from "./jobs";
import { type SqlFragment, sql, sqlFragment } from "./sql";
import type { WebhookEventRecord } from "./webhook-events";

/**
 * An overdue event, as the sweep sends it again; `held` when it is still
 * held on its job's row (store/held-events.ts), which `postponeEvents`
 * first gives it a row of its own.
 */
export type OverdueEvent = Pick<WebhookEventRecord, "id" | "jobId" | "attempts" | "callbackUrl"> & {
  held: HeldEventKey | null;
};

/**
 * Events whose next attempt was due before `before`, and not claimed since:
 * their message was lost, or their attempt died unrecorded. Up to `limit`,
 * taken in turn from three kinds, so none keeps the others waiting: events
 * held on their job's row whose first attempt is owed (a range of the jobs'
 * key per owed status, for each tenant with jobs on the database: a row
 * read each), events whose first attempt is not recorded (`sending`: a
 * range of the events' key), and the retries due longest ago (through
 * `webhook_events_due`). `postponeEvents` moves each to the back of the line.
 */
export async function listOverdueEvents(db: D1Database, before: number, limit: number): Promise<OverdueEvent[]> {
  const overdue = (table: SqlFragment, status: SqlFragment) => sqlFragment`SELECT * FROM (SELECT status, id, job_id,
      attempts, callback_url, tenant_id FROM ${table}
      WHERE ${status} AND next_attempt_at < ${before} AND updated_at < ${before} LIMIT ${limit})`;
  // The due index named, SQLite would otherwise read every pending event through the key; the status is text,
  // since a bound one would not match the index's condition (SQLite then finds no plan).
  const { results } = await sql(db)`${withTenantsOfJobs("")}
    ${overdue(sqlFragment`webhook_events`, sqlFragment`status = 'sending'`)} UNION ALL
    ${overdue(sqlFragment`webhook_events INDEXED BY webhook_events_due`, sqlFragment`status = 'pending'`)} UNION ALL
    SELECT * FROM (SELECT status, event_id AS id, id AS job_id, 0 AS attempts, callback_url, tenant_id FROM jobs
      WHERE tenant_id IN (SELECT id FROM tenants_with_jobs) AND status IN ${owedJobStatuses}
        AND event_created_at < ${before} LIMIT ${limit})`.all<{
    status: "sending" | "pending" | StoredJobStatus;
    id: string;
    job_id: string;
    attempts: number;
    callback_url: string;
    tenant_id: string;
  }>();
  const kindOf = (r: (typeof results)[number]) => (r.status.endsWith(":owed") ? "owed" : r.status);
  const kinds = ["sending", "pending", "owed"].map((kind) => results.filter((r) => kindOf(r) === kind));
  const inTurn = Array.from({ length: Math.max(...kinds.map((k) => k.length)) }, (_, i) => kinds.map((k) => k[i]));
  return inTurn
    .flat()
    .flatMap((r): OverdueEvent[] => {
      if (!r) return [];
      const event = { id: r.id, jobId: r.job_id, attempts: r.attempts, callbackUrl: r.callback_url };
      if (kindOf(r) !== "owed") return [{ ...event, held: null }];
      const status = shownStatus(r.status as StoredJobStatus) as TerminalJobStatus;
      return [{ ...event, held: { tenantId: r.tenant_id, jobId: r.job_id, status, eventId: r.id } }];
    })
    .slice(0, limit);
}

/**
 * Moves the next attempt time of the overdue `events` (those still
 * pending) to `nextAttemptAt` (Unix ms), so the sweep does not send them
 * twice; gives a held one a row of its own first (store/held-events.ts
 * `materializeHeldEvents`), and makes a `sending` one `pending`: it is in
 * `webhook_events_due` from then on, so the sweep's range of `sending`
 * events holds only those it has not found yet. One transaction of two
 * statements however many events (their keys go as one bound JSON array),
 * and two more before them when a held event is listed; a `pending`
 * event's status is left unwritten, since writing a key column rewrites
 * every index entry of the row.
 */
export async function postponeEvents(
  db: D1Database,
  events: readonly OverdueEvent[],
  nextAttemptAt: number,
): Promise<void> {
  const held = events.flatMap((e) => (e.held ? [e.held] : []));
  const keys = JSON.stringify(events.map((e) => [e.jobId, e.id]));
  const listed = sqlFragment`(job_id, id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${keys}))`;
  await db.batch([
    ...(held.length > 0 ? materializeHeldEvents(db, held) : []),
    sql(db)`UPDATE webhook_events SET next_attempt_at = ${nextAttemptAt} WHERE status = 'pending' AND ${listed}`,
    sql(db)`UPDATE webhook_events SET status = 'pending', next_attempt_at = ${nextAttemptAt}
      WHERE status = 'sending' AND ${listed}`,
  ]);
}
