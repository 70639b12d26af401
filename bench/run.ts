// `npm run bench`: the product against a minimal baseline Worker, one at a
// time, in the same run, on loopback only. Prints absolute figures, the
// ratios product ÷ baseline, the capacity model fed by the product's own
// operation counters, and two summary lines for scripts (`bench:`,
// `capacity:`). `--floor` also measures the shape's floor (bench/floor/) and
// prints a `floor:` line before them. `--model` instead runs the
// slowed-database check (bench/model/) and prints `model:` lines;
// `--op-costs` instead prices single platform operations (bench/op-costs/)
// and prints an `op-costs:` line.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import {
  type Capacity,
  capacity,
  capacityLine,
  figure,
  type Metered,
  type PlatformLimits,
  type Prices,
  predictedLocally,
} from "./capacity.ts";
import { median, treeCpuMs, treeRunQueueWaitMs, watchPeakRss } from "./load.ts";
import { consumerSetting, d1Bindings, limits, retentionDays, writeModelConfig } from "./model/config.ts";
import { startVerifyingReceiver } from "./receiver.ts";
import { endToEndScenario, idleScenario, pollScenario, type ScenarioResult, submitScenario } from "./scenarios.ts";
import { startHandWritten, startModel, startProduct, type Target } from "./targets.ts";

/** The value of `--name=value` on the command line, if given. */
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = process.argv.includes("--quick");
const modelCheck = process.argv.includes("--model");
const withFloor = process.argv.includes("--floor");
const opCostsCheck = process.argv.includes("--op-costs");
const shardsArg = flag("shards");
/** Each query's turn at an emulated database in the model check, ms. */
const SERVICE_MS = Number(flag("service-ms") ?? 10);
const rounds = Number(flag("rounds") ?? 3);
/**
 * Jobs per scenario. D1 reports a database's growth in whole 4 KiB pages, so
 * the metered run (`cost`) is 3,200 jobs, 100 a shard: a page is then about
 * 40 bytes of a job's storage figure (`--cost=` sets it; `--quick` meters 100).
 */
const costArg = flag("cost");
const sizes = {
  ...(quick
    ? { submit: 300, e2e: 200, idle: 10, poll: 300, cost: 100, model: 200 }
    : { submit: 3000, e2e: 2000, idle: 100, poll: 3000, cost: 3200, model: 600 }),
  ...(costArg === undefined ? {} : { cost: Number(costArg) }),
};
/** Requests in flight in the submit and poll scenarios: enough to saturate either target. */
const CONCURRENCY = 32;
/**
 * Submits in flight in the end-to-end and metered scenarios, whose jobs each
 * send a callback (`--e2e-concurrency=`; a submitter goes on once its POST is
 * answered, so more jobs than this run at once). Below this machine's
 * saturation on purpose: at 32, `wrangler dev`'s busy Worker thread and its
 * outbound proxy (a second workerd process holds the connections to the
 * receiver) held each callback's answer 0.3–1.25 s, though the receiver
 * answered in under 10 ms (an instrumented build, 2026-11-30). The product
 * rightly cannot tell that from a slow receiver, so it sent ~90 % of first
 * attempts through the callbacks queue: the path of a receiver slower than
 * 1 s, not of the one answering in 100 ms that the capacity model assumes.
 * At 8 no answer took over 0.5 s; at 16 one run sent none through the queue
 * and another 69 %. The run prints the share that went through the queue.
 */
const E2E_CONCURRENCY = Number(flag("e2e-concurrency") ?? 8);
/**
 * Submits in flight in the model check (`--model-concurrency=`): few enough
 * that with a gate per database this machine is not saturated into sending
 * first callback attempts through the callbacks queue (see E2E_CONCURRENCY).
 * At 64 the 33-gate run sent up to 72 % that way and spent 15 % more CPU a
 * job (2026-11-30); at 16, none in two runs.
 */
const MODEL_CONCURRENCY = Number(flag("model-concurrency") ?? 16);

/** A scenario's figures and the CPU time the target's process tree spent per operation in it. */
type Measured = ScenarioResult & { cpuMs: number };
type Scenarios = { submit: Measured; e2e: Measured; idle: Measured; poll: Measured };
interface TargetResult {
  rounds: Scenarios[];
  peakRssMiB: number[];
}

