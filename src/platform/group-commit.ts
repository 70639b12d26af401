/** Keeps a promise alive past its caller's response: the caller's `ExecutionContext.waitUntil`. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * Group commit, shared by every request an isolate serves: an item given
 * while no `send` is in flight is sent at once, alone; items given while one
 * is in flight wait for it to end and are sent together in the next. Idle,
 * nothing waits; under load each send carries what arrived during the
 * previous one's round trip. Each call resolves (or rejects) with the send
 * that carried its item.
 *
 * Across requests: each send is started by one of the callers whose items it
 * carries, in that caller's request, and kept alive with that caller's
 * `waitUntil`. A promise settled in a request that has ended cancels the
 * continuations of the requests awaiting it ("The script will never generate
 * a response", developers.cloudflare.com/workers/observability/errors, read
 * 2026-12-01), so a send must outlive the request that started it.
 */
export function groupCommitted<Item>(
  send: (items: Item[]) => Promise<void>,
): (item: Item, waitUntil: WaitUntil) => Promise<void> {
  let inFlight: Promise<void> | null = null;
  let next: { items: Item[]; sent: Promise<void> | null } | null = null;
  const start = (items: Item[], waitUntil: WaitUntil): Promise<void> => {
    const sent: Promise<void> = send(items).finally(() => {
      if (inFlight === sent) inFlight = null;
    });
    inFlight = sent;
    // Its callers hear a failure; the request that keeps it alive only waits.
    waitUntil(sent.catch(() => {}));
    return sent;
  };
  return async (item, waitUntil) => {
    const ahead = inFlight;
    if (!ahead) return start([item], waitUntil);
    if (!next) next = { items: [], sent: null };
    const group = next;
    group.items.push(item);
    await ahead.catch(() => {});
    // The first of the group to get here sends it, in its own request.
    if (!group.sent) {
      if (next === group) next = null;
      group.sent = start(group.items, waitUntil);
    }
    return group.sent;
  };
}
