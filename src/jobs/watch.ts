import type { Env } from "../env";
import { connectSocket } from "../platform/sockets";
import type { JobView } from "./model";
import { isTerminal } from "./model";

/**
 * The watch protocol between a job's tracker and whoever follows the job
 * (SSE relays, WebSocket clients, long polls, a running attempt). The tracker
 * accepts each watcher as a hibernatable WebSocket, so idle watchers do not
 * keep it awake; it sends the current state first, then one frame per change,
 * and closes after the terminal status.
 */
export type WatchEvent = "status" | "progress";

export interface WatchFrame {
  event: WatchEvent;
  data: JobView;
}

export const encodeFrame = (frame: WatchFrame): string => JSON.stringify(frame);

export function decodeFrame(message: string | ArrayBuffer): WatchFrame {
  return JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message)) as WatchFrame;
}

/**
 * Opens a watch on the job's tracker from a Worker, naming the job's tenant
 * (its row is found by it); the socket is accepted and ready.
 */
export function openWatch(env: Env, job: { id: string; tenantId: string }): Promise<WebSocket> {
  const url = `https://tracker/watch?${new URLSearchParams({ tenant: job.tenantId })}`;
  return connectSocket(env.JOB_TRACKER.getByName(job.id), url, `the tracker of ${job.id}`);
}

/**
 * Resolves with the first frame that shows the job terminal, or null after
 * `timeoutMs`, if the watch ends first, or once `signal` aborts. Closes the
 * watch either way.
 */
export function waitForTerminalFrame(
  socket: WebSocket,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WatchFrame | null> {
  return new Promise((resolve) => {
    const finish = (frame: WatchFrame | null) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      socket.close(1000, "done");
      resolve(frame);
    };
    const stop = () => finish(null);
    const timer = setTimeout(stop, timeoutMs);
    signal?.addEventListener("abort", stop);
    socket.addEventListener("message", (event) => {
      const frame = decodeFrame(event.data);
      if (isTerminal(frame.data.status)) finish(frame);
    });
    socket.addEventListener("close", stop);
  });
}
