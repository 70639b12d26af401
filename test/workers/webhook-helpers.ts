import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect } from "vitest";
import type { CallbackMessage, Env } from "../../src/env";
import worker from "../../src/index";
import { newId } from "../../src/platform/ids";
import { type DeliveryRecord, insertWebhookEvent, type WebhookEventRecord } from "../../src/store/webhook-events";
import { buildEvent } from "../../src/webhooks/events";
import { authed, dbOf, eventually, submit, type TestTenant } from "./helpers";

/** One request the real receiver (outside workerd) got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: number;
}

export interface Deliveries {
  events: { id: string; type: string; status: string; attempts: number; next_attempt_at: string | null }[];
  deliveries: {
    event_id: string;
    attempt: number;
    trigger: string;
    attempted_at: string;
    http_status: number | null;
    error: string | null;
    duration_ms: number;
    response_body: string | null;
    next_attempt_at: string | null;
  }[];
}

export const unique = () => crypto.randomUUID();

export const receivedOn = async (path: string, base = env.RECEIVER_URL): Promise<Received[]> =>
  (await fetch(`${base}/__received?path=${encodeURIComponent(path)}`)).json();

/**
 * The one callback `path` receives: waits for it, fails when a second came
 * too, and verifies it with `secret` the way a receiver would (standardwebhooks).
 */
export async function theOnlyCallback<T>(
  path: string,
  secret: string,
): Promise<{ request: Received; event: { type: string; data: T } }> {
  const [request, ...more] = await eventually(
    () => receivedOn(path),
    (r) => r.length > 0,
  );
  expect(more).toEqual([]);
  const received = request as Received;
  const event = new Webhook(secret).verify(received.body, received.headers) as { type: string; data: T };
  return { request: received, event };
}

export const deliveriesOf = async (tenant: TestTenant, jobId: string): Promise<Deliveries> =>
  (await authed(tenant, `/v1/jobs/${jobId}/deliveries`)).json();

/** A pending event stored directly, without a queue message: the test delivers it by hand. */
export async function storedEvent(
  tenant: TestTenant,
  callbackUrl: string,
): Promise<{ eventId: string; jobId: string }> {
  const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
  const event = buildEvent(tenant.tenantId, callbackUrl, "job.succeeded", job, Date.now());
  await insertWebhookEvent(dbOf(event.id), event).run();
  return { eventId: event.id, jobId: job.id };
}

/**
 * A pending `job.succeeded` event of a made-up job on shard `shard`, not yet
 * stored, made `createdAt` (ms) and due then: for store-level tests that
 * need no job row.
 */
export const bareEvent = (
  shard: number,
  tenantId: string,
  createdAt: number,
  callbackUrl = "https://x.example/",
): WebhookEventRecord => ({
  id: newId.event(shard),
  tenantId,
  jobId: newId.job(shard),
  type: "job.succeeded",
  payload: "{}",
  payloadFromJob: false,
  callbackUrl,
  status: "pending",
  attempts: 0,
  nextAttemptAt: createdAt,
  createdAt,
});

/** Runs the callbacks consumer on one batch of these messages (with `settings` over the test env). */
export async function deliverMessages(bodies: CallbackMessage[], settings: Partial<Env> = {}) {
  const batch = createMessageBatch(
    "edgejobs-callbacks",
    bodies.map((body, i) => ({ id: `c-${unique()}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...settings });
  return getQueueResult(batch, ctx);
}

/**
 * An attempt logged as code before migration 0013 logged every attempt,
 * attempt 1 included: a `webhook_deliveries` row numbered `attempt`, the
 * event's `first_*` columns left NULL.
 */
export function insertLoggedAttempt(db: D1Database, d: DeliveryRecord & { attempt: number }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO webhook_deliveries (event_id, job_id, tenant_id, attempt, trigger, attempted_at, duration_ms,
        http_status, error, response_body, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      d.eventId,
      d.jobId,
      d.tenantId,
      d.attempt,
      d.trigger,
      d.attemptedAt,
      d.durationMs,
      d.httpStatus,
      d.error,
      d.responseBody,
      d.nextAttemptAt,
    );
}
