import { parseConfig } from "../config";
import type { Env } from "../env";
import { DomainError, invalidApiKey } from "../jobs/errors";
import { isLiveKey } from "../store/api-keys";

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
 * Re-reads the API key `keyId` every `keyRecheckMs` (src/config.ts) while a stream is
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
  }, parseConfig(env).keyRecheckMs);
  return { signal: ended.signal, stop: () => clearInterval(timer) };
}
