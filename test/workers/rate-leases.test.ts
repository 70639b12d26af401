import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../../src/jobs/errors";
import { clock } from "../../src/platform/clock";
import { ulid } from "../../src/platform/ids";
import { RateLeases } from "../../src/tenants/rate-leases";

// Each RateLeases stands for one Worker isolate's module-scope lease cache;
// all of them draw on the one real RateLimiter object of a fresh key.
const realNow = clock.now;
afterEach(() => {
  clock.now = realNow;
});

/** Spends `count` tokens one after another; how many were admitted, and the first refusal. */
async function requests(isolate: RateLeases, keyId: string, perMinute: number, count: number) {
  let admitted = 0;
  for (let i = 0; i < count; i++) {
    try {
      await isolate.spend(env, keyId, "read", perMinute);
      admitted++;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { admitted, refused: err };
    }
  }
  return { admitted, refused: undefined };
}

describe("rate limits across many isolates serving one key", () => {
  it("never answers 429 while 200 isolates together stay below the limit", async () => {
    const time = realNow();
    clock.now = () => time; // no refill: only the leases decide
    const keyId = `key_${ulid()}`;
    const isolates = Array.from({ length: 200 }, () => new RateLeases());
    // 600 requests of the minute's 1,000, three from each isolate.
    const results = await Promise.all(isolates.map((isolate) => requests(isolate, keyId, 1000, 3)));
    expect(results.filter((r) => r.refused).length).toBe(0);
    expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(600);
  });

  it("admits what idle isolates' leases left unspent, then refuses at the limit with Retry-After", async () => {
    const time = realNow();
    clock.now = () => time;
    const keyId = `key_${ulid()}`;
    // 100 isolates take a lease each, spend one token of it and go idle.
    const idle = Array.from({ length: 100 }, () => new RateLeases());
    for (const isolate of idle) expect((await requests(isolate, keyId, 1000, 1)).admitted).toBe(1);
    // One busy isolate gets the rest of the minute, the unspent leases included.
    const busy = await requests(new RateLeases(), keyId, 1000, 2000);
    expect(busy.admitted).toBe(900);
    expect(busy.refused).toMatchObject({ status: 429, code: "rate_limited" });
    expect(busy.refused?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The idle isolates come back: what they hold was counted as theirs and is spent (no more beyond it).
    const back = await Promise.all(idle.map((isolate) => requests(isolate, keyId, 1000, 50)));
    const total = 100 + busy.admitted + back.reduce((sum, r) => sum + r.admitted, 0);
    expect(back.every((r) => r.refused?.status === 429)).toBe(true);
    expect(total).toBeGreaterThanOrEqual(1000);
    expect(total).toBeLessThanOrEqual(1100); // limits.rateLeaseUnreportedShare
  });

  it("takes back what expired leases left unspent once their isolates report it", async () => {
    let time = realNow();
    clock.now = () => time;
    const keyId = `key_${ulid()}`;
    const idle = Array.from({ length: 100 }, () => new RateLeases());
    for (const isolate of idle) await requests(isolate, keyId, 1000, 1);
    const busy = await requests(new RateLeases(), keyId, 1000, 2000);
    expect(busy.admitted).toBe(900);
    // Past their leases, the idle isolates' unspent tokens are not theirs any more: they report, and are refused.
    time += 3_000; // 50 tokens of refill
    const back = await Promise.all(idle.map((isolate) => requests(isolate, keyId, 1000, 50)));
    expect(back.reduce((sum, r) => sum + r.admitted, 0)).toBeLessThanOrEqual(50);
    expect(back.filter((r) => r.refused?.status === 429).length).toBeGreaterThanOrEqual(50);
  });
});
