import { describe, expect, it, vi } from "vitest";
import { firstIdAt, isJobId, ulid } from "../../src/platform/ids";

const DAY = 86_400_000;

describe("ulid", () => {
  // Before (breaker, 2026-12-01), ids made in one millisecond counted up by one: a batch's ids ended …XC7, XD7, XE7.
  it("keeps ids of one millisecond in creation order, each a random step above the last", () => {
    const t = 2 ** 40; // below the later tests' times: ulid's state runs forward through the file
    const ids = Array.from({ length: 1000 }, () => ulid(t, 7));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The 15 characters that step (not the time, not the shard), as a number: no step of one, and no two alike.
    const value = (id: string) =>
      [...id.slice(10, 25)].reduce((n, c) => n * 32n + BigInt("0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(c)), 0n);
    const steps = ids.slice(1).map((id, k) => value(id) - value(ids[k] as string));
    expect(steps.every((step) => step > 1n && step <= 2n ** 40n + 1n)).toBe(true);
    expect(new Set(steps).size).toBe(steps.length);
    expect(ids.every((id) => id.endsWith("7"))).toBe(true);
  });
});

describe("ulid at the top of its random bits", () => {
  // A step past the top wrapped the digits below the ids before it (breaker): it now moves on a millisecond.
  it("keeps creation order when a step would run past the top", () => {
    const t = 2 ** 40 + 10;
    const highest = vi.spyOn(crypto, "getRandomValues").mockImplementation((array) => {
      (array as Uint8Array).fill(255); // every digit 31, every step the largest
      return array;
    });
    try {
      const ids = Array.from({ length: 5 }, () => ulid(t, 3));
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => id.endsWith("3"))).toBe(true);
    } finally {
      highest.mockRestore();
    }
  });
});

describe("firstIdAt", () => {
  it("puts every id made before a millisecond below it, and every id made at or after it not", () => {
    // Ascending, as ulid's monotonicity wants (2^41 ms is in 2039): carries of the base-32 time, and far apart.
    const times = [0, 32, 1024, 7 * DAY, 2 ** 40].map((t) => 2 ** 41 + t);
    times.push(2 ** 47 + 12_345);
    for (const t of times) {
      const before = `job_${ulid(t - 1, 31)}`;
      const at = `job_${ulid(t, 0)}`;
      const after = `job_${ulid(t + 1, 5)}`;
      const bound = firstIdAt("job_", t);
      expect(before < bound, `${before} < ${bound}`).toBe(true);
      expect(at >= bound, `${at} >= ${bound}`).toBe(true);
      expect(after >= bound, `${after} >= ${bound}`).toBe(true);
    }
  });

  it("is never above an id made after a later one in the isolate (monotonic ids carry the later time)", () => {
    const t = 2 ** 48 - 100;
    const later = ulid(t + 5, 0);
    const clamped = ulid(t, 0);
    expect(clamped > later).toBe(true);
    expect(`job_${clamped}` >= firstIdAt("job_", t)).toBe(true);
  });

  it("is the shape of an id, rounds a fraction of a millisecond up and takes a time before 1970 as 0", () => {
    expect(isJobId(firstIdAt("job_", 1_764_460_800_000))).toBe(true);
    expect(firstIdAt("job_", 1_764_460_800_000.2)).toBe(firstIdAt("job_", 1_764_460_800_001));
    expect(firstIdAt("job_", -5)).toBe(`job_${"0".repeat(26)}`);
    expect(firstIdAt("bat_", 32)).toBe(`bat_${"0".repeat(8)}10${"0".repeat(16)}`);
  });
});
