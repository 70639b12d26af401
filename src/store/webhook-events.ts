import { type SqlFragment, sql, sqlFragment } from "./sql";

export type EventStatus = "pending" | "delivered" | "failed";

export interface WebhookEventRecord {
  id: string;
  tenantId: string;
  /** The job the event is about; for a batch's event (`batch.completed`), the batch's id. */
  jobId: string;
  type: string;
  payload: string;
  callbackUrl: string;
  status: EventStatus;
  /** Scheduled attempts made so far; the claim on the next one is taken over this number. */
  attempts: number;
  nextAttemptAt: number | null;
  createdAt: number;
}

interface WebhookEventRow {
  id: string;
  tenant_id: string;
  job_id: string;
  type: string;
  payload: string;
  callback_url: string;
  status: EventStatus;
  attempts: number;
  next_attempt_at: number | null;
  created_at: number;
}

const fromRow = (row: WebhookEventRow): WebhookEventRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  jobId: row.job_id,
  type: row.type,
  payload: row.payload,
  callbackUrl: row.callback_url,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  createdAt: row.created_at,
});

const eventColumns = sqlFragment`(id, tenant_id, job_id, type, payload, callback_url, status, attempts,
      next_attempt_at, created_at, updated_at)`;

const eventValues = (event: WebhookEventRecord) => sqlFragment`${event.id}, ${event.tenantId}, ${event.jobId},
      ${event.type}, ${event.payload}, ${event.callbackUrl}, ${event.status}, ${event.attempts},
      ${event.nextAttemptAt}, ${event.createdAt}, ${event.createdAt}`;

export function insertWebhookEvent(db: D1Database, event: WebhookEventRecord): D1PreparedStatement {
  return sql(db)`INSERT INTO webhook_events ${eventColumns} VALUES (${eventValues(event)})`;
}

/**
 * Inserts the event only if `condition` holds when the statement runs: for
 * an event that must be stored once, whose writer may try twice (a batch's
 * `batch.completed`: store/batches.ts `batchIsRunning`).
 */
export function insertWebhookEventIf(
  db: D1Database,
  event: WebhookEventRecord,
  condition: SqlFragment,
): D1PreparedStatement {
  return sql(db)`INSERT INTO webhook_events ${eventColumns} SELECT ${eventValues(event)} WHERE ${condition}`;
}

export interface SigningSecrets {
  current: string;
  /** Secrets rotated out, newest first, each signing until its `validUntil` (ms); expired ones included. */
  previous: { secret: string; validUntil: number }[];
}

/** An event as a delivery needs it: with its tenant's signing secrets. */
export interface EventForDelivery {
  event: WebhookEventRecord;
  secrets: SigningSecrets;
}

/** The secrets of the tenant `tenant` (an SQL expression) as one JSON value: one lookup of its row. */
const secretsOf = (tenant: SqlFragment) => sqlFragment`(SELECT json_object('current', webhook_secret, 'previous',
    json_array(json_object('secret', previous_webhook_secret, 'validUntil', previous_secret_valid_until),
      json_object('secret', older_webhook_secret, 'validUntil', older_secret_valid_until)))
  FROM tenants WHERE id = ${tenant}) AS signing_secrets`;

/** The event's tenant's secrets, whichever statement about an event reads them. */
const signingSecrets = secretsOf(sqlFragment`webhook_events.tenant_id`);

/**
 * The tenant's signing secrets: a statement, so it rides in the batch that
 * stores an event its writer will deliver itself (`secretsFound` reads it).
 */
export function readSigningSecrets(db: D1Database, tenantId: string): D1PreparedStatement {
  return sql(db)`SELECT ${secretsOf(sqlFragment`${tenantId}`)}`;
}

/** What `readSigningSecrets` found: null when the tenant is unknown. */
export function secretsFound(result: D1Result): SigningSecrets | null {
  const row = result.results[0] as { signing_secrets: string | null } | undefined;
  return row?.signing_secrets ? parseSecrets(row.signing_secrets) : null;
}

function parseSecrets(json: string): SigningSecrets {
  const stored = JSON.parse(json) as {
    current: string;
    previous: { secret: string | null; validUntil: number | null }[];
  };
  const previous = stored.previous.flatMap(({ secret, validUntil }) =>
    secret === null ? [] : [{ secret, validUntil: validUntil ?? 0 }],
  );
  return { current: stored.current, previous };
}