async function measure(start: () => Promise<Target>, receiver: Awaited<ReturnType<typeof startVerifyingReceiver>>) {
  const target = await start();
  const result: TargetResult = { rounds: [], peakRssMiB: [] };
  try {
    for (let round = 1; round <= rounds; round++) {
      const stopWatching = watchPeakRss(target.pid);
      const cpu = (operations: number, scenario: () => Promise<ScenarioResult>) =>
        withCpu(target.pid, operations, scenario);
      const submit = await cpu(sizes.submit, () => submitScenario(target, sizes.submit, CONCURRENCY));
      let ids: string[] = [];
      const e2e = await cpu(sizes.e2e, async () => {
        const run = await endToEndScenario(target, receiver, sizes.e2e, E2E_CONCURRENCY);
        ids = run.ids;
        return run.result;
      });
      const idle = await cpu(sizes.idle, () => idleScenario(target, receiver, sizes.idle));
      const poll = await cpu(sizes.poll, () => pollScenario(target, ids, sizes.poll, CONCURRENCY));
      result.rounds.push({ submit, e2e, idle, poll });
      result.peakRssMiB.push(await stopWatching());
      console.error(
        `  ${target.name} round ${round}: e2e ${e2e.rate.toFixed(0)} jobs/s, submit ${submit.rate.toFixed(0)} req/s`,
      );
    }
  } finally {
    await target.stop();
  }
  return result;
}

async function withCpu(pid: number, operations: number, scenario: () => Promise<ScenarioResult>): Promise<Measured> {
  const before = treeCpuMs(pid);
  const result = await scenario();
  return { ...result, cpuMs: (treeCpuMs(pid) - before) / operations };
}

type Receiver = Awaited<ReturnType<typeof startVerifyingReceiver>>;

/**
 * At most the share of first callback attempts the job consumers left to the
 * callbacks queue (a slow receiver's path, not the one the capacity model
 * assumes), as "at most n %": CALLBACKS messages per job. The bench's
 * receiver answers every callback 204, so no message is a retry, but a busy
 * origin's message is sent again without using an attempt, and the sweep
 * re-sends an overdue event: those count too. 0 % is exact.
 */
const throughQueue = (run: Metered) =>
  `at most ${((100 * (run.counts["queue:CALLBACKS:messages"] ?? 0)) / run.jobs).toFixed(0)} %`;

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const metrics = async (target: Target) =>
  (await (await fetch(`${target.url}/__metrics`)).json()) as Record<string, number>;
const resetMetrics = (target: Target) => fetch(`${target.url}/__metrics/reset`, { method: "POST" });
/** Waits for what follows the last callback (its delivery record), so it is counted too. */
const settle = () => new Promise((r) => setTimeout(r, 2000));

/**
 * The operations per echo job with one callback, counted by the product
 * itself (METERING): over the jobs' life, then over the retention sweeps
 * that delete them (RETENTION_DAYS is set to under a second, and the sweep
 * is triggered through wrangler's /__scheduled, as the cron would). With so
 * short a retention, a job submitted a second or two after another finished
 * takes over its row (store/jobs.ts `reuseExpiredJob`): what a tenant
 * submitting steadily does a week after its jobs finished in production. So
 * the storage a job's row takes is counted apart (`stored`), over as many
 * jobs run at the default retention, where each adds its own row.
 */
async function meteredRun(receiver: Receiver): Promise<{ run: Metered; purge: Metered; stored: Metered }> {
  const stored = await meteredStorage(receiver);
  const target = await startProduct({ metering: true, vars: { RETENTION_DAYS: "0.00001" } });
  try {
    const { ids, ...run } = await meteredJobs(target, receiver);
    await resetMetrics(target);
    const gone = async (id: string) =>
      (await fetch(`${target.url}/v1/jobs/${id}`, { headers: target.headers })).status === 404;
    // One sweep deletes everything expired (within its budget); the second finds nothing left.
    for (let sweep = 0; sweep < 2; sweep++) {
      await (await fetch(`${target.url}/__scheduled?cron=*+*+*+*+*`)).arrayBuffer();
    }
    const counts = await metrics(target);
    const purged = (await Promise.all(ids.map(gone))).filter(Boolean).length;
    if (purged === 0) throw new Error("the retention sweeps deleted none of the metered jobs");
    return { run, purge: { counts, jobs: purged }, stored };
  } finally {
    await target.stop();
  }
}

/** The counts over `sizes.cost` echo jobs with one callback at the default retention: no row is taken over. */
async function meteredStorage(receiver: Receiver): Promise<Metered> {
  const target = await startProduct({ metering: true });
  try {
    return await meteredJobs(target, receiver);
  } finally {
    await target.stop();
  }
}

