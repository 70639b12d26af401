export interface WebhookEventRecord {
  id: string;
  tenantId: string;
  jobId: string;
  type: string;
  payload: string;
  callbackUrl: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  createdAt: number;
}

interface WebhookEventRow {
  id: string;
  tenant_id: string;
  job_id: string;
  type: string;
  payload: string;
  callback_url: string;
  status: WebhookEventRecord["status"];
  attempts: number;
  created_at: number;
}

export function insertWebhookEvent(db: D1Database, event: WebhookEventRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO webhook_events (id, tenant_id, job_id, type, payload, callback_url, status, attempts, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)`,
    )
    .bind(
      event.id,
      event.tenantId,
      event.jobId,
      event.type,
      event.payload,
      event.callbackUrl,
      event.status,
      event.attempts,
      event.createdAt,
    );
}

export async function findWebhookEvent(db: D1Database, id: string): Promise<WebhookEventRecord | null> {
  const row = await db.prepare("SELECT * FROM webhook_events WHERE id = ?").bind(id).first<WebhookEventRow>();
  return row
    ? {
        id: row.id,
        tenantId: row.tenant_id,
        jobId: row.job_id,
        type: row.type,
        payload: row.payload,
        callbackUrl: row.callback_url,
        status: row.status,
        attempts: row.attempts,
        createdAt: row.created_at,
      }
    : null;
}

export interface DeliveryOutcome {
  status: "delivered" | "failed" | "pending";
  httpStatus: number | null;
  error: string | null;
}

export async function recordDeliveryAttempt(
  db: D1Database,
  id: string,
  outcome: DeliveryOutcome,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE webhook_events SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?, updated_at = ?
       WHERE id = ?`,
    )
    .bind(outcome.status, outcome.httpStatus, outcome.error, now, id)
    .run();
}

/** Events still pending after `before`: their queue message was lost or never sent. */
export async function listStalePendingEventIds(db: D1Database, before: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT id FROM webhook_events WHERE status = 'pending' AND updated_at < ? LIMIT ?")
    .bind(before, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Re-arms the sweep's timer for an event that was just sent again. */
export async function touchWebhookEvent(db: D1Database, id: string, now: number): Promise<void> {
  await db.prepare("UPDATE webhook_events SET updated_at = ? WHERE id = ? AND status = 'pending'").bind(now, id).run();
}
