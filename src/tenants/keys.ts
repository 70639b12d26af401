import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { clock } from "../platform/clock";
import { randomBytes, sha256Hex, toBase64Url } from "../platform/crypto";
import { newId } from "../platform/ids";
import { type ApiKeyRecord, insertApiKey, keyRevoked, revokeApiKey } from "../store/api-keys";
import { writeEverywhere } from "../store/replicated";
import { findTenant, insertTenant } from "../store/tenants";
import { newWebhookSecret } from "../webhooks/sign";

const API_KEY_PREFIX = "ejk_";

export interface CreatedKey {
  id: string;
  name: string;
  tenant_id: string;
  api_key: string;
  webhook_secret: string;
  created_at: number;
}

/**
 * Creates an API key, and a tenant with a fresh webhook secret unless
 * `tenantId` names an existing one (else 404), in every database. The plain
 * key leaves only in the answer.
 */
export async function createApiKey(env: { DB: D1Database }, name: string, tenantId?: string): Promise<CreatedKey> {
  const now = clock.now();
  const apiKey = API_KEY_PREFIX + toBase64Url(randomBytes(32));
  const key = { id: newId.key(), name, createdAt: now, keyHash: await sha256Hex(apiKey) };
  if (tenantId !== undefined) {
    const tenant = await findTenant(env.DB, tenantId);
    if (!tenant) throw new DomainError(404, "not_found", "No tenant with this id.");
    await writeEverywhere(env, (db, stamp) => [insertApiKey(db, { ...key, tenantId }, stamp)]);
    return {
      id: key.id,
      name,
      tenant_id: tenantId,
      api_key: apiKey,
      webhook_secret: tenant.webhookSecret,
      created_at: now,
    };
  }
  const tenant = { id: newId.tenant(), secret: newWebhookSecret() };
  await writeEverywhere(env, (db, stamp) => [
    insertTenant(db, tenant.id, tenant.secret, now, stamp),
    insertApiKey(db, { ...key, tenantId: tenant.id }, stamp),
  ]);
  return { id: key.id, name, tenant_id: tenant.id, api_key: apiKey, webhook_secret: tenant.secret, created_at: now };
}

/**
 * Revokes the key in every database: it answers 401 from the next request
 * on, whichever shard its request reaches, and its open streams end at once
 * (`KeyStreams`; should that object be unreachable, their re-checks end them
 * within `keyRecheckMs`). Null when there is no such key.
 */
export async function revokeKey(
  env: { DB: D1Database; KEY_STREAMS: Env["KEY_STREAMS"] },
  id: string,
): Promise<ApiKeyRecord | null> {
  const now = clock.now();
  const [revoked] = await writeEverywhere(env, (db, stamp) => [revokeApiKey(db, id, now, stamp)]);
  const key = keyRevoked(revoked as D1Result);
  if (key) {
    await env.KEY_STREAMS.getByName(id)
      .revoked()
      .catch((error: unknown) => {
        console.error("key's open streams not told of its revocation; their re-checks will end them", {
          keyId: id,
          error: String(error),
        });
      });
  }
  return key;
}

/**
 * The hash a bearer token is looked up by, or null for a token that cannot be
 * a key. Keys are compared as SHA-256 digests of 256-bit secrets inside D1's
 * index: nothing about the plain key can be learned from the timing.
 */
export async function apiKeyHash(token: string): Promise<string | null> {
  return token.startsWith(API_KEY_PREFIX) ? sha256Hex(token) : null;
}
