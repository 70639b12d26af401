import { limits } from "../limits";

/**
 * Tells the attempt's tracker every `limits.heartbeatIntervalSeconds` that
 * the attempt is alive, so a lost attempt is noticed within about a minute
 * rather than at its timeout. Attempts shorter than one interval send none.
 * The answer doubles as a cancel check. Returns a function that stops it.
 * `beat` sends one heartbeat of `attempt`, through a new stub each time (see
 * run.ts `Tracker`).
 */
export function heartbeatWhileRunning(
  beat: () => Promise<{ stop: boolean }>,
  attempt: number,
  abort: (reason: string) => void,
): () => void {
  const timer = setInterval(async () => {
    try {
      const { stop } = await beat();
      if (stop) abort("The job was canceled or its attempt superseded.");
    } catch (error) {
      // One missed beat is within the silence the tracker allows; the next one tries again.
      console.warn("heartbeat not delivered", { attempt, error: String(error) });
    }
  }, limits.heartbeatIntervalSeconds * 1000);
  return () => clearInterval(timer);
}
