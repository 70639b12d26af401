/**
 * WebSockets between a Worker and a Durable Object that accepts them through
 * the hibernation API: the job's tracker (its watchers) and an API key's
 * `KeyStreams` (its open streams).
 */

/** A Durable Object stub, or anything that answers a fetch the same way. */
interface SocketServer {
  fetch(url: string, init: RequestInit): Promise<Response>;
}

/**
 * Opens a WebSocket on `server` at `url` from a Worker and accepts it, ready
 * for listeners. Throws an Error naming `what` when the object answers
 * without one (its status in the message).
 */
export async function connectSocket(server: SocketServer, url: string, what: string): Promise<WebSocket> {
  const response = await server.fetch(url, { headers: { upgrade: "websocket" } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`${what} refused a WebSocket (${response.status})`);
  socket.accept();
  return socket;
}

/** The 426 answer for a request to an object that only takes WebSockets, or null when it asks for one. */
export function unlessUpgrade(request: Request): Response | null {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket"
    ? null
    : new Response("expected a WebSocket upgrade", { status: 426 });
}

/** Answers a peer's close; 1005 and 1006 describe a close without a status and may not be sent back. */
export function answerClose(socket: WebSocket, code: number): void {
  socket.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
}
