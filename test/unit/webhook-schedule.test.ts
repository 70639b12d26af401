import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { parseRetryAfter } from "../../src/platform/retry-after";
import { judgeAttempt, queueDelaySeconds, standardSchedule } from "../../src/webhooks/schedule";

const NOW = Date.parse("2026-11-24T12:00:00Z");
const noJitter = 0.5;

describe("the Standard Webhooks retry schedule", () => {
  it("is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", () => {
    expect(standardSchedule).toEqual([0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
  });

  it("waits the next slot after each failed attempt, then gives up after the eighth", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
      judgeAttempt(attempt, 500, null, standardSchedule, NOW, noJitter),
    );
    expect(delays).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000].map((d) => ({ kind: "retry", delaySeconds: d })));
    expect(judgeAttempt(8, 500, null, standardSchedule, NOW, noJitter)).toEqual({ kind: "exhausted" });
  });

  it("adds ±20 % jitter", () => {
    expect(judgeAttempt(2, 500, null, standardSchedule, NOW, 0)).toEqual({ kind: "retry", delaySeconds: 240 });
    expect(judgeAttempt(2, 500, null, standardSchedule, NOW, 0.999999)).toEqual({ kind: "retry", delaySeconds: 360 });
  });

  it("counts any 2xx as delivered and anything else, a 3xx and no answer included, as failed", () => {
    for (const status of [200, 201, 204, 299]) {
      expect(judgeAttempt(1, status, null, standardSchedule, NOW)).toEqual({ kind: "delivered" });
    }
    for (const status of [null, 301, 302, 400, 404, 500, 502]) {
      expect(judgeAttempt(1, status, null, standardSchedule, NOW, noJitter)).toEqual({
        kind: "retry",
        delaySeconds: 5,
      });
    }
  });

  it("stops on 410 Gone", () => {
    expect(judgeAttempt(1, 410, null, standardSchedule, NOW)).toEqual({ kind: "gone" });
  });

  it("honours Retry-After on 429 and 503, capped at twice the scheduled delay", () => {
    // After attempt 3 the schedule says 30 min.
    expect(judgeAttempt(3, 429, "3000", standardSchedule, NOW, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 3000,
    });
    expect(judgeAttempt(3, 503, "99999", standardSchedule, NOW, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 3600,
    });
    // A shorter Retry-After does not make the retry earlier than the schedule.
    expect(judgeAttempt(3, 429, "10", standardSchedule, NOW, noJitter)).toEqual({ kind: "retry", delaySeconds: 1800 });
    // Other statuses ignore it.
    expect(judgeAttempt(3, 500, "3000", standardSchedule, NOW, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 1800,
    });
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120);
    expect(parseRetryAfter("Tue, 24 Nov 2026 12:10:00 GMT", NOW)).toBe(600);
    expect(parseRetryAfter("Tue, 24 Nov 2026 11:00:00 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });

  it("counts from the attempt's own end: a Retry-After date 7 s ahead of it is honoured, 3600 s is capped at 10 s", () => {
    const ended = NOW;
    const inSeven = new Date(ended + 7000).toUTCString();
    expect(judgeAttempt(1, 503, inSeven, standardSchedule, ended, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 7,
    });
    expect(judgeAttempt(1, 503, "3600", standardSchedule, ended, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 10,
    });
    // Read 13 s later (a slow request's end), the same date has passed and only the schedule is left.
    expect(judgeAttempt(1, 503, inSeven, standardSchedule, ended + 13_000, noJitter)).toEqual({
      kind: "retry",
      delaySeconds: 5,
    });
  });

  it("queues a retry for the time left until it is due, not its whole delay again", () => {
    const due = NOW + 5000;
    expect(queueDelaySeconds(due, NOW)).toBe(5);
    expect(queueDelaySeconds(due, NOW + 3000)).toBe(2);
    expect(queueDelaySeconds(due, NOW + 9000)).toBe(0);
  });
});

describe("a job consumer's first attempts and the sweep", () => {
  it("lets the last first attempt a consumer starts end before the sweep sends its event again", () => {
    const latestEnd = limits.firstAttemptCarryMs + limits.callbackTimeoutMs + limits.callbackBodyReadMs;
    expect(latestEnd).toBeLessThan(limits.callbackLostAfterSeconds * 1000);
  });
});
