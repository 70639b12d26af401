import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { answerClose, unlessUpgrade } from "../platform/sockets";

/** The close code a key's streams hear when it is revoked (4000–4999: the application's own, RFC 6455 §7.4.2). */
export const KEY_REVOKED_CLOSE = 4401;

const REVOKED_KEY = "revoked";

/**
 * One API key's open streams (named by the key's id). Each stream (SSE,
 * WebSocket, long poll) holds a WebSocket here, accepted through the
 * hibernation API so an idle one keeps nothing awake; revoking the key
 * closes them all at once with `KEY_REVOKED_CLOSE`, whichever isolates hold
 * them. A stream that joins after the revocation (it passed its key check
 * just before) is closed as it joins: the revocation is stored.
 */
export class KeyStreams extends DurableObject<Env> {
  /** A stream joins (Upgrade: websocket). */
  override async fetch(request: Request): Promise<Response> {
    const refused = unlessUpgrade(request);
    if (refused) return refused;
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    if (await this.ctx.storage.get<boolean>(REVOKED_KEY)) server.close(KEY_REVOKED_CLOSE, "key revoked");
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The key was revoked (its D1 rows say so already): ends every stream that holds it, and any that joins later. */
  async revoked(): Promise<void> {
    await this.ctx.storage.put(REVOKED_KEY, true);
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.close(KEY_REVOKED_CLOSE, "key revoked");
      } catch (error) {
        // A stream that already went: the others are still told.
        console.warn("key stream already closed", { error: String(error) });
      }
    }
  }

  /** Streams only listen; whatever they send is ignored. */
  override webSocketMessage(): void {}

  /** A stream ended (it finished, or its client left). */
  override webSocketClose(socket: WebSocket, code: number): void {
    answerClose(socket, code);
  }
}
