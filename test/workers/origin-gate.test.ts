import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { clock } from "../../src/platform/clock";
import { at } from "./helpers";

const LEASE_MS = 20_000;

describe("the origin gate's memory of slow origins", () => {
  it("refuses quick-only tickets for a while after a request took too long, and never refuses the queue", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://slow-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    const first = await at(start, quick);
    expect(first).toHaveLength(1);
    // Its request took just over the bound: the origin is slow for a while.
    await at(start + 10, () => gate.release(first, limits.quickOriginMs + 1));
    expect(await at(start + 20, quick)).toEqual([]);
    // The callbacks queue still gets tickets: only job consumers leave a slow origin alone.
    const queued = await at(start + 20, () => gate.acquire(1, LEASE_MS, 32));
    expect(queued).toHaveLength(1);
    await at(start + 30, () => gate.release(queued, 50));
    expect(await at(start + 10 + limits.slowOriginMemoryMs + 1, quick)).toHaveLength(1);
  });

  it("judges by the request's own time, not how long its caller held the slot", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://busy-caller-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    const held = await at(start, quick);
    // Held 3 s by a busy consumer (recording, waiting for a connection), its request took 80 ms.
    await at(start + 3_000, () => gate.release(held, 80));
    expect(await at(start + 3_010, quick)).toHaveLength(1);
  });

  it("counts a slot held past the hung bound as slow, a request that does not come back", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://hung-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    expect(await at(start, quick)).toHaveLength(1);
    expect(await at(start + limits.hungOriginMs - 1, quick)).toHaveLength(1);
    expect(await at(start + limits.hungOriginMs + 1, quick)).toEqual([]);
  });

  it("gives tickets that carry requests in turn firstAttemptCarryMs more before they count as hung, and no more tickets than connections", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://carried-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const tickets = await at(start, () => gate.acquire(50, LEASE_MS, 32, { quickOnly: true, connections: 6 }));
    expect(tickets).toHaveLength(6);
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    const hungAfter = limits.firstAttemptCarryMs + limits.hungOriginMs;
    expect(await at(start + hungAfter - 1, quick)).toHaveLength(1);
    expect(await at(start + hungAfter + 1, quick)).toEqual([]);
  });

  it("counts an origin slow from the moment a consumer reports it, before any ticket is released", async () => {
    const gate = env.ORIGIN_GATE.getByName(`https://reported-${crypto.randomUUID()}.example`);
    const start = clock.now();
    const quick = () => gate.acquire(1, LEASE_MS, 32, { quickOnly: true });
    expect(await at(start, () => gate.acquire(6, LEASE_MS, 32, { quickOnly: true }))).toHaveLength(6);
    await at(start + 1_001, () => gate.reportSlow());
    expect(await at(start + 1_002, quick)).toEqual([]);
    expect(await at(start + 1_001 + limits.slowOriginMemoryMs + 1, quick)).toHaveLength(1);
  });
});
