/** Load generation and statistics for the benchmark: plain fetch, a fixed concurrency. */

export interface Sample {
  ms: number;
  ok: boolean;
}

/** Runs `task(i)` for i in [0, total) with at most `concurrency` in flight; returns each latency. */
export async function pool(total: number, concurrency: number, task: (i: number) => Promise<boolean>) {
  const samples: Sample[] = new Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t = performance.now();
        const ok = await task(i).catch(() => false);
        samples[i] = { ms: performance.now() - t, ok };
      }
    }),
  );
  return { samples, seconds: (performance.now() - started) / 1000 };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export const median = (values: number[]) => percentile(values, 50);

/** Resident memory of a process and all its descendants, in MiB (Linux /proc via ps). */
export async function treeRssMiB(rootPid: number): Promise<number> {
  const { execFileSync } = await import("node:child_process");
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid=,rss="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const rss = new Map(rows.map(([pid, , kb]) => [pid, kb]));
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total / 1024;
}

/** Samples the tree's memory until stopped; returns the peak. */
export function watchPeakRss(rootPid: number, everyMs = 200) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await treeRssMiB(rootPid));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return peak;
  };
}