/** Runs `sizes.cost` echo jobs with one callback on `target` and counts what they caused, to the last delivery record. */
async function meteredJobs(target: Target, receiver: Receiver): Promise<Metered & { ids: string[] }> {
  await resetMetrics(target);
  const { ids } = await endToEndScenario(target, receiver, sizes.cost, E2E_CONCURRENCY);
  await settle();
  return { counts: await metrics(target), jobs: ids.length, ids };
}

/**
 * Jobs one retention sweep can delete: rounds of `limits.retentionChunk` jobs
 * until its budget of D1 statements is spent, 4 statements a round for jobs
 * without R2 objects (a read, then three deletes: src/store/retention.ts).
 * Its time budget is D1's time, which the model's D1 component bounds.
 */
const purgedPerSweep = Math.floor(limits.retentionSweepMaxStatements / 4) * limits.retentionChunk;

function capacityOf(metered: { run: Metered; purge: Metered }): Capacity {
  return capacity(
    {
      ...metered,
      retentionDays: retentionDays(),
      purgedPerSweep,
      maxInFlightPerOrigin: limits.maxInFlightPerOrigin,
      callbacksPerInvocation: consumerSetting("edgejobs-callbacks", "max_batch_size"),
      maxDeliveryInvocations: consumerSetting("edgejobs-callbacks", "max_concurrency"),
    },
    readJson<PlatformLimits>("bench/platform-limits.json"),
    readJson<Prices>("bench/prices.json"),
  );
}

/**
 * The model check: the product behind one gate per emulated database (each
 * admits one query at a time for SERVICE_MS), end-to-end jobs/s measured
 * against 1000 ÷ (queries per job on the busiest gate × SERVICE_MS), with
 * the queries counted in the same run.
 */
async function checkModel(receiver: Receiver) {
  const config = writeModelConfig();
  const bindings = d1Bindings();
  const shardCounts = shardsArg
    ? shardsArg.split(",").map(Number)
    : [1, ...(bindings.length > 1 ? [bindings.length] : [])];
  console.error(
    `model: ${sizes.model} jobs per shard count, ${SERVICE_MS} ms per query, D1 bindings ${bindings.join(", ")}`,
  );
  const lines: string[] = [];
  for (const shards of shardCounts) {
    const target = await startModel({
      config,
      vars: { METERING: "true", MODEL_SERVICE_MS: String(SERVICE_MS), MODEL_SHARDS: String(shards) },
    });
    try {
      await resetMetrics(target);
      const cpuBefore = treeCpuMs(target.pid);
      const waitBefore = treeRunQueueWaitMs(target.pid);
      const started = performance.now();
      const { result } = await endToEndScenario(target, receiver, sizes.model, MODEL_CONCURRENCY);
      const wallMs = performance.now() - started;
      const cpuMs = treeCpuMs(target.pid) - cpuBefore;
      const cores = cpuMs / wallMs;
      // Cores' worth of time the tree was ready to run but other work held the machine's cores.
      const deniedCores = (treeRunQueueWaitMs(target.pid) - waitBefore) / wallMs;
      await settle();
      const run = { counts: await metrics(target), jobs: sizes.model };
      // Under `wrangler dev` workerd runs the Worker and all its Durable Objects on one thread, so
      // the local machine is one core however many it has (the run's "cores busy" shows it).
      const machine = { cores: 1, cpuMsPerJob: cpuMs / sizes.model };
      const { jobsPerS: predicted, bound } = predictedLocally(run, bindings, shards, SERVICE_MS, machine);
      const queries = bindings.map((b) => `${b} ${figure((run.counts[`d1:${b}:round_trips`] ?? 0) / run.jobs)}`);
      const gates = await (await fetch(`${target.url}/__model/gates`)).json();
      console.error(
        `  shards ${shards}: bound by the ${bound} (${machine.cpuMsPerJob.toFixed(1)} CPU ms per job on ${machine.cores} cores); D1 queries per job ${queries.join(", ")}; callback p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, ${throughQueue(run)} of first attempts through the callbacks queue; ${cores.toFixed(2)} cores busy, ${deniedCores.toFixed(2)} waiting for a core (load ${loadavg()[0]?.toFixed(1)}); gates ${JSON.stringify(gates)}; errors ${result.errors}`,
      );
      lines.push(
        `model: shards ${shards} predicted ${figure(predicted)} measured ${figure(result.rate)} ratio ${(result.rate / predicted).toFixed(2)}`,
      );
    } finally {
      await target.stop();
    }
  }
  return lines;
}

/** Operations of each kind added per job in the op-costs run: several, so each one's cost stands above the noise. */
const OP_COSTS_ADDED = 5;

