/**
 * The capacity model: the operations one job causes, as counted by the
 * metering (src/platform/metering.ts) in a benchmark run, set against the
 * documented platform limits (bench/platform-limits.json) and prices
 * (bench/prices.json). Pure: no I/O, so it is unit-tested in Node.
 */

/** One documented platform limit. */
export interface PlatformLimit {
  value: number;
  unit: string;
  source: string;
  checked: string;
  note?: string;
}

/** bench/platform-limits.json. The model reads the keys named in `LimitName`. */
export interface PlatformLimits {
  date: string;
  limits: Record<string, PlatformLimit>;
}

type LimitName =
  | "d1_queries_per_second_per_database"
  | "d1_bytes_per_database"
  | "d1_bytes_per_account"
  | "queue_messages_per_second_per_queue"
  | "do_requests_per_second_per_object"
  | "worker_connections_per_invocation";

/** bench/prices.json: USD per million operations (metering's `Operation` names) and per GB-month stored. */
export interface Prices {
  date: string;
  usd_per_million: Record<string, number>;
  usd_per_gb_month: { d1: number; r2: number; do: number };
}

/** Counts read from `/__metrics` (metering's flat keys) and the number of jobs that caused them. */
export interface Metered {
  counts: Record<string, number>;
  jobs: number;
}

export interface CapacityInput {
  /** The jobs' whole life up to their last callback. */
  run: Metered;
  /** The retention sweeps that deleted the same kind of jobs. */
  purge: Metered;
  /**
   * The same kind of jobs run where none could take over an expired job's
   * row (store/jobs.ts `reuseExpiredJob`), so each added its own, as each
   * does for the retention window in production: what a job's records take
   * of each database's storage. When absent, `run`'s growth is taken.
   */
  stored?: Metered;
  /** RETENTION_DAYS: how long a finished job's records are kept. */
  retentionDays: number;
  /** Jobs one retention sweep can delete (within its budget of D1 statements); the sweep runs once a minute. */
  purgedPerSweep: number;
  /** The per-origin bound on callbacks (limits.maxInFlightPerOrigin). */
  maxInFlightPerOrigin: number;
  /** Callbacks one delivery invocation takes for one origin at most (the callbacks queue's max_batch_size). */
  callbacksPerInvocation: number;
  /** Delivery invocations that may run at once (the callbacks queue's max_concurrency). */
  maxDeliveryInvocations: number;
  /** How long the receiver takes to answer, in seconds (the 100 ms). */
  receiverSeconds?: number;
}

/** One component's load per job, its limit, and the job rate at which it saturates. */
export interface Component {
  component: string;
  load_per_job: number;
  unit: string;
  limit: number;
  limit_unit: string;
  jobs_per_s: number;
  /** "peak" bounds throughput; "storage" bounds only what can be sustained for the retention window. */
  bound: "peak" | "storage";
}

export interface Capacity {
  components: Component[];
  peak_jobs_per_s: number;
  sustained_jobs_per_s: number;
  origin_callbacks_per_s: number;
  /** D1 round trips per job on the busiest database, retention included. */
  d1_queries_per_job: number;
  /** D1 rows written per job over all databases, retention deletes included. */
  rows_written_per_job: number;
  usd_per_million: number;
  /** USD per million jobs by what is billed: each operation, then `storage_<store>`. */
  cost: Record<string, number>;
}

const SECONDS_PER_DAY = 86_400;
const DAYS_PER_MONTH = 365.25 / 12;

function limit(limits: PlatformLimits, name: LimitName): number {
  const entry = limits.limits[name];
  if (!entry) throw new Error(`bench/platform-limits.json has no ${name}`);
  return entry.value;
}

/** Per-binding counters `<kind>:<binding>:<counter>` from metering's flat keys, summed over run and purge. */
function perBinding(input: CapacityInput, kind: string, counter: string, phases: Metered[] = [input.run, input.purge]) {
  const result = new Map<string, number>();
  for (const phase of phases) {
    for (const [key, n] of Object.entries(phase.counts)) {
      const [k, binding, c] = key.split(":");
      if (k !== kind || c !== counter || binding === undefined) continue;
      result.set(binding, (result.get(binding) ?? 0) + n / phase.jobs);
    }
  }
  return result;
}

/**
 * Per-database loads with the job shards (`SHARD_<k>`) taken as one
 * component, "each of N shards": jobs are placed on shards uniformly at
 * random (store/databases.ts), so over production's millions of jobs each
 * shard carries the shards' total ÷ N; a bench's few hundred jobs leave one
 * shard a few more by chance, which is sampling noise, not the design.
 */
export function perDatabase(loads: Map<string, number>): Map<string, number> {
  return evenlyShared(loads, "SHARD");
}

