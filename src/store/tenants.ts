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

/** The new secret signs from now on; the old one also signs until `previousValidUntil`. */
export async function rotateWebhookSecret(
  db: D1Database,
  tenantId: string,
  secret: string,
  previousValidUntil: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE tenants SET previous_webhook_secret = webhook_secret, previous_secret_valid_until = ?,
         webhook_secret = ? WHERE id = ?`,
    )
    .bind(previousValidUntil, secret, tenantId)
    .run();
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
