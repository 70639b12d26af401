import { describe, expect, it } from "vitest";
import {
  type CapacityInput,
  capacity,
  capacityLine,
  figure,
  type PlatformLimits,
  type Prices,
  perDatabase,
  perQueue,
  predictedLocally,
  predictedWithGates,
} from "../../bench/capacity";
import { FifoServer } from "../../bench/model/queue";
import limitsFile from "../../bench/platform-limits.json";
import pricesFile from "../../bench/prices.json";

const limits = limitsFile as PlatformLimits;
const prices = pricesFile as Prices;

/** 100 jobs: 3 D1 round trips each on DB, 2 queue messages, a per-origin gate hit every 10 jobs. */
const today = (): CapacityInput => ({
  run: {
    jobs: 100,
    counts: {
      worker_requests: 120,
      queue_operations: 600,
      d1_rows_read: 2200,
      d1_rows_written: 1900,
      do_requests: 210,
      "d1:DB:round_trips": 300,
      "d1:DB:statements": 700,
      "d1:DB:bytes_stored": 220_000,
      "queue:JOBS:messages": 100,
      "queue:CALLBACKS:messages": 100,
      "do:JOB_TRACKER:busiest_object_requests": 3,
      "do:ORIGIN_GATE:busiest_object_requests": 10,
      "outbound:peak_in_flight_per_origin": 32,
    },
  },
  purge: { jobs: 100, counts: { d1_rows_written: 300, "d1:DB:round_trips": 2 } },
  retentionDays: 30,
  purgedPerSweep: 100,
  maxInFlightPerOrigin: 32,
  callbacksPerInvocation: 32,
  maxDeliveryInvocations: 20,
});

