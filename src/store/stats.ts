import { type JobStatus, jobStatuses, terminalJobStatuses } from "../contract/schemas";
import { indexedAs } from "./jobs";
import { sql } from "./sql";

/**
 * The console's numbers for one tenant on one database, each read through
 * the index of its status (store/jobs.ts `indexedAs`) and bounded: the counts
 * read at most `countCap` jobs per finished status and `countCap` live jobs
 * in all; the chart reads the newest `recentScan` jobs of each finished
 * status and keeps those that finished since `since`. So a tenant's 100,000
 * jobs are never all read.
 */
export interface ShardStats {
  /** Per status, at most `countCap` (the live statuses together at most `countCap`). */
  counts: Record<JobStatus, number>;
  /** Statuses whose count is a lower bound: a finished one that reached `countCap`, every live one when they did together. */
  capped: JobStatus[];
  /** Jobs finished since `since`, per status and minute (the minute's start, Unix ms). */
  finished: { status: "succeeded" | "failed"; minute: number; count: number }[];
  /** Statuses whose `recentScan` newest jobs all finished since `since`: older minutes may undercount. */
  recentFull: ("succeeded" | "failed")[];
}

const finishedStatuses = ["succeeded", "failed"] as const;
const liveStatuses: readonly JobStatus[] = jobStatuses.filter(
  (status) => !(terminalJobStatuses as readonly JobStatus[]).includes(status),
);

/** How much the console's reads may read per shard. */
export interface StatsBounds {
  countCap: number;
  recentScan: number;
}

/**
 * The statements of one shard's stats, for one batch: the live statuses
 * counted together over at most `countCap` of the tenant's live jobs
 * (jobs_live is keyed without status, so one status alone could mean
 * reading them all), a bounded count per finished status (jobs_ended), then
 * two bounded recent scans.
 */
export function shardStatsStatements(
  db: D1Database,
  tenantId: string,
  since: number,
  bounds: StatsBounds,
): D1PreparedStatement[] {
  const live = sql(db)`SELECT status, COUNT(*) AS n FROM (SELECT status FROM jobs
      WHERE tenant_id = ${tenantId} AND finished_at IS NULL LIMIT ${bounds.countCap}) GROUP BY status`;
  const counts = terminalJobStatuses.map(
    (status) => sql(db)`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs
      WHERE tenant_id = ${tenantId} AND ${indexedAs(status)} LIMIT ${bounds.countCap})`,
  );
  const recent = finishedStatuses.map(
    (status) => sql(db)`SELECT finished_at / 60000 * 60000 AS minute, COUNT(*) AS n
      FROM (SELECT finished_at FROM jobs WHERE tenant_id = ${tenantId} AND ${indexedAs(status)}
        ORDER BY id DESC LIMIT ${bounds.recentScan})
      WHERE finished_at >= ${since} GROUP BY minute`,
  );
  return [live, ...counts, ...recent];
}

type StatsRow = { n: number; status?: JobStatus; minute?: number };

/** What `shardStatsStatements` found. */
export function shardStatsFound(results: D1Result<StatsRow>[], bounds: StatsBounds): ShardStats {
  const [live, ...rest] = results;
  const counts = Object.fromEntries(jobStatuses.map((status) => [status, 0])) as Record<JobStatus, number>;
  for (const row of live?.results ?? []) counts[row.status as JobStatus] = row.n;
  terminalJobStatuses.forEach((status, i) => {
    counts[status] = rest[i]?.results[0]?.n ?? 0;
  });
  const finished = finishedStatuses.flatMap((status, i) =>
    (rest[terminalJobStatuses.length + i]?.results ?? []).map((row) => ({
      status,
      minute: row.minute as number,
      count: row.n,
    })),
  );
  const recentFull = finishedStatuses.filter(
    (status) => finished.filter((f) => f.status === status).reduce((sum, f) => sum + f.count, 0) >= bounds.recentScan,
  );
  // A live scan that reached the cap leaves every live status's count a lower bound.
  const liveCapped = liveStatuses.reduce((sum, status) => sum + counts[status], 0) >= bounds.countCap;
  const capped = jobStatuses.filter((status) =>
    liveStatuses.includes(status) ? liveCapped : counts[status] >= bounds.countCap,
  );
  return { counts, capped, finished, recentFull };
}
