import { limits } from "../limits";

/**
 * Tells the attempt's tracker that the attempt is alive:
 * `limits.startStoredAfterMs` after it begins (the tracker then stores the
 * attempt's start, which it held until then), and every
 * `limits.heartbeatIntervalSeconds` from its beginning, so a lost attempt is noticed within
 * about a minute rather than at its timeout. Attempts shorter than the first
 * delay send none. The answer doubles as a cancel check. Returns a function
 * that stops it. `beat` sends one heartbeat of `attempt`, through a new stub
 * each time (see run.ts `Tracker`).
 */
export function heartbeatWhileRunning(
  beat: () => Promise<{ stop: boolean }>,
  attempt: number,
  abort: (reason: string) => void,
): () => void {
  const once = async () => {
    try {
      const { stop } = await beat();
      if (stop) abort("The job was canceled or its attempt superseded.");
    } catch (error) {
      // One missed beat is within the silence the tracker allows; the next one tries again (and stores the start).
      console.warn("heartbeat not delivered", { attempt, error: String(error) });
    }
  };
  const first = setTimeout(once, limits.startStoredAfterMs);
  const interval = setInterval(once, limits.heartbeatIntervalSeconds * 1000);
  return () => {
    clearTimeout(first);
    clearInterval(interval);
  };
}
