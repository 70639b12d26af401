import { limits } from "../limits";
import { clock } from "../platform/clock";
import { rotateWebhookSecret } from "../store/tenants";
import { newWebhookSecret } from "../webhooks/sign";

/** Rotates the tenant's webhook secret; for 24 h callbacks carry signatures with both. */
export async function rotateTenantSecret(
  db: D1Database,
  tenantId: string,
): Promise<{ webhook_secret: string; previous_valid_until: number }> {
  const secret = newWebhookSecret();
  const previousValidUntil = clock.now() + limits.previousSecretValidMs;
  await rotateWebhookSecret(db, tenantId, secret, previousValidUntil);
  return { webhook_secret: secret, previous_valid_until: previousValidUntil };
}
