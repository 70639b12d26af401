import type { DomainError } from "../jobs/errors";
import { decodeFrame } from "../jobs/watch";
import type { KeyLiveness } from "../tenants/key-liveness";
import { errorBody } from "./errors";

/** Comments keep idle SSE connections open through proxies, and reveal a client that left. */
const HEARTBEAT_MS = 15_000;

/**
 * The Worker holds the client's stream and relays from one hibernatable
 * watch on the tracker, so the tracker sleeps between changes however long
 * the client watches, and the Worker can end the stream when its API key is
 * revoked (`key.signal`). A Worker waiting on sockets bills no CPU time.
 */
type Relay = (watch: WebSocket, key: KeyLiveness) => Response;

/** The error a stream ends with when its key's re-check ends it: 401 `unauthorized`, or 503. */
const endingError = (key: KeyLiveness) => key.signal.reason as DomainError;

/** Server-Sent Events; a revoked key's stream ends with an `error` event in the contract's error shape. */
export const relayAsEventStream: Relay = (watch, key) => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    key.stop();
    watch.close(1000, "stream ended");
    writer.close().catch(() => undefined); // already closed or errored by the client leaving
  };
  const write = (text: string) => writer.write(encoder.encode(text)).catch(end);
  const heartbeat = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
  watch.addEventListener("message", (message) => {
    const frame = decodeFrame(message.data);
    write(`event: ${frame.event}\nid: ${frame.data.version}\ndata: ${JSON.stringify(frame.data)}\n\n`);
  });
  watch.addEventListener("close", end);
  key.signal.addEventListener("abort", () => {
    const error = endingError(key);
    write(`event: error\ndata: ${JSON.stringify(errorBody(error.code, error.message))}\n\n`);
    end();
  });
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
};

/**
 * A WebSocket carrying the tracker's frames unchanged (`{ event, data }`); a
 * revoked key's socket gets a last `{ event: "error", data: <error shape> }`
 * and closes with 1008 (policy violation), or 1013 (try again later) when
 * the key could not be re-checked.
 */
export const relayAsWebSocket: Relay = (watch, key) => {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  let ended = false;
  const end = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    key.stop();
    watch.close(1000, "stream ended");
    server.close(code, reason);
  };
  watch.addEventListener("message", (message) => server.send(message.data));
  // 1005 and 1006 describe a close without a status and may not be sent on.
  watch.addEventListener("close", (event) => end(sendable(event.code), event.reason));
  server.addEventListener("close", (event) => end(sendable(event.code), "closed"));
  key.signal.addEventListener("abort", () => {
    const error = endingError(key);
    server.send(JSON.stringify({ event: "error", data: errorBody(error.code, error.message) }));
    end(error.status === 401 ? 1008 : 1013, error.code);
  });
  return new Response(null, { status: 101, webSocket: client });
};

const sendable = (code: number) => (code === 1005 || code === 1006 ? 1000 : code);