/**
 * Per-queue loads with the jobs queues (`JOBS_<k>`) taken as one component,
 * "each of Q queues", as `perDatabase` takes the shards: a job's queue is
 * its shard number mod Q (src/jobs/job-queues.ts), so the queues share the
 * jobs as evenly as the shards do.
 */
export function perQueue(loads: Map<string, number>): Map<string, number> {
  return evenlyShared(loads, "JOBS");
}

/** `loads` with the bindings `<prefix>_<k>` replaced by one entry carrying their total ÷ their number. */
function evenlyShared(loads: Map<string, number>, prefix: string): Map<string, number> {
  const member = new RegExp(`^${prefix}_\\d+$`);
  const members = [...loads].filter(([binding]) => member.test(binding));
  if (members.length === 0) return loads;
  const result = new Map([...loads].filter(([binding]) => !member.test(binding)));
  const total = members.reduce((sum, [, load]) => sum + load, 0);
  result.set(`${prefix}_* (each of ${members.length})`, total / members.length);
  return result;
}

/** A billable operation per job over the job's life and its deletion. */
const perJob = (input: CapacityInput, key: string) =>
  (input.run.counts[key] ?? 0) / input.run.jobs + (input.purge.counts[key] ?? 0) / input.purge.jobs;

/**
 * The model. Peak: every component's limit ÷ its load per job, the smallest
 * wins (D1 queries per database, queue messages per queue, requests to the
 * busiest object of each Durable Object namespace). Sustained: also the
 * bytes each D1 database keeps for the retention window against its size
 * limit, all databases against the account's, and the purge rate. Throws if
 * a limit the model needs is missing from the limits file.
 */
export function capacity(input: CapacityInput, limits: PlatformLimits, prices: Prices): Capacity {
  const components: Component[] = [];
  const retentionSeconds = input.retentionDays * SECONDS_PER_DAY;
  const rate = (limitValue: number, load: number) => (load > 0 ? limitValue / load : Number.POSITIVE_INFINITY);

  const queries = perDatabase(perBinding(input, "d1", "round_trips"));
  const d1Limit = limit(limits, "d1_queries_per_second_per_database");
  for (const [binding, load] of queries) {
    components.push({
      component: `D1 ${binding} queries`,
      load_per_job: load,
      unit: "round trips",
      limit: d1Limit,
      limit_unit: "queries/s",
      jobs_per_s: rate(d1Limit, load),
      bound: "peak",
    });
  }
  const queueLimit = limit(limits, "queue_messages_per_second_per_queue");
  for (const [binding, load] of perQueue(perBinding(input, "queue", "messages"))) {
    components.push({
      component: `queue ${binding} messages`,
      load_per_job: load,
      unit: "messages",
      limit: queueLimit,
      limit_unit: "messages/s",
      jobs_per_s: rate(queueLimit, load),
      bound: "peak",
    });
  }
  const objectLimit = limit(limits, "do_requests_per_second_per_object");
  // Per phase, not summed: the busiest object of the run and of the purge need not be the same one.
  const busiest = new Map<string, number>();
  for (const phase of [input.run, input.purge]) {
    for (const [binding, load] of perBinding(input, "do", "busiest_object_requests", [phase])) {
      busiest.set(binding, Math.max(busiest.get(binding) ?? 0, load));
    }
  }
  for (const [binding, load] of busiest) {
    components.push({
      component: `DO ${binding} busiest object`,
      load_per_job: load,
      unit: "requests",
      limit: objectLimit,
      limit_unit: "requests/s",
      jobs_per_s: rate(objectLimit, load),
      bound: "peak",
    });
  }

  const storedByBinding = perBinding(input, "d1", "bytes_stored", [input.stored ?? input.run]);
  const stored = perDatabase(storedByBinding);
  const databaseBytes = limit(limits, "d1_bytes_per_database");
  for (const [binding, bytes] of stored) {
    components.push({
      component: `D1 ${binding} storage for ${input.retentionDays} days`,
      load_per_job: bytes,
      unit: "bytes",
      limit: databaseBytes,
      limit_unit: "bytes",
      jobs_per_s: rate(databaseBytes, bytes * retentionSeconds),
      bound: "storage",
    });
  }
  const accountBytes = limit(limits, "d1_bytes_per_account");
  const allBytes = [...storedByBinding.values()].reduce((a, b) => a + b, 0);
  components.push({
    component: `D1 account storage for ${input.retentionDays} days`,
    load_per_job: allBytes,
    unit: "bytes",
    limit: accountBytes,
    limit_unit: "bytes",
    jobs_per_s: rate(accountBytes, allBytes * retentionSeconds),
    bound: "storage",
  });
  components.push({
    component: "retention purge",
    load_per_job: 1,
    unit: "job deleted",
    limit: input.purgedPerSweep / 60,
    limit_unit: "jobs deleted/s",
    jobs_per_s: input.purgedPerSweep / 60,
    bound: "storage",
  });

  const smallest = (bounds: Component["bound"][]) =>
    Math.min(...components.filter((c) => bounds.includes(c.bound)).map((c) => c.jobs_per_s));

  const connections = Math.min(
    limit(limits, "worker_connections_per_invocation"),
    input.run.counts["outbound:peak_in_flight_per_origin"] ?? 1,
  );
  // A delivery invocation holds up to a batch's worth of the origin's in-flight bound.
  const invocations = Math.min(
    input.maxDeliveryInvocations,
    Math.max(
      1,
      Math.floor(input.maxInFlightPerOrigin / Math.min(input.callbacksPerInvocation, input.maxInFlightPerOrigin)),
    ),
  );

  const cost: Record<string, number> = {};
  for (const operation of Object.keys(prices.usd_per_million)) {
    cost[operation] = perJob(input, operation) * (prices.usd_per_million[operation] ?? 0);
  }
  const months = input.retentionDays / DAYS_PER_MONTH;
  // USD per million jobs = bytes per job × 1e6 jobs ÷ 1e9 bytes per GB × months × USD per GB-month.
  const storageCost = (bytes: number, usdPerGbMonth: number) => (bytes / 1000) * months * usdPerGbMonth;
  cost.storage_d1 = storageCost(allBytes, prices.usd_per_gb_month.d1);
  const r2Bytes = [...perBinding(input, "r2", "bytes_put", [input.run]).values()].reduce((a, b) => a + b, 0);
  cost.storage_r2 = storageCost(r2Bytes, prices.usd_per_gb_month.r2);

  return {
    components,
    peak_jobs_per_s: smallest(["peak"]),
    sustained_jobs_per_s: smallest(["peak", "storage"]),
    origin_callbacks_per_s: (connections * invocations) / (input.receiverSeconds ?? 0.1),
    d1_queries_per_job: Math.max(0, ...queries.values()),
    rows_written_per_job: perJob(input, "d1_rows_written"),
    usd_per_million: Object.values(cost).reduce((a, b) => a + b, 0),
    cost,
  };
}

