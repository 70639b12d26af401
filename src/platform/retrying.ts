import { sleep } from "./sleep";

/**
 * Runs `work` until it resolves, waiting `delaysMs[i]` (milliseconds) after
 * its (i+1)th failure before trying again; once the delays are used up, the
 * last failure is thrown. `onFailure` hears every failure that is retried
 * (to log it), with the delay before the next try. For short outages met
 * within one invocation (a store's transient error, an object reset by a
 * deploy); longer ones are the caller's to hand on as back-pressure.
 */
export async function retrying<T>(
  work: () => Promise<T>,
  delaysMs: readonly number[],
  onFailure: (error: unknown, delayMs: number) => void = () => {},
): Promise<T> {
  for (const delayMs of delaysMs) {
    try {
      return await work();
    } catch (error) {
      onFailure(error, delayMs);
      await sleep(delayMs);
    }
  }
  return work();
}
