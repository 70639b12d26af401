import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
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

/** A process and all its descendants, with their resident memory (KiB) and CPU time (ms). Linux: ps and /proc. */
function processTree(rootPid: number): { pid: number; rssKiB: number; cpuMs: number }[] {
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid=,rss="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const rss = new Map(rows.map(([pid, , kib]) => [pid, kib]));
  const tree = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    tree.push({ pid, rssKiB: rss.get(pid) ?? 0, cpuMs: cpuMsOf(pid) });
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** User + system time from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0; // it exited meanwhile
  }
}

/** Time a process's threads spent runnable but waiting for a core, in ms (/proc/<pid>/task/<tid>/schedstat, field 2, ns). */
function runQueueWaitMsOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      const waitedNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]);
      return sum + (Number.isFinite(waitedNs) ? waitedNs / 1e6 : 0);
    }, 0);
  } catch {
    return 0; // it exited meanwhile
  }
}

/**
 * Time a process and its descendants spent ready to run but waiting for a
 * core, in ms: on a machine shared with other work, the CPU this tree wanted
 * and did not get.
 */
export const treeRunQueueWaitMs = (rootPid: number) =>
  processTree(rootPid).reduce((sum, p) => sum + runQueueWaitMsOf(p.pid), 0);

/** Resident memory of a process and all its descendants, in MiB. */
export const treeRssMiB = (rootPid: number) => processTree(rootPid).reduce((sum, p) => sum + p.rssKiB, 0) / 1024;

/**
 * CPU time a process and its descendants have used, in ms. On a noisy
 * machine the CPU spent per operation is steadier than throughput, and
 * it is what the operations cost: locally one process tree does all the work.
 */
export const treeCpuMs = (rootPid: number) => processTree(rootPid).reduce((sum, p) => sum + p.cpuMs, 0);

/** Samples the tree's memory until stopped; returns the peak. */
export function watchPeakRss(rootPid: number, everyMs = 200) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, treeRssMiB(rootPid));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return peak;
  };
}