type DeliveryRow = WebhookEventRow & { signing_secrets: string };

/** The event with its secrets, for a manual attempt (redeliver), which claims nothing. */
export function readForDelivery(db: D1Database, id: string): D1PreparedStatement {
  return sql(db)`SELECT *, ${signingSecrets} FROM webhook_events WHERE id = ${id}`;
}

/**
 * Takes scheduled attempt `attempt` of a pending event and returns the event
 * with its secrets. No row when another delivery of the same message took it
 * first, or the event is no longer pending. `next_attempt_at` is left as it
 * was: an attempt that dies before it is recorded leaves the event overdue,
 * and the sweep re-sends it after its grace (beyond a request's timeout;
 * counted from the claim's `updated_at`) — and every index write is billed,
 * so the claim touches no index.
 */
export function claimForDelivery(db: D1Database, id: string, attempt: number, now: number): D1PreparedStatement {
  return sql(db)`UPDATE webhook_events SET attempts = ${attempt}, updated_at = ${now}
    WHERE id = ${id} AND status = 'pending' AND attempts = ${attempt - 1}
    RETURNING *, ${signingSecrets}`;
}

/** What `readForDelivery` or `claimForDelivery` found: null when nothing is to be sent. */
export function deliveryFound(result: D1Result): EventForDelivery | null {
  const row = result.results[0] as DeliveryRow | undefined;
  return row ? { event: fromRow(row), secrets: parseSecrets(row.signing_secrets) } : null;
}

/**
 * Marks a manual redelivery of the job's event as in flight until
 * `leaseUntil` (ms), in one statement, so of concurrent requests exactly one
 * wins. The event when this call took the mark; `{ busy: true }` while
 * another redelivery holds it; null when the job has no such event.
 */
export async function startRedelivery(
  db: D1Database,
  jobId: string,
  eventId: string,
  now: number,
  leaseUntil: number,
): Promise<Pick<WebhookEventRecord, "id" | "type" | "status" | "callbackUrl"> | { busy: true } | null> {
  const [marked, found] = await db.batch<Pick<WebhookEventRow, "id" | "type" | "status" | "callback_url">>([
    sql(db)`UPDATE webhook_events SET redelivery_until = ${leaseUntil}
      WHERE id = ${eventId} AND job_id = ${jobId} AND (redelivery_until IS NULL OR redelivery_until <= ${now})
      RETURNING id, type, status, callback_url`,
    sql(db)`SELECT id FROM webhook_events WHERE id = ${eventId} AND job_id = ${jobId}`,
  ]);
  const row = marked?.results[0];
  if (row) return { id: row.id, type: row.type, status: row.status, callbackUrl: row.callback_url };
  return (found?.results.length ?? 0) > 0 ? { busy: true } : null;
}

/** Frees the event for the next manual redelivery: its attempt is recorded, or was never queued. */
export function endRedelivery(db: D1Database, eventId: string): D1PreparedStatement {
  return sql(db)`UPDATE webhook_events SET redelivery_until = NULL WHERE id = ${eventId}`;
}

/** The job's events, oldest first. */
export async function listJobEvents(db: D1Database, jobId: string): Promise<WebhookEventRecord[]> {
  const { results } = await sql(db)`SELECT * FROM webhook_events WHERE job_id = ${jobId}
    ORDER BY created_at, id`.all<WebhookEventRow>();
  return results.map(fromRow);
}

/**
 * Sets where the event stands after scheduled attempt `attempt`: still
 * pending (with its next time), delivered or failed. The attempt is counted
 * too: a claimed one already was, the first one its writer made without a
 * claim (webhooks/first-attempt.ts) is counted here.
 */
export function settleEvent(
  db: D1Database,
  id: string,
  attempt: number,
  status: EventStatus,
  nextAttemptAt: number | null,
  now: number,
): D1PreparedStatement {
  // A delivered event stays delivered, whatever a concurrent attempt concludes.
  return sql(db)`UPDATE webhook_events SET status = ${status}, next_attempt_at = ${nextAttemptAt}, updated_at = ${now},
      attempts = MAX(attempts, ${attempt})
    WHERE id = ${id} AND status != 'delivered'`;
}

export interface DeliveryRecord {
  eventId: string;
  jobId: string;
  tenantId: string;
  trigger: "scheduled" | "manual";
  attemptedAt: number;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  responseBody: string | null;
  nextAttemptAt: number | null;
}

