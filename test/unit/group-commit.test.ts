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
    await new Promise((r) => setTimeout(r, 0));
  };
  return { sends, send, waitUntilOf, settle };
}

describe("groupCommitted", () => {
  it("sends an item at once when no send is in flight, and the items that arrive meanwhile together in the next", async () => {
    const held = heldSends();
    const add = groupCommitted<string>(held.send);
    const a = add("a", held.waitUntilOf("a"));
    const rest = ["b", "c", "d"].map((item) => add(item, held.waitUntilOf(item)));
    expect(held.sends).toEqual([{ items: ["a"], keptBy: ["a"] }]);
    await held.settle();
    await a;
    // The next send started with b, c and d, kept alive by the first of them to resume.
    expect(held.sends[1]).toEqual({ items: ["b", "c", "d"], keptBy: ["b"] });
    await held.settle();
    await Promise.all(rest);
    // Idle again: the next item waits for nothing.
    const e = add("e", held.waitUntilOf("e"));
    expect(held.sends[2]).toEqual({ items: ["e"], keptBy: ["e"] });
    await held.settle();
    await e;
    expect(held.sends).toHaveLength(3);
  });

  it("rejects the callers of a failed send only, and the items waiting for it are still sent", async () => {
    const held = heldSends();
    const add = groupCommitted<string>(held.send);
    const a = add("a", held.waitUntilOf("a"));
    const b = add("b", held.waitUntilOf("b"));
    const aFailed = expect(a).rejects.toThrow(/internal error/);
    await held.settle(new Error("Queue send failed: internal error"));
    await aFailed;
    expect(held.sends[1]?.items).toEqual(["b"]);
    await held.settle();
    await expect(b).resolves.toBeUndefined();
  });
});
