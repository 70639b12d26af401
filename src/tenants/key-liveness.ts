import type { Env } from "../env";
import { DomainError, invalidApiKey } from "../jobs/errors";
import { limits } from "../limits";
import { isLiveKey } from "../store/api-keys";

/** How often an open stream re-reads its key (ms): `limits.keyRecheckMs`, or the test-only `KEY_RECHECK_MS`. */
export function keyRecheckMs(env: Env): number {
  const override = Number(env.KEY_RECHECK_MS);
  return env.KEY_RECHECK_MS !== undefined && override > 0 ? override : limits.keyRecheckMs;
}

/** An open stream's hold on its API key; `signal` aborts when the stream must end. */
export interface KeyLiveness {
  /**
   * Aborts with a `DomainError`: 401 `unauthorized` once the key is revoked,
   * or 503 `service_unavailable` when D1 could not say (the stream ends rather
   * than outlive a revocation it cannot see; the client reconnects).
   */
  signal: AbortSignal;
  /** Ends the re-checks; call it when the stream ends for any reason. */
  stop: () => void;
}

/**
 * Re-reads the API key `keyId` every `keyRecheckMs(env)` while a stream is
 * open, so a revocation made in any isolate ends the stream within one
 * interval plus one read. Costs one indexed D1 read per interval per open
 * stream, nothing per frame.
 */
export function watchKeyLiveness(env: Env, keyId: string): KeyLiveness {
  const ended = new AbortController();
  const end = (reason: DomainError) => {
    clearInterval(timer);
    if (!ended.signal.aborted) ended.abort(reason);
  };
  const timer = setInterval(() => {
    isLiveKey(env.DB, keyId).then(
      (live) => {
        if (!live) end(invalidApiKey());
      },
      (error) => {
        console.warn("API key re-check failed; ending the stream", { keyId, error: String(error) });
        end(new DomainError(503, "service_unavailable", "Storage is unavailable; reconnect shortly.", undefined, 5));
      },
    );
  }, keyRecheckMs(env));
  return { signal: ended.signal, stop: () => clearInterval(timer) };
}