/** Logs an attempt; its number counts every earlier attempt of the event, scheduled or manual. */
export function insertDelivery(db: D1Database, d: DeliveryRecord): D1PreparedStatement {
  return sql(db)`INSERT INTO webhook_deliveries (event_id, job_id, tenant_id, attempt, trigger, attempted_at,
      duration_ms, http_status, error, response_body, next_attempt_at)
    VALUES (${d.eventId}, ${d.jobId}, ${d.tenantId},
      (SELECT COUNT(*) + 1 FROM webhook_deliveries WHERE job_id = ${d.jobId} AND event_id = ${d.eventId}),
      ${d.trigger}, ${d.attemptedAt}, ${d.durationMs}, ${d.httpStatus}, ${d.error}, ${d.responseBody},
      ${d.nextAttemptAt})`;
}

export interface DeliveryLogRow {
  event_id: string;
  event_type: string;
  attempt: number;
  trigger: "scheduled" | "manual";
  attempted_at: number;
  duration_ms: number;
  http_status: number | null;
  error: string | null;
  response_body: string | null;
  next_attempt_at: number | null;
}

/** Every attempt for the job's events, in the order they were made. */
export async function listJobDeliveries(db: D1Database, jobId: string): Promise<DeliveryLogRow[]> {
  const { results } = await sql(db)`SELECT d.event_id, e.type AS event_type, d.attempt, d.trigger, d.attempted_at,
      d.duration_ms, d.http_status, d.error, d.response_body, d.next_attempt_at
    FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
    WHERE d.job_id = ${jobId} ORDER BY d.id`.all<DeliveryLogRow>();
  return results;
}

/**
 * Pending events whose next attempt was due before `before`, and not claimed
 * since: their message was lost, or their attempt died unrecorded.
 */
export async function listOverdueEvents(
  db: D1Database,
  before: number,
  limit: number,
): Promise<{ id: string; attempts: number; callbackUrl: string }[]> {
  const { results } = await sql(db)`SELECT id, attempts, callback_url FROM webhook_events
    WHERE status = 'pending' AND next_attempt_at < ${before} AND updated_at < ${before} LIMIT ${limit}`.all<{
    id: string;
    attempts: number;
    callback_url: string;
  }>();
  return results.map((r) => ({ id: r.id, attempts: r.attempts, callbackUrl: r.callback_url }));
}

/** Moves an overdue event's next attempt time, so the sweep does not send it twice. */
export async function postponeEvent(db: D1Database, id: string, nextAttemptAt: number): Promise<void> {
  await sql(db)`UPDATE webhook_events SET next_attempt_at = ${nextAttemptAt}
    WHERE id = ${id} AND status = 'pending'`.run();
}

/** A failing event with its latest attempt, as the console's failing-deliveries list shows it. */
export interface FailingEventRow {
  id: string;
  job_id: string;
  type: string;
  status: "pending" | "failed";
  attempts: number;
  callback_url: string;
  created_at: number;
  next_attempt_at: number | null;
  last_attempted_at: number | null;
  last_http_status: number | null;
  last_error: string | null;
  last_response_body: string | null;
}

/**
 * The tenant's events that failed, or are pending with a retry under way
 * (a second scheduled attempt claimed: see migration 0011 for why not the
 * first), newest first, below `beforeId` when given; each with its latest
 * attempt. Read through the partial index `webhook_events_failing`
 * (migration 0011), whose condition the query repeats word for word so
 * SQLite can use it.
 */
export function failingEvents(
  db: D1Database,
  tenantId: string,
  beforeId: string | null,
  limit: number,
): D1PreparedStatement {
  const below = beforeId === null ? sqlFragment`` : sqlFragment`AND e.id < ${beforeId}`;
  return sql(db)`SELECT e.id, e.job_id, e.type, e.status, e.attempts, e.callback_url,
      e.created_at, e.next_attempt_at, d.attempted_at AS last_attempted_at, d.http_status AS last_http_status,
      d.error AS last_error, d.response_body AS last_response_body
    FROM webhook_events e LEFT JOIN webhook_deliveries d ON d.id =
      (SELECT MAX(id) FROM webhook_deliveries WHERE job_id = e.job_id AND event_id = e.id)
    WHERE e.tenant_id = ${tenantId} AND (e.status = 'failed' OR (e.status = 'pending' AND e.attempts > 1)) ${below}
    ORDER BY e.id DESC LIMIT ${limit}`;
}