/**
 * The slowed-database check's prediction, jobs/s: the smaller of two
 * components. The gates: each admits one query at a time for `serviceMs`,
 * D1 binding i goes through gate i mod `shards`, so the busiest gate's
 * queries per job bound the jobs/s. The machine: with many gates the local
 * machine saturates first, at its `cores` over the process tree's CPU ms
 * per job counted in the same run (the same per-job-load-over-limit
 * arithmetic, for the one component production does not have).
 */
export function predictedLocally(
  run: Metered,
  bindings: string[],
  shards: number,
  serviceMs: number,
  machine: { cores: number; cpuMsPerJob: number },
): { jobsPerS: number; bound: "gates" | "machine" } {
  const gates = predictedWithGates(run, bindings, shards, serviceMs);
  const cpu = machine.cpuMsPerJob > 0 ? (machine.cores * 1000) / machine.cpuMsPerJob : Number.POSITIVE_INFINITY;
  return gates <= cpu ? { jobsPerS: gates, bound: "gates" } : { jobsPerS: cpu, bound: "machine" };
}

/** The gates' bound alone (see `predictedLocally`). */
export function predictedWithGates(run: Metered, bindings: string[], shards: number, serviceMs: number): number {
  const perGate = new Array<number>(shards).fill(0);
  bindings.forEach((binding, i) => {
    perGate[i % shards] = (perGate[i % shards] ?? 0) + (run.counts[`d1:${binding}:round_trips`] ?? 0) / run.jobs;
  });
  const busiest = Math.max(...perGate);
  return busiest > 0 ? 1000 / (busiest * serviceMs) : Number.POSITIVE_INFINITY;
}

/** A figure as printed: whole numbers from 100 up, else two significant decimals at most. */
export function figure(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  return String(Number(n.toPrecision(2)));
}

/** The `capacity:` summary line. */
export function capacityLine(c: Capacity): string {
  return [
    "capacity:",
    `peak_jobs_per_s ${figure(c.peak_jobs_per_s)}`,
    `sustained_jobs_per_s ${figure(c.sustained_jobs_per_s)}`,
    `origin_callbacks_per_s ${figure(c.origin_callbacks_per_s)}`,
    `d1_queries_per_job ${figure(c.d1_queries_per_job)}`,
    `rows_written_per_job ${figure(c.rows_written_per_job)}`,
    `usd_per_million ${c.usd_per_million.toFixed(2)}`,
  ].join(" ");
}
