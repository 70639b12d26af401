import { type JobStatus, jobStatuses } from "../contract/schemas";
import { newestAt, storedStatusesOf } from "./jobs";
import { sql, sqlFragment } from "./sql";

/**
 * The console's numbers for one tenant on one database, each read through
 * a range of the jobs' key (tenant, status, id) for each status a job shown
 * at a status is stored at (store/jobs.ts `storedStatusesOf`), and bounded:
 * the counts read at most `countCap` jobs per status; the chart reads
 * the newest `recentScan` jobs of each finished status and keeps those that
 * finished since `since`. So a tenant's 100,000 jobs are never all read.
 */
export interface ShardStats {
  /** Per status, at most `countCap`. */
  counts: Record<JobStatus, number>;
  /** Statuses that reached `countCap`: their count is a lower bound. */
  capped: JobStatus[];
  /** Jobs finished since `since`, per status and minute (the minute's start, Unix ms). */
  finished: { status: "succeeded" | "failed"; minute: number; count: number }[];
  /** Statuses whose `recentScan` newest jobs all finished since `since`: older minutes may undercount. */
  recentFull: ("succeeded" | "failed")[];
}

const chartedStatuses = ["succeeded", "failed"] as const;

/** How much the console's reads may read per shard. */
export interface StatsBounds {
  countCap: number;
  recentScan: number;
}

/** The statements of one shard's stats, for one batch: six bounded counts, then two bounded recent scans. */
export function shardStatsStatements(
  db: D1Database,
  tenantId: string,
  since: number,
  bounds: StatsBounds,
): D1PreparedStatement[] {
  const counts = jobStatuses.map(
    (status) => sql(db)`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs
      WHERE tenant_id = ${tenantId} AND status IN ${storedStatusesOf(status)} LIMIT ${bounds.countCap})`,
  );
  const tenant = [sqlFragment`tenant_id = ${tenantId}`];
  const recent = chartedStatuses.map(
    (status) => sql(db)`SELECT finished_at / 60000 * 60000 AS minute, COUNT(*) AS n
      FROM (${newestAt(sqlFragment`jobs`, tenant, storedStatusesOf(status), bounds.recentScan)})
      WHERE finished_at >= ${since} GROUP BY minute`,
  );
  return [...counts, ...recent];
}

/** What `shardStatsStatements` found. */
export function shardStatsFound(results: D1Result<{ n: number; minute?: number }>[], bounds: StatsBounds): ShardStats {
  const counts = Object.fromEntries(jobStatuses.map((status, i) => [status, results[i]?.results[0]?.n ?? 0])) as Record<
    JobStatus,
    number
  >;
  const finished = chartedStatuses.flatMap((status, i) =>
    (results[jobStatuses.length + i]?.results ?? []).map((row) => ({
      status,
      minute: row.minute as number,
      count: row.n,
    })),
  );
  const recentFull = chartedStatuses.filter(
    (status) => finished.filter((f) => f.status === status).reduce((sum, f) => sum + f.count, 0) >= bounds.recentScan,
  );
  const capped = jobStatuses.filter((status) => counts[status] >= bounds.countCap);
  return { counts, capped, finished, recentFull };
}
