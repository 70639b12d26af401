/** Keeps a promise alive past its caller's response: the caller's `ExecutionContext.waitUntil`. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** A place in a group commit, taken before its item is ready (`GroupCommit.expect`). */
export interface GroupTicket<Item> {
  /** Hands over the item; resolves (or rejects) with the send that carried it. */
  send(item: Item, waitUntil: WaitUntil): Promise<void>;
  /** Gives the place up if no item was handed over (an error, a replay): sends no longer wait for it. */
  drop(): void;
}

/** A group commit shared by every request an isolate serves (`groupCommitted`). */
export interface GroupCommit<Item> {
  /** Says an item is coming: a send waits for it (at most `lingerMs`, for `forgetMs`) to carry it too. */
  expect(): GroupTicket<Item>;
}

interface Group<Item> {
  items: Item[];
  sent: Promise<void> | null;
}

/**
 * Group commit, shared by every request an isolate serves: items are sent
 * together, in one `send`, once no send is in flight and every item
 * announced (`expect`) has come or been given up, or once an item has
 * waited `lingerMs`. Idle, an item is sent at once; under load each send
 * carries what arrived during the previous one's round trip and what the
 * requests being served meanwhile were about to send, and no item waits
 * more than `lingerMs` for others.
 *
 * Across requests: each send is started by one of the callers whose items
 * it carries, in that caller's request, and kept alive with that caller's
 * `waitUntil`; a caller waits on a send in flight (I/O of the request that
 * started it, which outlives it) or on its own timer, never on a promise
 * another request must settle: one settled from another request cancels
 * the continuations awaiting it once its own request has ended ("The
 * script will never generate a response",
 * developers.cloudflare.com/workers/observability/errors, and workerd's
 * "Cannot perform I/O on behalf of a different request" for a promise
 * resolved across requests here; read 2026-12-01). Waiting for announced
 * items, a caller looks again every `pollMs`; a place counts for at most
 * `forgetMs`.
 */
export function groupCommitted<Item>(
  send: (items: Item[]) => Promise<void>,
  { lingerMs, forgetMs, pollMs = 2 }: GroupTiming,
): GroupCommit<Item> {
  let inFlight: Promise<void> | null = null;
  let open: Group<Item> | null = null;
  // Places taken and not yet left, oldest first; `expected` counts those still waited for.
  const places: Place[] = [];
  let expected = 0;
  const leave = (place: Place) => {
    if (!place.pending) return;
    place.pending = false;
    expected--;
  };
  /** The places still waited for: a place older than `forgetMs` is forgotten (its request may be gone). */
  const stillExpected = () => {
    const oldest = Date.now() - forgetMs;
    for (let first = places[0]; first && (!first.pending || first.since < oldest); first = places[0]) {
      leave(first);
      places.shift();
    }
    return expected;
  };
  const start = (group: Group<Item>, waitUntil: WaitUntil): Promise<void> => {
    if (open === group) open = null;
    const sent: Promise<void> = send(group.items).finally(() => {
      if (inFlight === sent) inFlight = null;
    });
    inFlight = sent;
    group.sent = sent;
    // Its callers hear a failure; the request that keeps it alive only waits.
    waitUntil(sent.catch(() => {}));
    return sent;
  };
  const join = async (item: Item, waitUntil: WaitUntil): Promise<void> => {
    if (!open) open = { items: [], sent: null };
    const group = open;
    group.items.push(item);
    const deadline = Date.now() + lingerMs;
    for (;;) {
      // Sent by another of the group meanwhile, or to be sent by this caller, in its own request.
      if (group.sent) return group.sent;
      const left = deadline - Date.now();
      if ((inFlight === null && stillExpected() === 0) || left <= 0) return start(group, waitUntil);
      await pause(inFlight ? left : Math.min(left, pollMs), inFlight?.catch(() => {}) ?? null);
    }
  };
  return {
    expect() {
      const place = { since: Date.now(), pending: true };
      places.push(place);
      expected++;
      return {
        send: (item, waitUntil) => {
          leave(place);
          return join(item, waitUntil);
        },
        drop: () => leave(place),
      };
    },
  };
}

/** How long a group commit's items wait for others (`groupCommitted`), in ms. */
export interface GroupTiming {
  /** The longest an item waits for others once handed over. */
  lingerMs: number;
  /**
   * How long a place counts as expected: a request canceled while it holds
   * one (its client gone, "all tasks associated with that client's request
   * are proactively canceled", developers.cloudflare.com/workers/platform/limits,
   * read 2026-12-01) never gives it up.
   */
  forgetMs: number;
  /** How often an item waiting for announced items looks again. */
  pollMs?: number;
}

interface Place {
  /** When it was taken (ms since the epoch). */
  since: number;
  pending: boolean;
}

/** Resolves after `ms`, or when `until` does. */
function pause(ms: number, until: Promise<void> | null): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    until?.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
