import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { getJob } from "../jobs/queries";
import { isoTime } from "../platform/clock";
import { findWebhookEvent, listJobDeliveries, listJobEvents } from "../store/webhook-events";
import { originOf } from "./events";

/** The job's events and every delivery attempt (API.md `GET /v1/jobs/{id}/deliveries`). */
export async function describeDeliveries(env: Env, tenantId: string, jobId: string) {
  await getJob(env, tenantId, jobId);
  const [events, deliveries] = await Promise.all([listJobEvents(env.DB, jobId), listJobDeliveries(env.DB, jobId)]);
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

/** Queues one more attempt of an event now: same `webhook-id`, a fresh timestamp and signature. */
export async function redeliver(env: Env, tenantId: string, jobId: string, eventId: string) {
  await getJob(env, tenantId, jobId);
  const event = await findWebhookEvent(env.DB, eventId);
  if (event?.jobId !== jobId) throw new DomainError(404, "not_found", "This job has no event with this id.");
  await env.CALLBACKS.send({ event_id: event.id, origin: originOf(event.callbackUrl) });
  return { event_id: event.id, type: event.type, status: event.status };
}
