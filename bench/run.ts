// `npm run bench`: the product against a minimal baseline Worker, one at a
// time, in the same run, on loopback only. Prints absolute figures, the
// ratios product ÷ baseline, the cost per job from the product's own
// operation counters, and one summary line for scripts.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { median, pool, treeCpuMs, watchPeakRss } from "./load.ts";
import { startVerifyingReceiver } from "./receiver.ts";
import { endToEndScenario, idleScenario, pollScenario, type ScenarioResult, submitScenario } from "./scenarios.ts";
import { startBaseline, startProduct, type Target } from "./targets.ts";

const quick = process.argv.includes("--quick");
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.split("=")[1] ?? 3);
const sizes = quick
  ? { submit: 300, e2e: 200, idle: 10, poll: 300, cost: 50 }
  : { submit: 3000, e2e: 2000, idle: 100, poll: 3000, cost: 200 };
const CONCURRENCY = 32;

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
        const run = await endToEndScenario(target, receiver, sizes.e2e, CONCURRENCY);
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

/** Billable operations per echo job with one callback, from the product's counters (METERING). */
async function costPerJob(receiver: Awaited<ReturnType<typeof startVerifyingReceiver>>) {
  const prices = JSON.parse(readFileSync("bench/prices.json", "utf8")) as {
    date: string;
    usd_per_million: Record<string, number>;
  };
  const target = await startProduct({ metering: true });
  try {
    receiver.useSecret(target.webhookSecret);
    await fetch(`${target.url}/__metrics/reset`, { method: "POST" });
    const ids: string[] = [];
    await pool(sizes.cost, 8, async (i) => {
      const res = await fetch(`${target.url}/v1/jobs`, {
        method: "POST",
        headers: target.headers,
        body: JSON.stringify({ type: "echo", input: { n: i }, callback_url: receiver.url }),
      });
      ids[i] = ((await res.json()) as { id: string }).id;
      return true;
    });
    await Promise.all(ids.map((id) => receiver.arrival(id)));
    await new Promise((r) => setTimeout(r, 2000)); // the delivery records are written after the POST
    const counts = (await (await fetch(`${target.url}/__metrics`)).json()) as Record<string, number>;
    const perJob = Object.fromEntries(Object.entries(counts).map(([op, n]) => [op, n / sizes.cost]));
    const usd = Object.entries(perJob).reduce((sum, [op, n]) => sum + n * (prices.usd_per_million[op] ?? 0), 0);
    return { perJob, usdPerMillion: usd, pricesDate: prices.date };
  } finally {
    await target.stop();
  }
}

const receiver = await startVerifyingReceiver();
console.error(`bench: ${rounds} round(s) per target${quick ? " (quick)" : ""}`);
const product = await measure(() => startProduct(), receiver);
const baseline = await measure(startBaseline, receiver);
const cost = await costPerJob(receiver);
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
const table = rows.map(([label, scenario, field]) => {
  const p = med(product, scenario, field);
  const b = med(baseline, scenario, field);
  return {
    metric: label,
    product: Number(p.toFixed(2)),
    baseline: Number(b.toFixed(2)),
    ratio: Number((p / b).toFixed(2)),
  };
});
table.push({
  metric: "peak RSS MiB per round",
  product: Math.max(...product.peakRssMiB),
  baseline: Math.max(...baseline.peakRssMiB),
  ratio: Number((Math.max(...product.peakRssMiB) / Math.max(...baseline.peakRssMiB)).toFixed(2)),
});
const errors = [product, baseline].flatMap((r) => r.rounds.flatMap((x) => Object.values(x).map((s) => s.errors)));

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${new Date().toISOString()}`,
);
console.log(`sizes: ${JSON.stringify(sizes)}, concurrency ${CONCURRENCY}, ${rounds} round(s), medians across rounds\n`);
console.table(table);
console.log("peak RSS by round (MiB):", {
  product: product.peakRssMiB.map(Math.round),
  baseline: baseline.peakRssMiB.map(Math.round),
});
console.log(`\ncost per echo job with one callback (prices of ${cost.pricesDate}):`);
console.table(
  Object.entries(cost.perJob).map(([operation, perJob]) => ({ operation, per_job: Number(perJob.toFixed(3)) })),
);
console.log(`USD per million jobs: ${cost.usdPerMillion.toFixed(2)}`);
console.log(`errors (failed requests + unverifiable callbacks): ${errors.reduce((a, b) => a + b, 0)}`);

const ratio = (metric: string) => table.find((row) => row.metric === metric)?.ratio ?? Number.NaN;
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/latest.json",
  `${JSON.stringify({ at: new Date().toISOString(), sizes, rounds, table, product, baseline, cost }, null, 2)}\n`,
);
console.log(
  `bench: e2e ${ratio("e2e jobs/s")} submit ${ratio("submit req/s")} poll ${ratio("poll req/s")} idle_p50 ${ratio("idle p50 ms")} usd_per_million ${cost.usdPerMillion.toFixed(2)}`,
);