/**
 * What a platform operation costs under `wrangler dev`, in CPU ms of the
 * process tree: the baseline's end-to-end job (bench/op-costs/, no extras),
 * then with OP_COSTS_ADDED D1 round trips, calls to as many Durable Objects
 * named afresh (each call creates its object), and a second call to each of
 * those objects, added to each job's consumer. Each variant runs
 * `sizes.e2e` jobs on a fresh server after 100 unmeasured ones, the
 * variants in turn `rounds` times; an operation's cost is the median over
 * rounds of the difference within a round (so the machine's drift between
 * rounds cancels), over the operations added.
 */
async function measureOpCosts(receiver: Receiver): Promise<string> {
  const variants = {
    plain: {},
    d1: { EXTRA_D1_READS: String(OP_COSTS_ADDED) },
    object: { EXTRA_NEW_OBJECTS: String(OP_COSTS_ADDED) },
    objectTwice: { EXTRA_NEW_OBJECTS: String(OP_COSTS_ADDED), CALLS_PER_OBJECT: "2" },
  };
  type Variant = keyof typeof variants;
  const byRound: Partial<Record<Variant, number>>[] = [];
  for (let round = 1; round <= rounds; round++) {
    const cpu: Partial<Record<Variant, number>> = {};
    byRound.push(cpu);
    for (const [name, vars] of Object.entries(variants) as [Variant, Record<string, string>][]) {
      const target = await startHandWritten("op-costs", vars);
      try {
        await endToEndScenario(target, receiver, 100, E2E_CONCURRENCY);
        const { cpuMs, errors } = await withCpu(
          target.pid,
          sizes.e2e,
          async () => (await endToEndScenario(target, receiver, sizes.e2e, E2E_CONCURRENCY)).result,
        );
        if (errors > 0) throw new Error(`op-costs ${name}: ${errors} failed requests`);
        cpu[name] = cpuMs;
        console.error(`  op-costs round ${round} ${name}: ${cpuMs.toFixed(2)} CPU ms per job`);
      } finally {
        await target.stop();
      }
    }
  }
  const cost = (more: Variant, less: Variant) =>
    median(byRound.map((cpu) => ((cpu[more] ?? 0) - (cpu[less] ?? 0)) / OP_COSTS_ADDED));
  const costs = {
    baseline_job_ms: median(byRound.map((cpu) => cpu.plain ?? 0)),
    d1_round_trip_ms: cost("d1", "plain"),
    new_object_call_ms: cost("object", "plain"),
    later_object_call_ms: cost("objectTwice", "object"),
  };
  return `op-costs: ${Object.entries(costs)
    .map(([name, value]) => `${name} ${value.toFixed(2)}`)
    .join(" ")}`;
}

const receiver = await startVerifyingReceiver();
if (opCostsCheck) {
  const line = await measureOpCosts(receiver);
  await receiver.close();
  console.log(line);
  process.exit(0);
}
if (modelCheck) {
  const lines = await checkModel(receiver);
  await receiver.close();
  console.log(lines.join("\n"));
  process.exit(0);
}
console.error(`bench: ${rounds} round(s) per target${quick ? " (quick)" : ""}`);
const product = await measure(() => startProduct(), receiver);
const baseline = await measure(() => startHandWritten("baseline"), receiver);
const floor = withFloor ? await measure(() => startHandWritten("floor"), receiver) : undefined;
const metered = await meteredRun(receiver);
const model = capacityOf(metered);
await receiver.close();

const med = (r: TargetResult, scenario: keyof Scenarios, field: keyof Measured) =>
  median(r.rounds.map((x) => x[scenario][field]));
