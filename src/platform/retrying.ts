import { sleep } from "./sleep";

/**
 * Runs `work` until it resolves, waiting `delaysMs[i]` (milliseconds) after
 * its (i+1)th failure before trying again; once the delays are used up, the
 * last failure is thrown. `work` gets the number of its tries that failed
 * before this one (0 on the first), for work that must say it asks again.
 * `onFailure` hears every failure that is retried (to log it), with the
 * delay before the next try. For short outages met
 * within one invocation (a store's transient error, an object reset by a
 * deploy); longer ones are the caller's to hand on as back-pressure.
 */
export async function retrying<T>(
  work: (failedTries: number) => Promise<T>,
  delaysMs: readonly number[],
  onFailure: (error: unknown, delayMs: number) => void = () => {},
): Promise<T> {
  for (const [failedTries, delayMs] of delaysMs.entries()) {
    try {
      return await work(failedTries);
    } catch (error) {
      onFailure(error, delayMs);
      await sleep(delayMs);
    }
  }
  return work(delaysMs.length);
}
