import { type SqlFragment, sql, sqlFragment } from "./sql";

/** An event's status as the API shows it. */
export type EventStatus = "pending" | "delivered" | "failed";

/**
 * The statuses an event is stored at: "pending" is stored as `sending` until
 * the event's first scheduled attempt is recorded or the sweep finds it
 * overdue (`postponeEvents`), so the event is one range of the key (status,
 * job_id, id) and not an entry of `webhook_events_due` (migration 0020):
 * storing and settling an event that its first attempt delivers writes 2
 * rows, not 3.
 */
export const storedEventStatuses = ["sending", "pending", "delivered", "failed"] as const;

/** The stored statuses of an event not yet delivered or given up: "pending" as the API shows it. */
export const unsettledEventStatuses = ["sending", "pending"] as const;

type StoredEventStatus = (typeof storedEventStatuses)[number];

/** The status the API shows for a stored one. */
const shown = (status: StoredEventStatus): EventStatus => (status === "sending" ? "pending" : status);

/**
 * The events of the job or batch `subjectId` (an id, or an SQL expression
 * naming one) at any of `statuses`: the table's key is (status, job_id, id)
 * (migration 0020), so this is a range of the key for each status.
 */
export const eventsOf = (
  subjectId: string | SqlFragment,
  statuses: readonly StoredEventStatus[] = storedEventStatuses,
): SqlFragment => sqlFragment`webhook_events.status IN ${statuses} AND webhook_events.job_id = ${subjectId}`;

/** Event `id` of the job (or batch) `jobId`: one probe of the key for each status it may have. */
const eventIs = (jobId: string, id: string, statuses: readonly StoredEventStatus[] = storedEventStatuses) =>
  sqlFragment`${eventsOf(jobId, statuses)} AND webhook_events.id = ${id}`;

export interface WebhookEventRecord {
  id: string;
  tenantId: string;
  /** The job the event is about; for a batch's event (`batch.completed`), the batch's id. */
  jobId: string;
  type: string;
  /** The JSON text sent; "" as read back when `payloadFromJob` (use `payloadOf` in webhooks/events.ts). */
  payload: string;
  /**
   * Stored without its payload (as ""): each attempt rebuilds it from the
   * row of the job it is about, which no longer changes (`jobOfEvent` reads it).
   */
  payloadFromJob: boolean;
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
  status: StoredEventStatus;
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
  payloadFromJob: row.payload === "",
  callbackUrl: row.callback_url,
  status: shown(row.status),
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  createdAt: row.created_at,
});

const eventColumns = sqlFragment`(id, tenant_id, job_id, type, payload, callback_url, status, attempts,
      next_attempt_at, created_at, updated_at)`;

/** A pending event is stored `sending`: a new one has no attempt recorded yet. */
const eventValues = (event: WebhookEventRecord) => sqlFragment`${event.id}, ${event.tenantId}, ${event.jobId},
      ${event.type}, ${event.payloadFromJob ? "" : event.payload}, ${event.callbackUrl},
      ${event.status === "pending" ? "sending" : event.status}, ${event.attempts},
      ${event.nextAttemptAt}, ${event.createdAt}, ${event.createdAt}`;

/** Stores a new event; a pending one as `sending`, due at its `nextAttemptAt`. */
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
  /** Held on its job's row (store/held-events.ts), not a row of this table: what a job's end hands its consumer. */
  held: boolean;
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
export function readForDelivery(db: D1Database, jobId: string, id: string): D1PreparedStatement {
  return sql(db)`SELECT *, ${signingSecrets} FROM webhook_events WHERE ${eventIs(jobId, id)}`;
}

/**
 * Takes scheduled attempt `attempt` of a pending event and returns the event
 * with its secrets. No row when another delivery of the same message took it
 * first, or the event is no longer pending. `next_attempt_at` is left as it
 * was: an attempt that dies before it is recorded leaves the event overdue,
 * and the sweep re-sends it after its grace (beyond a request's timeout;
 * counted from the claim's `updated_at`) — and every index write is billed,
 * so the claim writes no key column and no index entry but the failing
 * list's, which a second attempt enters (`webhook_events_failing`: a retry's
 * claim writes 2 rows).
 */
export function claimForDelivery(
  db: D1Database,
  jobId: string,
  id: string,
  attempt: number,
  now: number,
): D1PreparedStatement {
  return sql(db)`UPDATE webhook_events SET attempts = ${attempt}, updated_at = ${now}
    WHERE ${eventIs(jobId, id, unsettledEventStatuses)} AND attempts = ${attempt - 1}
    RETURNING *, ${signingSecrets}`;
}

