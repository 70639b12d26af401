import { describe, expect, it } from "vitest";
import { concurrencyLimit } from "../../src/platform/concurrency";

describe("concurrencyLimit", () => {
  it("runs at most `limit` tasks at once, the rest in the order they came as places free", async () => {
    const limited = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return i;
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => limited(task(i))));
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it("frees the place of a task that rejects", async () => {
    const limited = concurrencyLimit(1);
    await expect(limited(() => Promise.reject(new Error("no")))).rejects.toThrow("no");
    expect(await limited(async () => "next")).toBe("next");
  });
});
