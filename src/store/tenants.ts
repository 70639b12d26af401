export interface Tenant {
  id: string;
  webhookSecret: string;
  previousWebhookSecret: string | null;
  previousSecretValidUntil: number | null;
}

interface TenantRow {
  id: string;
  webhook_secret: string;
  previous_webhook_secret: string | null;
  previous_secret_valid_until: number | null;
}

export function insertTenant(db: D1Database, id: string, webhookSecret: string, now: number): D1PreparedStatement {
  return db
    .prepare("INSERT INTO tenants (id, webhook_secret, created_at) VALUES (?, ?, ?)")
    .bind(id, webhookSecret, now);
}

export async function findTenant(db: D1Database, id: string): Promise<Tenant | null> {
  const row = await db.prepare("SELECT * FROM tenants WHERE id = ?").bind(id).first<TenantRow>();
  return row
    ? {
        id: row.id,
        webhookSecret: row.webhook_secret,
        previousWebhookSecret: row.previous_webhook_secret,
        previousSecretValidUntil: row.previous_secret_valid_until,
      }
    : null;
}

export type Rotation = { rotated: true } | { rotated: false; olderValidUntil: number };

/**
 * The new secret signs from now on; the current one keeps signing until
 * `previousValidUntil` and the previous one until its own time (ms). Refused,
 * changing nothing, while the secret rotated out before the previous one is
 * still valid at `now`: dropping it would break its promise, keeping it
 * would make a fourth valid secret. `olderValidUntil` says when it lapses.
 */
export async function rotateWebhookSecret(
  db: D1Database,
  tenantId: string,
  secret: string,
  previousValidUntil: number,
  now: number,
): Promise<Rotation> {
  // Every right-hand side reads the row as it was: the secrets shift down by one.
  const [rotated, before] = await db.batch<{ older_secret_valid_until: number | null }>([
    db
      .prepare(
        `UPDATE tenants SET older_webhook_secret = previous_webhook_secret,
           older_secret_valid_until = previous_secret_valid_until,
           previous_webhook_secret = webhook_secret, previous_secret_valid_until = ?1, webhook_secret = ?2
         WHERE id = ?3 AND COALESCE(older_secret_valid_until, 0) <= ?4
         RETURNING older_secret_valid_until`,
      )
      .bind(previousValidUntil, secret, tenantId, now),
    db.prepare("SELECT older_secret_valid_until FROM tenants WHERE id = ?").bind(tenantId),
  ]);
  if ((rotated?.results.length ?? 0) > 0) return { rotated: true };
  return { rotated: false, olderValidUntil: before?.results[0]?.older_secret_valid_until ?? now };
}

export interface TenantLimits {
  submit_per_minute: number | null;
  read_per_minute: number | null;
  max_running_jobs: number | null;
}

/** Sets the given limits (null: back to the default); null when there is no such tenant. */
export async function updateTenantLimits(
  db: D1Database,
  tenantId: string,
  changes: Partial<TenantLimits>,
): Promise<TenantLimits | null> {
  const columns = (["submit_per_minute", "read_per_minute", "max_running_jobs"] as const).filter(
    (column) => changes[column] !== undefined,
  );
  const assignments = columns.length > 0 ? columns.map((column) => `${column} = ?`).join(", ") : "id = id";
  return db
    .prepare(
      `UPDATE tenants SET ${assignments} WHERE id = ?
       RETURNING submit_per_minute, read_per_minute, max_running_jobs`,
    )
    .bind(...columns.map((column) => changes[column]), tenantId)
    .first<TenantLimits>();
}
