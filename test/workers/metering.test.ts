import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { readMeter, resetMeter } from "../../src/platform/metering";
import { BASE, createTenant } from "./helpers";

describe("operation metering (npm run bench)", () => {
  it("counts the operations of a request through wrapped bindings, which still work", async () => {
    const tenant = await createTenant();
    resetMeter();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", input: { big: "m".repeat(70 * 1024) } }),
      }),
      { ...env, METERING: "true" },
      {} as ExecutionContext,
    );
    expect(res.status).toBe(202);
    const counts = readMeter();
    expect(counts).toMatchObject({ worker_requests: 1, queue_operations: 3, do_requests: 1, r2_class_a: 1 });
    expect(counts.d1_rows_written).toBeGreaterThanOrEqual(1);
    expect(counts.d1_rows_read).toBeGreaterThanOrEqual(1);
    const metrics = await worker.fetch(
      new Request(`${BASE}/__metrics`),
      { ...env, METERING: "true" },
      {} as ExecutionContext,
    );
    expect(await metrics.json()).toMatchObject({ worker_requests: 2 });
  });

  it("is absent unless METERING is on", async () => {
    const res = await worker.fetch(new Request(`${BASE}/__metrics`), env, {} as ExecutionContext);
    expect(res.status).toBe(404);
  });
});
