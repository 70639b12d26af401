/**
 * Gathers items that arrive within `windowMs` of the first one and hands
 * them to `flush` together: work that ends at different times is written as
 * it ends, in as few round trips as the timing allows. Each call resolves
 * (or rejects) with its group's flush.
 */
export function coalesced<Item>(
  flush: (items: Item[]) => Promise<void>,
  windowMs: number,
): (item: Item) => Promise<void> {
  let open: { items: Item[]; flushed: Promise<void> } | null = null;
  return (item) => {
    if (open) {
      open.items.push(item);
      return open.flushed;
    }
    const items = [item];
    const flushed = new Promise((resolve) => setTimeout(resolve, windowMs)).then(() => {
      open = null;
      return flush(items);
    });
    open = { items, flushed };
    return flushed;
  };
}

/**
 * `coalesced` per key: items for the same key (a database, an origin, a
 * tenant) that arrive within `windowMs` of that key's first are flushed
 * together; other keys' items never wait for them.
 */
export function coalescedByKey<Key, Item>(
  flush: (key: Key, items: Item[]) => Promise<void>,
  windowMs: number,
): (key: Key, item: Item) => Promise<void> {
  const byKey = new Map<Key, (item: Item) => Promise<void>>();
  return (key, item) => {
    let add = byKey.get(key);
    if (!add) {
      add = coalesced<Item>((items) => flush(key, items), windowMs);
      byKey.set(key, add);
    }
    return add(item);
  };
}
