import { DomainError } from "../jobs/errors";
import { limits } from "../limits";
import { clock, isoTime } from "../platform/clock";
import { writeEverywhere } from "../store/replicated";
import { rotateWebhookSecret, rotationDone } from "../store/tenants";
import { newWebhookSecret } from "../webhooks/sign";

/**
 * Rotates the tenant's webhook secret. The one rotated out keeps signing for
 * 24 h (`previous_valid_until`, ms), as do those rotated out before it until
 * their own time. Throws 409 `rotation_limit` when that would make more than
 * `limits.maxValidWebhookSecrets` valid secrets. Written to every database,
 * so every shard signs with the new secret.
 */
export async function rotateTenantSecret(
  env: { DB: D1Database },
  tenantId: string,
): Promise<{ webhook_secret: string; previous_valid_until: number }> {
  const secret = newWebhookSecret();
  const now = clock.now();
  const previousValidUntil = now + limits.previousSecretValidMs;
  const results = await writeEverywhere<{ older_secret_valid_until: number | null }>(env, (db, stamp) =>
    rotateWebhookSecret(db, tenantId, secret, previousValidUntil, now, stamp),
  );
  const rotation = rotationDone(results, now);
  if (!rotation.rotated) {
    throw new DomainError(
      409,
      "rotation_limit",
      `${limits.maxValidWebhookSecrets} webhook secrets are valid already; the oldest stays valid until ` +
        `${isoTime(rotation.olderValidUntil)}, as promised when it was rotated out. Rotate again after that.`,
    );
  }
  return { webhook_secret: secret, previous_valid_until: previousValidUntil };
}