const rows: [string, keyof Scenarios, keyof Measured, string][] = [
  ["submit req/s", "submit", "rate", "higher"],
  ["submit p50 ms", "submit", "p50", "lower"],
  ["submit p99 ms", "submit", "p99", "lower"],
  ["e2e jobs/s", "e2e", "rate", "higher"],
  ["e2e callback p50 ms", "e2e", "p50", "lower"],
  ["e2e callback p99 ms", "e2e", "p99", "lower"],
  ["idle p50 ms", "idle", "p50", "lower"],
  ["idle p99 ms", "idle", "p99", "lower"],
  ["poll req/s", "poll", "rate", "higher"],
  ["poll p50 ms", "poll", "p50", "lower"],
  ["poll p99 ms", "poll", "p99", "lower"],
  // CPU of the whole local process tree (wrangler + workerd) per operation: steadier than rates here.
  ["submit CPU ms per job (incl. its run)", "submit", "cpuMs", "lower"],
  ["e2e CPU ms per job (incl. callback)", "e2e", "cpuMs", "lower"],
  ["idle CPU ms per job", "idle", "cpuMs", "lower"],
  ["poll CPU ms per request", "poll", "cpuMs", "lower"],
];
const two = (n: number) => Number(n.toFixed(2));
/** A row of figures: the product's, the baseline's and their ratio; with `--floor`, the floor's and its ratios too. */
const tableRow = (metric: string, of: (r: TargetResult) => number) => {
  const [p, b] = [of(product), of(baseline)];
  const f = floor && of(floor);
  return {
    metric,
    product: two(p),
    baseline: two(b),
    ratio: two(p / b),
    ...(f === undefined ? {} : { floor: two(f), "floor ÷ baseline": two(f / b), "product ÷ floor": two(p / f) }),
  };
};
const table = rows.map(([label, scenario, field]) => tableRow(label, (r) => med(r, scenario, field)));
table.push(tableRow("peak RSS MiB per round", (r) => Math.max(...r.peakRssMiB)));
const errors = [product, baseline, ...(floor ? [floor] : [])].flatMap((r) =>
  r.rounds.flatMap((x) => Object.values(x).map((s) => s.errors)),
);

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString()}`,
);
console.log(
  `sizes: ${JSON.stringify(sizes)}, concurrency ${CONCURRENCY} (end to end and metered: ${E2E_CONCURRENCY}), ${rounds} round(s), medians across rounds\n`,
);
console.table(table);
console.log("peak RSS by round (MiB):", {
  product: product.peakRssMiB.map(Math.round),
  baseline: baseline.peakRssMiB.map(Math.round),
  ...(floor ? { floor: floor.peakRssMiB.map(Math.round) } : {}),
});
// A peak is a count at one moment, not a sum over jobs: shown as counted.
const perJob = (counts: Record<string, number>, jobs: number) =>
  Object.fromEntries(
    Object.entries(counts).map(([key, n]) => [key, Number((key.includes(":peak_") ? n : n / jobs).toFixed(3))]),
  );
console.log(`\noperations per echo job with one callback (${metered.run.jobs} jobs), and per job at its deletion:`);
console.table(
  [...new Set([...Object.keys(metered.run.counts), ...Object.keys(metered.purge.counts)])].sort().map((key) => ({
    counter: key,
    run: perJob(metered.run.counts, metered.run.jobs)[key] ?? 0,
    retention: perJob(metered.purge.counts, metered.purge.jobs)[key] ?? 0,
  })),
);
console.log(
  `\ncapacity model (limits: bench/platform-limits.json; retention ${retentionDays()} days, purge ${purgedPerSweep} jobs/min):`,
);
console.table(
  model.components.map((c) => ({
    component: c.component,
    load_per_job: Number(c.load_per_job.toPrecision(3)),
    unit: c.unit,
    limit: c.limit,
    limit_unit: c.limit_unit,
    jobs_per_s: Number(figure(c.jobs_per_s)),
    bounds: c.bound,
  })),
);
console.log(
  "USD per million jobs by item:",
  Object.fromEntries(Object.entries(model.cost).map(([k, v]) => [k, Number(v.toFixed(3))])),
);
console.log(`first callback attempts sent through the callbacks queue: ${throughQueue(metered.run)}`);
console.log(`errors (failed requests + unverifiable callbacks): ${errors.reduce((a, b) => a + b, 0)}`);

const rowOf = (metric: string) => table.find((row) => row.metric === metric);
const ratio = (metric: string) => rowOf(metric)?.ratio ?? Number.NaN;
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/latest.json",
  `${JSON.stringify({ at: new Date().toISOString(), sizes, rounds, table, product, baseline, floor, metered, model }, null, 2)}\n`,
);
const e2eCpu = rowOf("e2e CPU ms per job (incl. callback)");
if (e2eCpu && "floor" in e2eCpu) {
  console.log(
    `floor: cpu_per_job ${e2eCpu["floor ÷ baseline"]} product_per_floor ${e2eCpu["product ÷ floor"]} e2e ${rowOf("e2e jobs/s")?.["floor ÷ baseline"]}`,
  );
}
console.log(
  `bench: e2e ${ratio("e2e jobs/s")} submit ${ratio("submit req/s")} poll ${ratio("poll req/s")} idle_p50 ${ratio("idle p50 ms")} cpu_per_job ${ratio("e2e CPU ms per job (incl. callback)")} usd_per_million ${model.usd_per_million.toFixed(2)}`,
);
console.log(capacityLine(model));
