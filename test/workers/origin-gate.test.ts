import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { clock } from "../../src/platform/clock";
import { at } from "./helpers";

const LEASE_MS = 20_000;

describe("the origin gate's memory of slow origins", () => {
  it("refuses quick-only tickets for a while after a request held its slot too long, and never refuses the queue", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://slow-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    const first = await at(start, quick);
    expect(first).toHaveLength(1);
    await at(start + limits.quickOriginMs + 1, () => gate.release(first));
    expect(await at(start + limits.quickOriginMs + 2, quick)).toEqual([]);
    // The callbacks queue still gets tickets: only job consumers leave a slow origin alone.
    const queued = await at(start + limits.quickOriginMs + 2, () => gate.acquire(1, LEASE_MS, 32));
    expect(queued).toHaveLength(1);
    await at(start + limits.quickOriginMs + 3, () => gate.release(queued));
    expect(await at(start + limits.quickOriginMs + 1 + limits.slowOriginMemoryMs + 1, quick)).toHaveLength(1);
  });

  it("counts a request still in flight past the bound as slow, and a quick one as not", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://hung-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    const fast = await at(start, quick);
    await at(start + 10, () => gate.release(fast));
    const hung = await at(start + 20, quick);
    expect(hung).toHaveLength(1);
    expect(await at(start + 30, quick)).toHaveLength(1);
    expect(await at(start + 20 + limits.quickOriginMs + 1, quick)).toEqual([]);
  });
});
