import { encodeFrame, type WatchFrame } from "../jobs/watch";

/**
 * The tracker's side of a watch: sockets accepted through the hibernation
 * API (`ctx.acceptWebSocket`), so an idle watcher does not keep the object
 * awake. `first` is the current state, or null when there is no such job.
 */
export function acceptWatcher(ctx: DurableObjectState, first: WatchFrame | null, finished: boolean): Response {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  ctx.acceptWebSocket(server);
  if (first) {
    server.send(encodeFrame(first));
    if (finished) server.close(1000, "job finished");
  } else {
    server.close(1008, "no such job");
  }
  return new Response(null, { status: 101, webSocket: client });
}

/** Sends a frame to every watcher; after a terminal status, ends their watch. */
export function broadcast(ctx: DurableObjectState, frame: WatchFrame, finished: boolean): void {
  const text = encodeFrame(frame);
  for (const socket of ctx.getWebSockets()) {
    try {
      socket.send(text);
      if (finished) socket.close(1000, "job finished");
    } catch (error) {
      // A watcher that went away: the runtime drops its socket; the others still get the frame.
      console.warn("watcher dropped", { jobId: frame.data.id, error: String(error) });
    }
  }
}
