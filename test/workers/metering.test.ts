import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { jobQueues } from "../../src/jobs/job-queues";
import { shardInId } from "../../src/platform/ids";
import { metered, readMeter, resetMeter } from "../../src/platform/metering";
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

  it("is absent unless METERING is on, and wraps nothing then", async () => {
    const res = await worker.fetch(new Request(`${BASE}/__metrics`), env, {} as ExecutionContext);
    expect(res.status).toBe(404);
    expect(metered(env)).toBe(env);
  });

  it("counts each D1 database on its own: round trips, statements, rows and the bytes it grew by", async () => {
    // A second binding to the same database stands in for a second shard: its calls count under its own name.
    const bindings = metered({ ...env, DB_2: env.DB, METERING: "true" } as typeof env) as typeof env & {
      DB_2: D1Database;
    };
    resetMeter();
    await bindings.DB.prepare("CREATE TABLE IF NOT EXISTS meter_probe (v TEXT)").run();
    await bindings.DB_2.batch([
      bindings.DB_2.prepare("INSERT INTO meter_probe (v) VALUES (?)").bind("x".repeat(150_000)),
      bindings.DB_2.prepare("INSERT INTO meter_probe (v) VALUES (?)").bind("y"),
    ]);
    expect(await bindings.DB.prepare("SELECT count(*) AS n FROM meter_probe").first("n")).toBe(2);
    const counts = readMeter();
    expect(counts).toMatchObject({
      "d1:DB:round_trips": 2,
      "d1:DB:statements": 2,
      "d1:DB_2:round_trips": 1,
      "d1:DB_2:statements": 2,
      "d1:DB_2:rows_written": 2,
    });
    // The sizes seen through either binding: the 100 kB row made the database grow.
    expect((counts["d1:DB:bytes_stored"] ?? 0) + (counts["d1:DB_2:bytes_stored"] ?? 0)).toBeGreaterThanOrEqual(100_000);
  });

  it("counts queue messages per queue and Durable Object requests per object, the busiest one's apart", async () => {
    const tenant = await createTenant();
    resetMeter();
    // Each job's message is counted on the jobs queue its id names.
    const expected: Record<string, number> = {};
    for (let i = 0; i < 3; i++) {
      const res = await worker.fetch(
        new Request(`${BASE}/v1/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "echo", input: { i } }),
        }),
        { ...env, METERING: "true" },
        {} as ExecutionContext,
      );
      expect(res.status).toBe(202);
      const queue = `queue:JOBS_${shardInId(((await res.json()) as { id: string }).id) % jobQueues(env).length}`;
      expected[`${queue}:messages`] = (expected[`${queue}:messages`] ?? 0) + 1;
      expected[`${queue}:operations`] = (expected[`${queue}:operations`] ?? 0) + 3;
    }
    // Three requests to two trackers (a plain GET is refused with 426 without touching the job).
    const bindings = metered({ ...env, METERING: "true" });
    for (const name of ["job-a", "job-a", "job-b"]) {
      const res = await bindings.JOB_TRACKER.getByName(name).fetch("https://tracker/watch");
      expect(res.status).toBe(426);
    }
    expect(readMeter()).toMatchObject({
      ...expected,
      "do:JOB_TRACKER:requests": 3,
      "do:JOB_TRACKER:busiest_object_requests": 2,
    });
  });

  it("counts R2 bytes put and outbound fetches, with the most in flight at once to one origin", async () => {
    const bindings = metered({ ...env, METERING: "true" });
    resetMeter();
    await bindings.BLOBS.put("meter-probe", "z".repeat(1000));
    // A delete is one of R2's free operations: it counts in no billed class.
    await bindings.BLOBS.delete(["meter-probe", "meter-probe-absent"]);
    const responses = await Promise.all([
      fetch(`${env.RECEIVER_URL}/meter/1`, { method: "POST" }),
      fetch(`${env.RECEIVER_URL}/meter/2`, { method: "POST" }),
      fetch(`${env.RECEIVER_URL}/meter/3`, { method: "POST" }),
      fetch(`${env.OTHER_RECEIVER_URL}/meter/4`, { method: "POST" }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([204, 204, 204, 204]);
    expect(readMeter()).toMatchObject({
      r2_class_a: 1,
      "r2:BLOBS:bytes_put": 1000,
      "outbound:requests": 4,
      "outbound:peak_in_flight_per_origin": 3,
    });
  });
});
