import { parseConfig } from "../config";
import type { Env } from "../env";
import { DomainError, invalidApiKey } from "../jobs/errors";
import { connectSocket } from "../platform/sockets";
import { isLiveKey } from "../store/api-keys";
import { KEY_REVOKED_CLOSE } from "./key-streams";

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
 * Ends a stream once its API key `keyId` is revoked, in two ways. At once:
 * the stream joins the key's `KeyStreams` object, which the revocation
 * closes. And as a backstop, should that object be unreachable: the key is
 * re-read every `keyRecheckMs` (src/config.ts), so a revocation ends the
 * stream within one interval plus one read. Costs one Durable Object request
 * and one indexed D1 read per interval per open stream, nothing per frame.
 */
export function watchKeyLiveness(env: Env, keyId: string): KeyLiveness {
  const ended = new AbortController();
  let stopped = false;
  let joined: WebSocket | null = null;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    joined?.close(1000, "stream ended");
    joined = null;
  };
  const end = (reason: DomainError) => {
    stop();
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
  joinKeyStreams(env, keyId).then(
    (socket) => {
      if (stopped) return socket.close(1000, "stream ended"); // the stream ended while it joined
      joined = socket;
      socket.addEventListener("close", (event) => {
        joined = null;
        if (event.code === KEY_REVOKED_CLOSE) end(invalidApiKey());
      });
    },
    (error: unknown) => {
      console.warn("stream not joined to its key; its re-checks alone will end it", { keyId, error: String(error) });
    },
  );
  return { signal: ended.signal, stop };
}

/** A socket on the key's `KeyStreams` object, accepted; it closes with `KEY_REVOKED_CLOSE` when the key is revoked. */
export function joinKeyStreams(env: Env, keyId: string): Promise<WebSocket> {
  return connectSocket(
    env.KEY_STREAMS.getByName(keyId),
    "https://key-streams/join",
    `the streams object of key ${keyId}`,
  );
}
