import type { CallbackMessage, Env } from "../env";
import { limits } from "../limits";
import { clock } from "../platform/clock";
import { settleEach } from "../platform/queue-messages";
import { readAtMost } from "../platform/streams";
import { findTenant, type Tenant } from "../store/tenants";
import { type DeliveryOutcome, findWebhookEvent, recordDeliveryAttempt } from "../store/webhook-events";
import { webhookHeaders } from "./sign";
import { checkCallbackUrl } from "./url-guard";

/** The callbacks queue consumer: one signed POST per pending event. */
export function consumeCallbacks(batch: MessageBatch<CallbackMessage>, env: Env): Promise<void> {
  return settleEach(
    batch,
    (body) => deliverEvent(env, body.event_id),
    "callback delivery could not be recorded; the queue will retry it",
  );
}

export async function deliverEvent(env: Env, eventId: string): Promise<void> {
  const event = await findWebhookEvent(env.DB, eventId);
  if (event?.status !== "pending") return;
  const tenant = await findTenant(env.DB, event.tenantId);
  if (!tenant) throw new Error(`tenant ${event.tenantId} of event ${eventId} is missing`);
  const outcome = await post(env, tenant, event.id, event.callbackUrl, event.payload);
  await recordDeliveryAttempt(env.DB, event.id, outcome, clock.now());
}

/** What a receiver answers is read only this far: a huge or endless body must not hurt the sender. */
const MAX_RESPONSE_BYTES = 1024;

async function post(env: Env, tenant: Tenant, id: string, url: string, body: string): Promise<DeliveryOutcome> {
  const verdict = checkCallbackUrl(url, { allowLocal: env.ALLOW_LOCAL_CALLBACKS === "true" });
  if (!verdict.ok) return { status: "failed", httpStatus: null, error: `callback_url ${verdict.reason}` };
  const now = clock.now();
  const headers = await webhookHeaders(signingSecrets(tenant, now), id, Math.floor(now / 1000), body);
  try {
    const response = await fetch(verdict.url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json; charset=utf-8", "user-agent": "edgejobs-webhooks" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(limits.callbackTimeoutMs),
    });
    await readAtMost(response.body, MAX_RESPONSE_BYTES);
    const delivered = response.status >= 200 && response.status < 300;
    return { status: delivered ? "delivered" : "failed", httpStatus: response.status, error: null };
  } catch (error) {
    return { status: "failed", httpStatus: null, error: String(error).slice(0, 200) };
  }
}

/** The current secret, plus the previous one during the 24 h after a rotation. */
function signingSecrets(tenant: Tenant, now: number): string[] {
  const previousValid = tenant.previousWebhookSecret !== null && (tenant.previousSecretValidUntil ?? 0) > now;
  return previousValid ? [tenant.webhookSecret, tenant.previousWebhookSecret as string] : [tenant.webhookSecret];
}
