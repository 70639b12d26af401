import type { Env } from "../env";
import { limits } from "../limits";
import { clock, isoTime } from "../platform/clock";
import { databases } from "../store/databases";
import { type ShardStats, shardStatsFound, shardStatsStatements } from "../store/stats";
import { type JobStatus, jobStatuses } from "./model";

const minuteMs = 60_000;
/** The chart's span: this minute and the 59 before it. */
const chartMinutes = 60;

/** `GET /v1/stats`: the console's counts and its chart of the last hour (shapes in contract/schemas.ts). */
export interface TenantStats {
  counts: Record<JobStatus, number>;
  /** Statuses whose count is a lower bound: a shard held `limits.statsCountCap` or more of them. */
  counts_capped: JobStatus[];
  /** Oldest first, one entry per minute (its start, RFC 3339), the current minute last. */
  per_minute: { minute: string; succeeded: number; failed: number }[];
  /** True when a shard finished more jobs in the hour than the chart reads (`limits.statsRecentScan`). */
  per_minute_partial: boolean;
}

/** The tenant's stats, from every shard at once (one round trip each). */
export async function readTenantStats(env: Env, tenantId: string): Promise<TenantStats> {
  const now = clock.now();
  const since = Math.floor(now / minuteMs) * minuteMs - (chartMinutes - 1) * minuteMs;
  const bounds = { countCap: limits.statsCountCap, recentScan: limits.statsRecentScan };
  const shards = await Promise.all(
    databases(env).shards.map(async (db) =>
      shardStatsFound(await db.batch(shardStatsStatements(db, tenantId, since, bounds)), bounds),
    ),
  );
  return combineStats(shards, since);
}

/** The shards' numbers as one answer: counts summed, finished jobs in one bucket per minute from `since`. */
export function combineStats(shards: ShardStats[], since: number): TenantStats {
  const counts = Object.fromEntries(
    jobStatuses.map((status) => [status, shards.reduce((sum, shard) => sum + shard.counts[status], 0)]),
  ) as Record<JobStatus, number>;
  const buckets = Array.from({ length: chartMinutes }, (_, i) => ({
    minute: isoTime(since + i * minuteMs) as string,
    succeeded: 0,
    failed: 0,
  }));
  for (const { status, minute, count } of shards.flatMap((shard) => shard.finished)) {
    const bucket = buckets[Math.floor((minute - since) / minuteMs)];
    if (bucket) bucket[status] += count;
  }
  return {
    counts,
    counts_capped: jobStatuses.filter((status) => shards.some((shard) => shard.capped.includes(status))),
    per_minute: buckets,
    per_minute_partial: shards.some((shard) => shard.recentFull.length > 0),
  };
}
