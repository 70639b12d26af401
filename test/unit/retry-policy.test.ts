import { describe, expect, it } from "vitest";
import { nextRetryDelaySeconds } from "../../src/jobs/retry-policy";

describe("nextRetryDelaySeconds", () => {
  it("waits about 2 s before the second attempt and doubles after", () => {
    const middle = 0.5; // no jitter
    expect([1, 2, 3, 4, 5].map((n) => nextRetryDelaySeconds(n, 2, middle))).toEqual([2, 4, 8, 16, 32]);
  });

  it("caps the delay at 15 minutes, jitter included", () => {
    expect(nextRetryDelaySeconds(10, 2, 0.5)).toBe(900);
    expect(nextRetryDelaySeconds(30, 2, 0.999)).toBe(900);
    expect(nextRetryDelaySeconds(30, 2, 0)).toBe(720);
  });

  it("adds ±20 % jitter", () => {
    expect(nextRetryDelaySeconds(1, 10, 0)).toBeCloseTo(8);
    expect(nextRetryDelaySeconds(1, 10, 0.999999)).toBeCloseTo(12);
    const seen = new Set(Array.from({ length: 50 }, () => nextRetryDelaySeconds(3, 2)));
    expect(seen.size).toBeGreaterThan(1);
    for (const delay of seen) {
      expect(delay).toBeGreaterThanOrEqual(6.4);
      expect(delay).toBeLessThanOrEqual(9.6);
    }
  });

  it("follows a job type's own base delay", () => {
    expect(nextRetryDelaySeconds(2, 30, 0.5)).toBe(60);
  });
});
