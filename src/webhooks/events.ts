import type { BatchView } from "../batches/model";
import type { BatchEventType } from "../contract/schemas";
import type { Env } from "../env";
import type { CallbackEventType, JobView } from "../jobs/model";
import { isoTime } from "../platform/clock";
import { newId, shardInId } from "../platform/ids";
import type { WebhookEventRecord } from "../store/webhook-events";

/** API.md "Callbacks": `{ type, timestamp, data: <the job> }`. Its id names the job's shard, where it is stored. */
export function buildEvent(
  tenantId: string,
  callbackUrl: string,
  type: CallbackEventType,
  job: JobView,
  now: number,
): WebhookEventRecord {
  return eventAbout(job.id, tenantId, callbackUrl, type, job, now);
}

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
  const payload = JSON.stringify({ type, timestamp: isoTime(now), data });
  return {
    id: newId.event(shardInId(subjectId)),
    tenantId,
    jobId: subjectId,
    type,
    payload,
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

/** Sends a stored event to the callbacks queue. A failed send loses nothing: the event stays pending and the sweep sends it. */
export async function enqueueEvent(env: Env, event: { id: string; callbackUrl: string }): Promise<void> {
  try {
    await env.CALLBACKS.send({ event_id: event.id, attempt: 1, origin: originOf(event.callbackUrl) });
  } catch (error) {
    console.error("callback enqueue failed; the sweep will retry", { eventId: event.id, error: String(error) });
  }
}
