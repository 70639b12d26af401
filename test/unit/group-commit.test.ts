import { describe, expect, it } from "vitest";
import { groupCommitted } from "../../src/platform/group-commit";

/** A send that waits until released, recording what each send carried and who kept it alive. */
function heldSends() {
  const sends: { items: string[]; keptBy: string[] }[] = [];
  const releases: ((error?: Error) => void)[] = [];
  const send = (items: string[]) =>
    new Promise<void>((resolve, reject) => {
      sends.push({ items: [...items], keptBy: [] });
      releases.push((error) => (error ? reject(error) : resolve()));
    });
  /** The `waitUntil` of the caller named `who`: records which send it was given. */
  const waitUntilOf = (who: string) => () => sends.at(-1)?.keptBy.push(who);
  const settle = async (error?: Error) => {
    releases.shift()?.(error);
    await tick();
  };
  return { sends, send, waitUntilOf, settle };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const LINGER_MS = 40;

describe("groupCommitted", () => {
  it("sends an item at once when nothing is in flight or expected, and the items that arrive meanwhile together in the next", async () => {
    const held = heldSends();
    const commit = groupCommitted<string>(held.send, { lingerMs: LINGER_MS, forgetMs: 10_000 });
    const a = commit.expect().send("a", held.waitUntilOf("a"));
    await tick();
    const rest = ["b", "c", "d"].map((item) => commit.expect().send(item, held.waitUntilOf(item)));
    await tick();
    expect(held.sends).toEqual([{ items: ["a"], keptBy: ["a"] }]);
    await held.settle();
    await a;
    // The next send started with b, c and d, kept alive by the first of them to resume.
    expect(held.sends[1]).toEqual({ items: ["b", "c", "d"], keptBy: ["b"] });
    await held.settle();
    await Promise.all(rest);
    expect(held.sends).toHaveLength(2);
  });

  it("waits for the items announced meanwhile, or for those that were given up", async () => {
    const held = heldSends();
    const commit = groupCommitted<string>(held.send, { lingerMs: 10_000, forgetMs: 10_000 });
    const [a, b, c] = [commit.expect(), commit.expect(), commit.expect()];
    const sentA = a.send("a", held.waitUntilOf("a"));
    await tick();
    expect(held.sends).toEqual([]);
    const sentB = b.send("b", held.waitUntilOf("b"));
    await tick();
    expect(held.sends).toEqual([]);
    // c will not come (its request failed): a and b go as soon as one of them looks again.
    c.drop();
    await new Promise((r) => setTimeout(r, 10));
    expect(held.sends).toEqual([{ items: ["a", "b"], keptBy: [expect.stringMatching(/^[ab]$/)] }]);
    await held.settle();
    await Promise.all([sentA, sentB]);
  });

  it("waits for an announced item at most lingerMs", async () => {
    const held = heldSends();
    const commit = groupCommitted<string>(held.send, { lingerMs: LINGER_MS, forgetMs: 10_000 });
    const slow = commit.expect();
    const began = Date.now();
    const sent = commit.expect().send("a", held.waitUntilOf("a"));
    await tick();
    expect(held.sends).toEqual([]);
    await new Promise((r) => setTimeout(r, LINGER_MS + 20));
    expect(held.sends).toEqual([{ items: ["a"], keptBy: ["a"] }]);
    await held.settle();
    await sent;
    expect(Date.now() - began).toBeGreaterThanOrEqual(LINGER_MS - 1);
    slow.drop();
  });

  it("rejects the callers of a failed send only, and the items waiting for it are still sent", async () => {
    const held = heldSends();
    const commit = groupCommitted<string>(held.send, { lingerMs: LINGER_MS, forgetMs: 10_000 });
    const a = commit.expect().send("a", held.waitUntilOf("a"));
    await tick();
    const b = commit.expect().send("b", held.waitUntilOf("b"));
    const aFailed = expect(a).rejects.toThrow(/internal error/);
    await held.settle(new Error("Queue send failed: internal error"));
    await aFailed;
    expect(held.sends[1]?.items).toEqual(["b"]);
    await held.settle();
    await expect(b).resolves.toBeUndefined();
  });

  it("forgets a place never given up (its request canceled) after forgetMs: later items wait for nothing", async () => {
    const held = heldSends();
    const commit = groupCommitted<string>(held.send, { lingerMs: 10_000, forgetMs: LINGER_MS });
    commit.expect(); // taken by a request that is gone
    await new Promise((r) => setTimeout(r, LINGER_MS + 10));
    const sent = commit.expect().send("a", held.waitUntilOf("a"));
    await tick();
    expect(held.sends).toEqual([{ items: ["a"], keptBy: ["a"] }]);
    await held.settle();
    await sent;
  });
});
