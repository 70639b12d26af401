import { findOwnBatch } from "../batches/queries";
import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { getJob } from "../jobs/queries";
import { limits } from "../limits";
import { clock, isoTime } from "../platform/clock";
import { shardOf } from "../store/databases";
import { endRedelivery, listJobDeliveries, listJobEvents, startRedelivery } from "../store/webhook-events";
import { callbackMessage } from "./events";

/** The job's events and every delivery attempt (API.md `GET /v1/jobs/{id}/deliveries`). */
export async function describeDeliveries(env: Env, tenantId: string, jobId: string) {
  await getJob(env, tenantId, jobId);
  return deliveryLogOf(env, jobId);
}

/** The batch's events and every delivery attempt (API.md `GET /v1/batches/{id}/deliveries`), shaped as a job's. */
export async function describeBatchDeliveries(env: Env, tenantId: string, batchId: string) {
  await findOwnBatch(env, tenantId, batchId);
  return deliveryLogOf(env, batchId);
}

/** The events about a job or batch (`subjectId`, which names their shard) and every attempt, as the API shows them. */
async function deliveryLogOf(env: Env, subjectId: string) {
  const db = shardOf(env, subjectId);
  const [events, deliveries] = await Promise.all([listJobEvents(db, subjectId), listJobDeliveries(db, subjectId)]);
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

/**
 * Queues one more attempt of an event now: same `webhook-id`, a fresh
 * timestamp and signature. One manual attempt per event is in flight at a
 * time (API.md): throws 409 `redelivery_in_progress` while another is, until
 * it is recorded or its lease (`limits.redeliveryLeaseMs`) runs out; 404 when
 * the job has no such event.
 */
export async function redeliver(env: Env, tenantId: string, jobId: string, eventId: string) {
  await getJob(env, tenantId, jobId);
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