/** What `readForDelivery` or `claimForDelivery` found: null when nothing is to be sent. */
export function deliveryFound(result: D1Result): EventForDelivery | null {
  const row = result.results[0] as DeliveryRow | undefined;
  return row ? { event: fromRow(row), secrets: parseSecrets(row.signing_secrets), held: false } : null;
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
      WHERE ${eventIs(jobId, eventId)} AND (redelivery_until IS NULL OR redelivery_until <= ${now})
      RETURNING id, type, status, callback_url`,
    sql(db)`SELECT id FROM webhook_events WHERE ${eventIs(jobId, eventId)}`,
  ]);
  const row = marked?.results[0];
  if (row) return { id: row.id, type: row.type, status: shown(row.status), callbackUrl: row.callback_url };
  return (found?.results.length ?? 0) > 0 ? { busy: true } : null;
}

/** Frees the event for the next manual redelivery: its attempt is recorded, or was never queued. */
export function endRedelivery(db: D1Database, jobId: string, eventId: string): D1PreparedStatement {
  return sql(db)`UPDATE webhook_events SET redelivery_until = NULL WHERE ${eventIs(jobId, eventId)}`;
}

/** The job's events, oldest first. */
export async function listJobEvents(db: D1Database, jobId: string): Promise<WebhookEventRecord[]> {
  const { results } = await sql(db)`SELECT * FROM webhook_events WHERE ${eventsOf(jobId)}
    ORDER BY created_at, id`.all<WebhookEventRow>();
  return results.map(fromRow);
}

/** One attempt of an event, as the delivery log shows it. */
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

/** Where an event stands after one of its attempts. */
export interface EventAfterAttempt {
  /**
   * Still pending (due at the attempt's `nextAttemptAt`), delivered or
   * failed; null leaves status and next attempt as they were (a manual
   * attempt that did not deliver). A delivered event stays delivered,
   * whatever a concurrent attempt concludes.
   */
  status: EventStatus | null;
  /**
   * The scheduled attempt it counts as: a claimed one already was counted,
   * the first one its writer made without a claim (webhooks/first-attempt.ts)
   * is counted here.
   */
  scheduledAttempt: number;
  /** A manual attempt frees the event for the next redelivery. */
  endsRedelivery: boolean;
  /** When the attempt ended (Unix ms). */
  now: number;
}

/**
 * Records one attempt and moves its event on: two statements for one
 * transaction (D1 batch), in this order. The event's first attempt is
 * written on the event's own row, by the statement that settles it or
 * schedules its retry (no log row, no index entry: migration 0013); every
 * later attempt is a `webhook_deliveries` row, numbered after all earlier
 * ones, scheduled or manual. "First" is decided inside the transaction, so
 * of two attempts recorded at once exactly one is attempt 1; an event
 * recorded before 0013 has its attempt 1 in the log already, so it never
 * takes the row's.
 */
export function recordAttempt(
  db: D1Database,
  d: DeliveryRecord,
  after: EventAfterAttempt,
): [D1PreparedStatement, D1PreparedStatement] {
  const earlier = sqlFragment`(SELECT COUNT(*) FROM webhook_deliveries WHERE job_id = ${d.jobId} AND event_id = ${d.eventId})
    + (SELECT COUNT(*) FROM webhook_events WHERE ${eventIs(d.jobId, d.eventId)} AND first_attempted_at IS NOT NULL)`;
  const logged = sql(db)`INSERT INTO webhook_deliveries (event_id, job_id, tenant_id, attempt, trigger, attempted_at,
      duration_ms, http_status, error, response_body, next_attempt_at)
    SELECT ${d.eventId}, ${d.jobId}, ${d.tenantId}, earlier + 1, ${d.trigger}, ${d.attemptedAt}, ${d.durationMs},
      ${d.httpStatus}, ${d.error}, ${d.responseBody}, ${d.nextAttemptAt}
    FROM (SELECT ${earlier} AS earlier) WHERE earlier > 0`;
  // Runs after `logged`: the slot is free only when no attempt is on the row yet and none was logged.
  const first = sqlFragment`first_attempted_at IS NULL AND slot.free`;
  const settled =
    after.status === null
      ? sqlFragment``
      : sqlFragment`status = IIF(status = 'delivered', status, ${after.status}),
      next_attempt_at = IIF(status = 'delivered', next_attempt_at, ${d.nextAttemptAt}),
      attempts = IIF(status = 'delivered', attempts, MAX(attempts, ${after.scheduledAttempt})),
      updated_at = IIF(status = 'delivered', updated_at, ${after.now}),`;
  const freed = after.endsRedelivery ? sqlFragment`redelivery_until = NULL,` : sqlFragment``;
  const onRow = sql(db)`UPDATE webhook_events SET ${settled} ${freed}
      first_attempted_at = IIF(${first}, ${d.attemptedAt}, first_attempted_at),
      first_manual = IIF(${first}, ${d.trigger === "manual"}, first_manual),
      first_duration_ms = IIF(${first}, ${d.durationMs}, first_duration_ms),
      first_http_status = IIF(${first}, ${d.httpStatus}, first_http_status),
      first_error = IIF(${first}, ${d.error}, first_error),
      first_response_body = IIF(${first}, ${d.responseBody}, first_response_body),
      first_next_attempt_at = IIF(${first}, ${d.nextAttemptAt}, first_next_attempt_at)
    FROM (SELECT NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE job_id = ${d.jobId} AND event_id = ${d.eventId})
      AS free) AS slot
    WHERE ${eventIs(d.jobId, d.eventId)}`;
  return [logged, onRow];
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

/**
 * Every attempt for the job's events (`jobId`: a job's or a batch's id):
 * event by event in the order they were made (an event id begins with its
 * time), each event's attempts by number. Not by when they ended: a manual
 * attempt may be recorded first (attempt 1) and end after a scheduled one
 * recorded next (attempt 2), and the log would then list 2 before 1.
 * Attempt 1 comes from its event's
 * row, or from the log for an event recorded before migration 0013 (whose
 * row holds none), so each attempt shows once.
 */
export async function listJobDeliveries(db: D1Database, jobId: string): Promise<DeliveryLogRow[]> {
  const { results } = await sql(db)`SELECT event_id, event_type, attempt, trigger, attempted_at, duration_ms,
      http_status, error, response_body, next_attempt_at FROM (
      SELECT id AS event_id, type AS event_type, 1 AS attempt, IIF(first_manual, 'manual', 'scheduled') AS trigger,
        first_attempted_at AS attempted_at, first_duration_ms AS duration_ms, first_http_status AS http_status,
        first_error AS error, first_response_body AS response_body, first_next_attempt_at AS next_attempt_at
      FROM webhook_events WHERE ${eventsOf(jobId)} AND first_attempted_at IS NOT NULL
      UNION ALL
      SELECT d.event_id, e.type, d.attempt, d.trigger, d.attempted_at, d.duration_ms, d.http_status, d.error,
        d.response_body, d.next_attempt_at
      FROM webhook_deliveries d JOIN webhook_events e
        ON e.status IN ${storedEventStatuses} AND e.job_id = d.job_id AND e.id = d.event_id
      WHERE d.job_id = ${jobId})
    ORDER BY event_id, attempt`.all<DeliveryLogRow>();
  return results;
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
  // The latest attempt is the last logged one, else the first (on the event's row: migration 0013).
  // Every attempt, manual ones too, as the deliveries routes count them: the row's first and each logged one.
  return sql(db)`SELECT e.id, e.job_id, e.type, e.status, e.callback_url,
      (e.first_attempted_at IS NOT NULL)
        + (SELECT COUNT(*) FROM webhook_deliveries WHERE job_id = e.job_id AND event_id = e.id) AS attempts,
      e.created_at, e.next_attempt_at,
      IIF(d.id IS NULL, e.first_attempted_at, d.attempted_at) AS last_attempted_at,
      IIF(d.id IS NULL, e.first_http_status, d.http_status) AS last_http_status,
      IIF(d.id IS NULL, e.first_error, d.error) AS last_error,
      IIF(d.id IS NULL, e.first_response_body, d.response_body) AS last_response_body
    FROM webhook_events e LEFT JOIN webhook_deliveries d ON d.id =
      (SELECT MAX(id) FROM webhook_deliveries WHERE job_id = e.job_id AND event_id = e.id)
    WHERE e.tenant_id = ${tenantId} AND (e.status = 'failed' OR (e.status = 'pending' AND e.attempts > 1)) ${below}
    ORDER BY e.id DESC LIMIT ${limit}`;
}
