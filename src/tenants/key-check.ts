import { invalidApiKey } from "../jobs/errors";
import { type AuthenticatedKey, liveKeyByHash, liveKeyFound } from "../store/api-keys";

/**
 * Authentication in the same D1 round trip as the request's own query. An
 * isolate remembers whose each key it has seen is (hash → key); a request
 * with a remembered key goes on to its handler, which sends the key check
 * first in its own batch and guards its writes with it. What is remembered
 * is only who a key belongs to, never that it is valid: a revoked key still
 * answers 401 at once and changes nothing.
 */
const remembered = new Map<string, AuthenticatedKey>();
const MAX_REMEMBERED = 1000;

export function rememberedKey(hash: string): AuthenticatedKey | undefined {
  return remembered.get(hash);
}

export function rememberKey(hash: string, key: AuthenticatedKey): void {
  remembered.delete(hash);
  remembered.set(hash, key);
  // Maps keep insertion order: the first entry is the one seen least recently.
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
}

export function forgetKey(hash: string): void {
  remembered.delete(hash);
}

/**
 * A tenant's limits changed: this isolate reads its keys afresh. Another
 * isolate sees the change from its next request with the key, whose check
 * returns the current limits.
 */
export function forgetTenantKeys(tenantId: string): void {
  for (const [hash, key] of remembered) if (key.tenantId === tenantId) remembered.delete(hash);
}

/** A key check still owed by the request; `done` once a batch carried it. */
export interface KeyCheck {
  hash: string;
  done: boolean;
}

/**
 * Runs `statements` in one batch, behind the key check when one is owed:
 * 401 (and none of their results) when the key is no longer live. Writes
 * in the batch must be guarded by the same hash (`keyIsLive` in
 * store/api-keys.ts), since the batch commits them whatever the check finds.
 */
export async function batchCheckingKey(
  db: D1Database,
  check: KeyCheck | null,
  statements: D1PreparedStatement[],
): Promise<D1Result[]> {
  if (check === null || check.done) return statements.length > 0 ? db.batch(statements) : [];
  const [keyResult, ...results] = await db.batch([liveKeyByHash(db, check.hash), ...statements]);
  check.done = true;
  const key = liveKeyFound(keyResult as D1Result);
  if (!key) {
    forgetKey(check.hash);
    throw invalidApiKey();
  }
  rememberKey(check.hash, key); // the tenant's current limits, for the next request
  return results;
}