describe("the capacity model", () => {
  it("gives each component's saturating job rate; peak is the smallest, here D1's single thread", () => {
    const c = capacity(today(), limits, prices);
    const d1 = c.components.find((x) => x.component === "D1 DB queries");
    expect(d1?.load_per_job).toBeCloseTo(3.02);
    expect(d1?.jobs_per_s).toBeCloseTo(1000 / 3.02);
    expect(c.components.find((x) => x.component === "queue JOBS messages")?.jobs_per_s).toBe(5000);
    expect(c.components.find((x) => x.component === "DO ORIGIN_GATE busiest object")?.jobs_per_s).toBe(10_000);
    expect(c.peak_jobs_per_s).toBeCloseTo(331.1, 1);
    expect(c.d1_queries_per_job).toBeCloseTo(3.02);
    expect(c.rows_written_per_job).toBe(22); // 19 while it lives, 3 when retention deletes it
  });

  it("bounds the sustained rate by storage for the retention window and by the purge rate", () => {
    const c = capacity(today(), limits, prices);
    const storage = c.components.find((x) => x.component === "D1 DB storage for 30 days");
    // 2.2 kB a job kept 30 days: 10 GB fills at 10e9 / (2200 × 2,592,000 s) jobs/s.
    expect(storage?.jobs_per_s).toBeCloseTo(10e9 / (2200 * 30 * 86_400));
    // 100 deletions a minute is the binding bound today.
    expect(c.sustained_jobs_per_s).toBeCloseTo(100 / 60);
    const faster = capacity({ ...today(), purgedPerSweep: 1_000_000 }, limits, prices);
    expect(faster.sustained_jobs_per_s).toBeCloseTo(10e9 / (2200 * 30 * 86_400));
  });

  it("takes the busiest of several databases, each with its own limits", () => {
    const input = today();
    input.run.counts["d1:DB_1:round_trips"] = 50;
    input.run.counts["d1:DB_1:bytes_stored"] = 50_000;
    const c = capacity(input, limits, prices);
    expect(c.components.filter((x) => x.component.endsWith("queries")).map((x) => x.component)).toEqual([
      "D1 DB queries",
      "D1 DB_1 queries",
    ]);
    expect(c.d1_queries_per_job).toBeCloseTo(3.02);
    expect(c.components.find((x) => x.component === "D1 account storage for 30 days")?.load_per_job).toBe(2700);
  });

  it("takes each database's storage from the run where every job added its row, when given", () => {
    // Jobs that took over expired jobs' rows grew the database by nothing: that is no storage figure.
    const reused = today();
    reused.run.counts["d1:DB:bytes_stored"] = 0;
    const stored = { jobs: 50, counts: { "d1:DB:bytes_stored": 110_000 } };
    const c = capacity({ ...reused, stored }, limits, prices);
    expect(c.components.find((x) => x.component === "D1 DB storage for 30 days")?.load_per_job).toBe(2200);
    expect(c.cost.storage_d1).toBeCloseTo(capacity(today(), limits, prices).cost.storage_d1 ?? 0);
  });

  it("sends one origin what the connection limit lets through the invocations its bound admits", () => {
    // A batch of 32 takes the origin's 32 slots, and one invocation sends 6 at a time: 60 per 100 ms answer.
    expect(capacity(today(), limits, prices).origin_callbacks_per_s).toBe(60);
    // Batches of 8 under a bound of 32: four invocations at once.
    expect(capacity({ ...today(), callbacksPerInvocation: 8 }, limits, prices).origin_callbacks_per_s).toBe(240);
    // Batches of 6 under a bound of 128: 21 invocations, 20 allowed at once, 6 connections each.
    const wide = { ...today(), callbacksPerInvocation: 6, maxInFlightPerOrigin: 128, maxDeliveryInvocations: 20 };
    expect(capacity(wide, limits, prices).origin_callbacks_per_s).toBe(1200);
    // An invocation that sends one at a time is not helped by the limit.
    const serial = today();
    serial.run.counts["outbound:peak_in_flight_per_origin"] = 1;
    expect(capacity(serial, limits, prices).origin_callbacks_per_s).toBe(10);
  });

  it("prices every billable operation, retention deletes included, and storage for the retention window", () => {
    const c = capacity(today(), limits, prices);
    expect(c.cost.d1_rows_written).toBeCloseTo(22 * (prices.usd_per_million.d1_rows_written ?? 0));
    expect(c.cost.queue_operations).toBeCloseTo(6 * (prices.usd_per_million.queue_operations ?? 0));
    // 2.2 kB × a million jobs = 2.2 GB, kept 30 days (0.986 months) at $0.75 per GB-month.
    expect(c.cost.storage_d1).toBeCloseTo(2.2 * (30 / (365.25 / 12)) * 0.75);
    expect(c.usd_per_million).toBeCloseTo(
      Object.values(c.cost).reduce((a, b) => a + b, 0),
      10,
    );
    const week = capacity({ ...today(), retentionDays: 7 }, limits, prices);
    expect(week.cost.storage_d1).toBeCloseTo((c.cost.storage_d1 ?? 0) * (7 / 30));
  });

  it("refuses a limits file without a limit it needs", () => {
    const { d1_queries_per_second_per_database: _, ...rest } = limits.limits;
    expect(() => capacity(today(), { ...limits, limits: rest }, prices)).toThrow(/d1_queries_per_second_per_database/);
  });

  it("prints the capacity line in the issue's form", () => {
    expect(capacityLine(capacity(today(), limits, prices))).toMatch(
      /^capacity: peak_jobs_per_s 331 sustained_jobs_per_s 1\.7 origin_callbacks_per_s 60 d1_queries_per_job 3 rows_written_per_job 22 usd_per_million \d+\.\d\d$/,
    );
    expect([figure(5600.4), figure(3.07), figure(0.94), figure(19.4)]).toEqual(["5600", "3.1", "0.94", "19"]);
  });
});

