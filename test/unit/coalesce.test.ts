import { describe, expect, it } from "vitest";
import { coalesced, coalescedByKey } from "../../src/platform/coalesce";

describe("coalesced", () => {
  it("flushes items arriving within the window together, and later ones in a group of their own", async () => {
    const flushes: number[][] = [];
    const add = coalesced<number>(async (items) => void flushes.push([...items]), 20);
    const first = [add(1), add(2)];
    await new Promise((r) => setTimeout(r, 5));
    first.push(add(3));
    await Promise.all(first);
    await add(4);
    expect(flushes).toEqual([[1, 2, 3], [4]]);
  });

  it("rejects every item of a group whose flush failed", async () => {
    const add = coalesced<number>(async () => {
      throw new Error("D1_ERROR: Network connection lost.");
    }, 1);
    const results = await Promise.allSettled([add(1), add(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});

describe("coalescedByKey", () => {
  it("groups each key's items on their own", async () => {
    const flushes: [string, number[]][] = [];
    const add = coalescedByKey<string, number>(async (key, items) => void flushes.push([key, [...items]]), 10);
    await Promise.all([add("a", 1), add("b", 2), add("a", 3)]);
    expect(flushes).toEqual([
      ["a", [1, 3]],
      ["b", [2]],
    ]);
  });
});
