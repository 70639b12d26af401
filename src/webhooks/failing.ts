import type { Env } from "../env";
import { decodeCursor, encodeCursor } from "../jobs/cursor";
import { isoTime } from "../platform/clock";
import { isBatchId, isEventId } from "../platform/ids";
import { databases } from "../store/databases";
import { type FailingEventRow, failingEvents } from "../store/webhook-events";

/** One failing event in `GET /v1/failing-deliveries` (shape: contract/schemas.ts `FailingDeliveries`). */
export interface FailingEventView {
  id: string;
  /** The job whose event it is; null for a batch's `batch.completed` event. */
  job_id: string | null;
  /** The batch whose `batch.completed` event it is; null for a job's event. */
  batch_id: string | null;
  type: string;
  status: "pending" | "failed";
  attempts: number;
  callback_url: string;
  created_at: string;
  next_attempt_at: string | null;
  last_attempt: {
    attempted_at: string;
    http_status: number | null;
    error: string | null;
    response_body: string | null;
  } | null;
}

/**
 * A page of the tenant's failing callbacks across jobs and batches, newest
 * first: events that failed, or are pending with a retry under way, each
 * with its latest attempt. Every shard is asked for a page and the pages are
 * merged by id, as job lists are. Throws 400 for a cursor this API did not give.
 */
export async function listFailingDeliveries(
  env: Env,
  tenantId: string,
  options: { limit: number; cursor?: string },
): Promise<{ events: FailingEventView[]; next_cursor: string | null }> {
  const beforeId = options.cursor === undefined ? null : decodeCursor(options.cursor, isEventId);
  const pages = await Promise.all(
    databases(env).shards.map((db) => failingEvents(db, tenantId, beforeId, options.limit + 1).all<FailingEventRow>()),
  );
  const rows = pages.flatMap((page) => page.results).sort((a, b) => (a.id < b.id ? 1 : -1));
  const events = rows.slice(0, options.limit);
  const last = events.at(-1);
  return {
    events: events.map(toView),
    next_cursor: rows.length > options.limit && last ? encodeCursor(last.id) : null,
  };
}

function toView(row: FailingEventRow): FailingEventView {
  // A batch's event is stored with the batch id in job_id (migration 0010).
  const ofBatch = isBatchId(row.job_id);
  return {
    id: row.id,
    job_id: ofBatch ? null : row.job_id,
    batch_id: ofBatch ? row.job_id : null,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    callback_url: row.callback_url,
    created_at: isoTime(row.created_at) as string,
    next_attempt_at: isoTime(row.next_attempt_at),
    last_attempt:
      row.last_attempted_at === null
        ? null
        : {
            attempted_at: isoTime(row.last_attempted_at) as string,
            http_status: row.last_http_status,
            error: row.last_error,
            response_body: row.last_response_body,
          },
  };
}
