import { findOwnBatch } from "../batches/queries";
import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { getJob } from "../jobs/queries";
import { limits } from "../limits";
import { clock, isoTime } from "../platform/clock";
import { shardOf } from "../store/databases";
import { heldEventKeyOf, materializeHeldEvents } from "../store/held-events";
import type { HeldEvent, JobRecord } from "../store/job-record";
import {
  type DeliveryLogRow,
  endRedelivery,
  listJobDeliveries,
  listJobEvents,
  startRedelivery,
} from "../store/webhook-events";
import { callbackMessage } from "./events";

/** The job's events and every delivery attempt (API.md `GET /v1/jobs/{id}/deliveries`). */
export async function describeDeliveries(env: Env, tenantId: string, jobId: string) {
  const job = await getJob(env, tenantId, jobId);
  return deliveryLogOf(env, jobId, job);
}

/** The batch's events and every delivery attempt (API.md `GET /v1/batches/{id}/deliveries`), shaped as a job's. */
export async function describeBatchDeliveries(env: Env, tenantId: string, batchId: string) {
  await findOwnBatch(env, tenantId, batchId);
  return deliveryLogOf(env, batchId);
}

/**
 * The events about a job or batch (`subjectId`, which names their shard) and
 * every attempt, as the API shows them; with `job`, the event its row holds
 * too (store/held-events.ts), the newest of its events, as a row of its own
 * would show it.
 */
async function deliveryLogOf(env: Env, subjectId: string, job: JobRecord | null = null) {
  const db = shardOf(env, subjectId);
  const [stored, storedDeliveries] = await Promise.all([
    listJobEvents(db, subjectId),
    listJobDeliveries(db, subjectId),
  ]);
  const held = job?.heldEvent ? heldEventLog(job, job.heldEvent) : null;
  // The job was read first: its event may have been given a row since (the sweep, a redelivery, a failed
  // attempt's record), which the reads after it found. Each is shown once, from the row.
  const events = [...stored, ...(held && !stored.some((e) => e.id === held.event.id) ? [held.event] : [])];
  const logged = (held?.deliveries ?? []).filter((h) => !storedDeliveries.some((d) => d.event_id === h.event_id));
  const deliveries = [...storedDeliveries, ...logged];
  return {
    events: events.map((e) => ({
      id: e.id,
      type: e.type,
      status: e.status,
      attempts: deliveries.filter((d) => d.event_id === e.id).length,
      created_at: isoTime(e.createdAt) as string,
      next_attempt_at: isoTime(e.nextAttemptAt),
    })),
    deliveries: deliveries.map((d) => ({
      ...d,
      attempted_at: isoTime(d.attempted_at) as string,
      next_attempt_at: isoTime(d.next_attempt_at),
    })),
  };
}

/** A held event and its attempt, as `listJobEvents` and `listJobDeliveries` show an event with a row of its own. */
function heldEventLog(job: JobRecord, held: HeldEvent) {
  const type = `job.${job.status}`;
  const event = {
    id: held.id,
    type,
    status: held.delivered ? ("delivered" as const) : ("pending" as const),
    createdAt: held.createdAt,
    nextAttemptAt: held.delivered ? null : held.createdAt,
  };
  const deliveries: DeliveryLogRow[] = held.delivered
    ? [
        {
          event_id: held.id,
          event_type: type,
          attempt: 1,
          trigger: "scheduled",
          attempted_at: held.delivered.attemptedAt,
          duration_ms: held.delivered.durationMs,
          http_status: held.delivered.httpStatus,
          error: null,
          response_body: held.delivered.responseBody,
          next_attempt_at: null,
        },
      ]
    : [];
  return { event, deliveries };
}

/**
 * Queues one more attempt of an event now: same `webhook-id`, a fresh
 * timestamp and signature. One manual attempt per event is in flight at a
 * time (API.md): throws 409 `redelivery_in_progress` while another is, until
 * it is recorded or its lease (`limits.redeliveryLeaseMs`) runs out; 404 when
 * the job has no such event.
 */
export async function redeliver(env: Env, tenantId: string, jobId: string, eventId: string) {
  const job = await getJob(env, tenantId, jobId);
  const held = heldEventKeyOf(job);
  if (held?.eventId === eventId) {
    // A redelivery is recorded on the event's own row: give it one.
    const db = shardOf(env, jobId);
    await db.batch(materializeHeldEvents(db, [held]));
  }
  return redeliverEvent(env, jobId, eventId, "job");
}

/** `redeliver` for a batch's event (API.md `POST /v1/batches/{id}/deliveries/{event_id}/redeliver`), same rules. */
export async function redeliverBatchEvent(env: Env, tenantId: string, batchId: string, eventId: string) {
  await findOwnBatch(env, tenantId, batchId);
  return redeliverEvent(env, batchId, eventId, "batch");
}

/** Queues a manual attempt of the event about `subjectId` (a job's or a batch's; `noun` names it in errors). */
async function redeliverEvent(env: Env, subjectId: string, eventId: string, noun: "job" | "batch") {
  const now = clock.now();
  const db = shardOf(env, subjectId);
  const event = await startRedelivery(db, subjectId, eventId, now, now + limits.redeliveryLeaseMs);
  if (event === null) throw new DomainError(404, "not_found", `This ${noun} has no event with this id.`);
  if ("busy" in event) {
    throw new DomainError(
      409,
      "redelivery_in_progress",
      `A redelivery of this event is in flight; its attempt shows in the ${noun}'s deliveries when it ends.`,
    );
  }
  try {
    await env.CALLBACKS.send(callbackMessage({ ...event, jobId: subjectId }));
  } catch (error) {
    // Nothing was queued: the event must not wait out the lease for an attempt that will never come.
    await endRedelivery(db, subjectId, event.id).run();
    throw error;
  }
  return { event_id: event.id, type: event.type, status: event.status };
}
