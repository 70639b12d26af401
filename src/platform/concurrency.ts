/**
 * A bound on tasks running at once: the returned function runs `task` at once
 * while fewer than `limit` run, else when an earlier one ends, in the order
 * they came. It resolves or rejects as `task` does.
 *
 * Used where the platform queues the excess anyway — a Worker invocation
 * keeps at most 6 connections open (limits.connectionsPerInvocation) and
 * holds further `fetch`es until one closes — so that a request's clock and
 * timeout start when it is sent, not while it waits for a connection.
 */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The place passes straight to the next in line, or is given back.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
