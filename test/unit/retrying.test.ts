import { describe, expect, it } from "vitest";
import { retrying } from "../../src/platform/retrying";

/** Work that fails its first `failures` calls, then answers how many calls it took. */
function failingFirst(failures: number) {
  let calls = 0;
  return {
    work: async () => {
      calls += 1;
      if (calls <= failures) throw new Error(`failure ${calls}`);
      return calls;
    },
    calls: () => calls,
  };
}

describe("retrying", () => {
  it("tries again after each delay until the work succeeds, telling each failure with its delay", async () => {
    const { work } = failingFirst(2);
    const heard: [string, number][] = [];
    const result = await retrying(work, [1, 2, 3], (error, delayMs) => heard.push([String(error), delayMs]));
    expect(result).toBe(3);
    expect(heard).toEqual([
      ["Error: failure 1", 1],
      ["Error: failure 2", 2],
    ]);
  });

  it("tells each try how many tries failed before it", async () => {
    const seen: number[] = [];
    const { work } = failingFirst(2);
    await retrying(
      (failedTries) => {
        seen.push(failedTries);
        return work();
      },
      [1, 1, 1],
    );
    expect(seen).toEqual([0, 1, 2]);
  });

  it("throws the last failure once every delay is used up, after one try per delay and one more", async () => {
    const { work, calls } = failingFirst(10);
    await expect(retrying(work, [1, 1])).rejects.toThrow("failure 3");
    expect(calls()).toBe(3);
  });

  it("waits each delay before the next try", async () => {
    const { work } = failingFirst(1);
    const started = Date.now();
    await retrying(work, [60]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("tries once with no delays", async () => {
    const { work, calls } = failingFirst(1);
    await expect(retrying(work, [])).rejects.toThrow("failure 1");
    expect(calls()).toBe(1);
  });
});