describe("the job shards in the model", () => {
  it("count as one component, each carrying the shards' total ÷ their number: placement is uniform", () => {
    const loads = new Map([
      ["DB", 0.01],
      ["SHARD_0", 0.5],
      ["SHARD_1", 0.3],
    ]);
    expect(perDatabase(loads)).toEqual(
      new Map([
        ["DB", 0.01],
        ["SHARD_* (each of 2)", 0.4],
      ]),
    );
    expect(perDatabase(new Map([["DB", 3]]))).toEqual(new Map([["DB", 3]]));
  });
});

describe("the jobs queues in the model", () => {
  it("count as one component, each carrying the queues' total ÷ their number: a job's queue follows its shard", () => {
    const loads = new Map([
      ["CALLBACKS", 0.1],
      ["JOBS_0", 0.6],
      ["JOBS_1", 0.4],
    ]);
    expect(perQueue(loads)).toEqual(
      new Map([
        ["CALLBACKS", 0.1],
        ["JOBS_* (each of 2)", 0.5],
      ]),
    );
    const input = today();
    delete input.run.counts["queue:JOBS:messages"];
    input.run.counts["queue:JOBS_0:messages"] = 60;
    input.run.counts["queue:JOBS_1:messages"] = 40;
    const queues = capacity(input, limits, prices).components.filter((x) => x.component.startsWith("queue "));
    // A message a job over two queues of 5,000 messages/s each: 10,000 jobs/s.
    expect(queues.map((x) => [x.component, x.jobs_per_s])).toEqual([
      ["queue CALLBACKS messages", 5000],
      ["queue JOBS_* (each of 2) messages", 10_000],
    ]);
  });
});

describe("the slowed-database prediction", () => {
  const run = { jobs: 10, counts: { "d1:DB_1:round_trips": 20, "d1:DB_2:round_trips": 10 } };

  it("is 1000 ÷ (queries per job on the busiest gate × service ms)", () => {
    // One gate for both databases: 3 queries a job at 10 ms.
    expect(predictedWithGates(run, ["DB_1", "DB_2"], 1, 10)).toBeCloseTo(1000 / 30);
    // A gate each: the busier has 2 a job.
    expect(predictedWithGates(run, ["DB_1", "DB_2"], 2, 10)).toBeCloseTo(50);
  });

  it("is the machine's bound instead when its cores saturate first", () => {
    // 2 cores at 50 CPU ms a job: 40 jobs/s, below the two gates' 50.
    expect(predictedLocally(run, ["DB_1", "DB_2"], 2, 10, { cores: 2, cpuMsPerJob: 50 })).toEqual({
      jobsPerS: 40,
      bound: "machine",
    });
    expect(predictedLocally(run, ["DB_1", "DB_2"], 1, 10, { cores: 2, cpuMsPerJob: 50 }).bound).toBe("gates");
  });
});

describe("the slowed database's queue (bench/model/queue.ts)", () => {
  it("serves one query at a time, back to back while queries wait, never before one arrives", () => {
    const server = new FifoServer();
    expect(server.admit(100, 10)).toEqual({ start: 100, end: 110 });
    // Arrived during the first slot: waits for it.
    expect(server.admit(104, 10)).toEqual({ start: 110, end: 120 });
    expect(server.admit(105, 10)).toEqual({ start: 120, end: 130 });
    // Arrived after the queue emptied: served at once.
    expect(server.admit(200, 10)).toEqual({ start: 200, end: 210 });
  });

  it("keeps its capacity when callers are released late: slots follow arrivals, not releases", () => {
    const server = new FifoServer();
    // 100 queries queued at t=0 on a thread whose timers fire 14 ms late: still 100 queries a second.
    const slots = Array.from({ length: 100 }, () => server.admit(0, 10));
    expect(slots.at(-1)).toEqual({ start: 990, end: 1000 });
    // A query taken up late (arrival 1014, after its predecessor's release) starts at its arrival.
    expect(server.admit(1014, 10)).toEqual({ start: 1014, end: 1024 });
  });
});
