import type { BatchView } from "../batches/model";
import type { BatchEventType } from "../contract/schemas";
import type { CallbackMessage, Env } from "../env";
import type { CallbackEventType, JobRecord, JobView } from "../jobs/model";
import { toJobView } from "../jobs/view";
import { isoTime } from "../platform/clock";
import { newId, shardInId } from "../platform/ids";
import { heldEventKey, materializeHeldEvents } from "../store/held-events";
import type { WebhookEventRecord } from "../store/webhook-events";

/**
 * API.md "Callbacks": `{ type, timestamp, data: <the job> }`. Its id names
 * the job's shard, where it is stored. A terminal event (job.succeeded,
 * job.failed, job.canceled) describes a job that no longer changes, so it is
 * stored without its payload, which would copy the job's row (about 700 of a
 * plain job's 1,200 stored bytes): every attempt after the first rebuilds it
 * from the row (`payloadOf`), byte for byte. A `job.progress` event describes
 * a moment of a running job and keeps its payload.
 */
export function buildEvent(
  tenantId: string,
  callbackUrl: string,
  type: CallbackEventType,
  job: JobView,
  now: number,
): WebhookEventRecord {
  return { ...eventAbout(job.id, tenantId, callbackUrl, type, job, now), payloadFromJob: type !== "job.progress" };
}

/**
 * The payload an attempt of a stored event sends: its own, or, for an event
 * stored without one (`buildEvent`), the one rebuilt from its job's row
 * `job` (null when the row is gone: then there is nothing to send).
 */
export function payloadOf(event: WebhookEventRecord, job: JobRecord | null): string | null {
  if (!event.payloadFromJob) return event.payload;
  return job && eventPayload(event.type as CallbackEventType, event.createdAt, toJobView(job));
}

/** The JSON text of an event: API.md "Callbacks". */
const eventPayload = (type: CallbackEventType | BatchEventType, createdAt: number, data: JobView | BatchView) =>
  JSON.stringify({ type, timestamp: isoTime(createdAt), data });

/**
 * A batch's `batch.completed` event, `data` the batch: stored like a job's,
 * on the batch's shard, with the batch id where a job's event has its job's.
 */
export function buildBatchEvent(tenantId: string, callbackUrl: string, batch: BatchView, now: number) {
  return eventAbout(batch.id, tenantId, callbackUrl, "batch.completed", batch, now);
}

/** An event about `subjectId` (a job or a batch, whose id names the shard it and its events live on). */
function eventAbout(
  subjectId: string,
  tenantId: string,
  callbackUrl: string,
  type: CallbackEventType | BatchEventType,
  data: JobView | BatchView,
  now: number,
): WebhookEventRecord {
  return {
    id: newId.event(shardInId(subjectId)),
    tenantId,
    jobId: subjectId,
    type,
    payload: eventPayload(type, now, data),
    payloadFromJob: false,
    callbackUrl,
    status: "pending",
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
  };
}

/** The origin a callback URL's requests go to; a URL that does not parse is its own origin (the guard refuses it). */
export function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : url;
}

/**
 * The callbacks-queue message for an attempt of `event`: `attempt` is the
 * scheduled attempt it is for; none for a manual redelivery.
 */
export function callbackMessage(
  event: Pick<WebhookEventRecord, "id" | "jobId" | "callbackUrl">,
  attempt?: number,
): CallbackMessage {
  const message = { event_id: event.id, job_id: event.jobId, origin: originOf(event.callbackUrl) };
  return attempt === undefined ? message : { ...message, attempt };
}

/** Sends a stored event to the callbacks queue. A failed send loses nothing: the event stays pending and the sweep sends it. */
export async function enqueueEvent(
  env: Env,
  event: Pick<WebhookEventRecord, "id" | "jobId" | "callbackUrl">,
): Promise<void> {
  try {
    await env.CALLBACKS.send(callbackMessage(event, 1));
  } catch (error) {
    console.error("callback enqueue failed; the sweep will retry", { eventId: event.id, error: String(error) });
  }
}

/**
 * `enqueueEvent` for events held on their jobs' rows (store/held-events.ts),
 * all on the shard `db`: the callbacks consumer reads only events with a row
 * of their own, so one D1 batch gives them all theirs first, however many.
 * A failure loses nothing: an event whose row was not given stays owed on
 * its job's row, and the sweep sends it.
 */
export async function enqueueHeldEvents(
  env: Env,
  db: D1Database,
  events: readonly WebhookEventRecord[],
): Promise<void> {
  try {
    await db.batch(materializeHeldEvents(db, events.map(heldEventKey)));
  } catch (error) {
    console.error("held callback events not given rows; the sweep will send them", {
      eventIds: events.map((e) => e.id),
      error: String(error),
    });
    return;
  }
  await Promise.all(events.map((event) => enqueueEvent(env, event)));
}
