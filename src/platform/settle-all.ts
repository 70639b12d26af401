/**
 * Like `Promise.all`, but waits until every promise has settled before it
 * rejects (with the first rejection's reason, in input order): nothing the
 * caller started is still running when it learns of a failure, so what
 * follows (a release, a batch's settlement) never cuts work off midway.
 * Resolves to the values in input order.
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}
