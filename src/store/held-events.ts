import type { HeldAttempt, JobRecord } from "./job-record";
import { jobAt, owedStatusOf, shownStatusSql, storedStatusesOf, type TerminalJobStatus } from "./jobs";
import { sql, sqlFragment } from "./sql";

/**
 * A finished job's callback event held on the job's row (store/job-record.ts
 * `HeldEvent`, migration 0021), by what finds it: the job's tenant, id and
 * the status it ended at, and the event's id.
 */
export interface HeldEventKey {
  tenantId: string;
  jobId: string;
  status: TerminalJobStatus;
  eventId: string;
}

/**
 * Records the held event's first attempt, which delivered, on its job's
 * row, and moves the row from its owed status to the status shown: one row
 * written, where the event's own row cost two (stored, then settled).
 * Changes nothing when the row no longer holds the event owed: it was given
 * a row of its own meanwhile (`materializeHeldEvents`: the sweep, a
 * redelivery); its writer then records the attempt there
 * (store/webhook-events.ts `recordAttempt`, webhooks/deliver.ts `record`). The job's `version` and `updated_at`
 * stay: the job did not change, and a payload rebuilt from its row later
 * must match the one this attempt sent.
 */
export function recordHeldDelivery(db: D1Database, key: HeldEventKey, attempt: HeldAttempt): D1PreparedStatement {
  return sql(db)`UPDATE jobs SET status = ${key.status}, event_attempted_at = ${attempt.attemptedAt},
      event_duration_ms = ${attempt.durationMs}, event_http_status = ${attempt.httpStatus},
      event_response_body = ${attempt.responseBody}
    WHERE ${jobAt(key.tenantId, owedStatusOf(key.status), key.jobId)} AND event_id = ${key.eventId}`;
}

/**
 * Gives each held event of `keys` a row of its own in `webhook_events`, as
 * the job's end would have stored it (`sending`, no attempt, due when
 * stored, its payload rebuilt from the job's row), or, once delivered,
 * `delivered` with its attempt; and clears it from its job's row, which
 * moves to the status shown. Two statements for one transaction (D1
 * batch), however many keys (one bound JSON array); a key whose job no
 * longer holds its event changes nothing, so two callers racing give the
 * event one row. For an event that needs more than its first attempt: it
 * failed, its origin is slow, the sweep found it overdue, a redelivery.
 */
export function materializeHeldEvents(db: D1Database, keys: readonly HeldEventKey[]): D1PreparedStatement[] {
  const rows = keys.flatMap((k) => storedStatusesOf(k.status).map((status) => [k.tenantId, status, k.jobId]));
  // The job's key (a probe of it for each status it may be at), and one of the events listed.
  const held = sqlFragment`(tenant_id, status, id) IN (SELECT value ->> 0, value ->> 1, value ->> 2
      FROM json_each(${JSON.stringify(rows)}))
    AND event_id IN (SELECT value FROM json_each(${JSON.stringify(keys.map((k) => k.eventId))}))`;
  const owed = sqlFragment`event_attempted_at IS NULL`;
  return [
    sql(db)`INSERT INTO webhook_events (status, job_id, id, tenant_id, type, payload, callback_url, attempts,
        created_at, updated_at, next_attempt_at, first_attempted_at, first_manual, first_duration_ms,
        first_http_status, first_response_body)
      SELECT IIF(${owed}, 'sending', 'delivered'), id, event_id, tenant_id, 'job.' || ${shownStatusSql}, '',
        callback_url, IIF(${owed}, 0, 1), event_created_at, event_created_at, IIF(${owed}, event_created_at, NULL),
        event_attempted_at, IIF(${owed}, NULL, 0), event_duration_ms, event_http_status, event_response_body
      FROM jobs WHERE ${held}`,
    sql(db)`UPDATE jobs SET status = ${shownStatusSql}, event_id = NULL, event_created_at = NULL,
        event_attempted_at = NULL, event_duration_ms = NULL, event_http_status = NULL, event_response_body = NULL
      WHERE ${held}`,
  ];
}

/** The key of the event `job`'s row holds; null when it holds none. */
export const heldEventKeyOf = (job: JobRecord): HeldEventKey | null =>
  job.heldEvent
    ? { tenantId: job.tenantId, jobId: job.id, status: job.status as TerminalJobStatus, eventId: job.heldEvent.id }
    : null;

/** The key of a held event's job, from the event as built (its type is `job.<the status it ended at>`). */
export const heldEventKey = (event: { id: string; tenantId: string; jobId: string; type: string }): HeldEventKey => ({
  tenantId: event.tenantId,
  jobId: event.jobId,
  status: event.type.slice("job.".length) as TerminalJobStatus,
  eventId: event.id,
});
