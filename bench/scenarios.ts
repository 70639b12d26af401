import { median, percentile, pool } from "./load.ts";
import type { startVerifyingReceiver } from "./receiver.ts";
import type { Target } from "./targets.ts";

type Receiver = Awaited<ReturnType<typeof startVerifyingReceiver>>;

export interface ScenarioResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

async function submit(target: Target, i: number, callbackUrl?: string): Promise<string> {
  const res = await fetch(`${target.url}/v1/jobs`, {
    method: "POST",
    headers: target.headers,
    body: JSON.stringify({ type: "echo", input: { n: i }, ...(callbackUrl ? { callback_url: callbackUrl } : {}) }),
  });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

const summarize = (samples: { ms: number; ok: boolean }[], seconds: number): ScenarioResult => ({
  rate: samples.filter((s) => s.ok).length / seconds,
  p50: median(samples.map((s) => s.ms)),
  p99: percentile(
    samples.map((s) => s.ms),
    99,
  ),
  errors: samples.filter((s) => !s.ok).length,
});

/** Submit throughput: `total` POST /v1/jobs of echo at `concurrency`. */
export async function submitScenario(target: Target, total: number, concurrency: number) {
  const ids: string[] = [];
  const { samples, seconds } = await pool(total, concurrency, async (i) => {
    ids[i] = await submit(target, i);
    return true;
  });
  await target.waitDone(ids.at(-1) as string); // let the queue drain before the next scenario
  return summarize(samples, seconds);
}

/** End to end: jobs/s from the first submit to the last verified callback, and callback latency. */
export async function endToEndScenario(target: Target, receiver: Receiver, total: number, concurrency: number) {
  receiver.useSecret(target.webhookSecret);
  const sentAt: number[] = [];
  const ids: string[] = [];
  const first = performance.now();
  const { samples } = await pool(total, concurrency, async (i) => {
    sentAt[i] = performance.now();
    ids[i] = await submit(target, i, receiver.url);
    return true;
  });
  const arrivals = await Promise.all(ids.map((id) => receiver.arrival(id)));
  const latencies = arrivals.map((at, i) => at - (sentAt[i] as number));
  return {
    ids,
    result: {
      rate: total / ((Math.max(...arrivals) - first) / 1000),
      p50: median(latencies),
      p99: percentile(latencies, 99),
      errors: samples.filter((s) => !s.ok).length + receiver.invalidCount(),
    } satisfies ScenarioResult,
  };
}

/** Idle latency: one job at a time, POST sent → callback received. */
export async function idleScenario(target: Target, receiver: Receiver, total: number) {
  receiver.useSecret(target.webhookSecret);
  const latencies: number[] = [];
  for (let i = 0; i < total; i++) {
    const sent = performance.now();
    const id = await submit(target, i, receiver.url);
    latencies.push((await receiver.arrival(id)) - sent);
  }
  return {
    rate: total / (latencies.reduce((a, b) => a + b, 0) / 1000),
    p50: median(latencies),
    p99: percentile(latencies, 99),
    errors: 0,
  };
}

/** Poll throughput: GET /v1/jobs/{id} of finished jobs. */
export async function pollScenario(target: Target, ids: string[], total: number, concurrency: number) {
  const { samples, seconds } = await pool(total, concurrency, async (i) => {
    const res = await fetch(`${target.url}/v1/jobs/${ids[i % ids.length]}`, { headers: target.headers });
    await res.arrayBuffer();
    return res.status === 200;
  });
  return summarize(samples, seconds);
}
