import type { Env } from "../env";
import { showsUnstoredStart } from "./lifecycle";
import { decodeFrame, openWatch } from "./watch";

/** Most handlers finish well within this; only longer ones pay for a watch. */
const WATCH_AFTER_MS = 1000;

/**
 * Aborts a running attempt as soon as its tracker says the attempt no longer
 * holds the job (canceled, or reclaimed), without waiting for the handler's
 * next progress report. Returns a function that ends the watch.
 */
export function abortWhenSuperseded(
  env: Env,
  job: { id: string; tenantId: string },
  attempt: number,
  abort: (reason: string) => void,
): () => void {
  let socket: WebSocket | null = null;
  let ended = false;
  const timer = setTimeout(async () => {
    try {
      socket = await openWatch(env, job);
    } catch (error) {
      // Cancellation still reaches the handler at its next progress report.
      console.warn("cancel watch unavailable", { jobId: job.id, error: String(error) });
      return;
    }
    if (ended) return socket.close(1000, "attempt over");
    socket.addEventListener("message", (event) => {
      const { data } = decodeFrame(event.data);
      if (data.status !== "running" || data.attempts !== attempt) {
        // A tracker reset before it stored this attempt's start shows the row as D1 holds it. Not superseded:
        // the attempt's next report (its heartbeat is due) takes the start back.
        if (showsUnstoredStart(data, attempt)) return;
        abort(data.status === "canceled" ? "The job was canceled." : "The attempt was superseded.");
      }
    });
  }, WATCH_AFTER_MS);
  return () => {
    ended = true;
    clearTimeout(timer);
    socket?.close(1000, "attempt over");
  };
}
