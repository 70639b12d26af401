import { type ReplicaStamp, stampChange } from "./replicated";
import { joinSql, type SqlFragment, sql, sqlFragment } from "./sql";

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

export function insertTenant(
  db: D1Database,
  id: string,
  webhookSecret: string,
  now: number,
  stamp: ReplicaStamp,
): D1PreparedStatement {
  return sql(db)`INSERT INTO tenants (id, webhook_secret, created_at, replica_digest, replica_updated_at)
    VALUES (${id}, ${webhookSecret}, ${now}, ${stamp.token}, ${stamp.at})`;
}

export async function findTenant(db: D1Database, id: string): Promise<Tenant | null> {
  const row = await sql(db)`SELECT * FROM tenants WHERE id = ${id}`.first<TenantRow>();
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
export function rotateWebhookSecret(
  db: D1Database,
  tenantId: string,
  secret: string,
  previousValidUntil: number,
  now: number,
  stamp: ReplicaStamp,
): D1PreparedStatement[] {
  // Every right-hand side reads the row as it was: the secrets shift down by one.
  return [
    sql(db)`UPDATE tenants SET older_webhook_secret = previous_webhook_secret,
        older_secret_valid_until = previous_secret_valid_until,
        previous_webhook_secret = webhook_secret, previous_secret_valid_until = ${previousValidUntil},
        webhook_secret = ${secret}, ${stampChange(stamp)}
      WHERE id = ${tenantId} AND COALESCE(older_secret_valid_until, 0) <= ${now}
      RETURNING older_secret_valid_until`,
    sql(db)`SELECT older_secret_valid_until FROM tenants WHERE id = ${tenantId}`,
  ];
}

/** What the statements of `rotateWebhookSecret` did, from their results. */
export function rotationDone(results: D1Result<{ older_secret_valid_until: number | null }>[], now: number): Rotation {
  const [rotated, before] = results;
  if ((rotated?.results.length ?? 0) > 0) return { rotated: true };
  return { rotated: false, olderValidUntil: before?.results[0]?.older_secret_valid_until ?? now };
}

export interface TenantLimits {
  submit_per_minute: number | null;
  read_per_minute: number | null;
  max_running_jobs: number | null;
}

/** How each limit is written: its column is SQL text, its value bound. */
const limitAssignments: Record<keyof TenantLimits, (value: number | null) => SqlFragment> = {
  submit_per_minute: (value) => sqlFragment`submit_per_minute = ${value}`,
  read_per_minute: (value) => sqlFragment`read_per_minute = ${value}`,
  max_running_jobs: (value) => sqlFragment`max_running_jobs = ${value}`,
};

/** Sets the given limits (null: back to the default); its row answers them, or none when there is no such tenant. */
export function updateTenantLimits(
  db: D1Database,
  tenantId: string,
  changes: Partial<TenantLimits>,
  stamp: ReplicaStamp,
): D1PreparedStatement {
  const assignments = (Object.keys(limitAssignments) as (keyof TenantLimits)[]).flatMap((column) => {
    const value = changes[column];
    return value === undefined ? [] : [limitAssignments[column](value)];
  });
  return sql(db)`UPDATE tenants SET ${joinSql([...assignments, stampChange(stamp)], ", ")}
    WHERE id = ${tenantId}
    RETURNING submit_per_minute, read_per_minute, max_running_jobs`;
}

/** The tenant's `max_running_jobs`: null when it sets none (or there is no such tenant). */
export async function findMaxRunningJobs(db: D1Database, tenantId: string): Promise<number | null> {
  return sql(db)`SELECT max_running_jobs FROM tenants WHERE id = ${tenantId}`.first<number | null>("max_running_jobs");
}
