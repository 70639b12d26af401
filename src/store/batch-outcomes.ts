import type { BatchOutcomeCounts } from "./batches";
import { storageSql } from "./sql";

/**
 * A BatchTracker's own storage (its Durable Object's SQLite): the terminal
 * status of each job of the batch that has reported, keyed by job id, so a
 * second report of the same job changes nothing.
 */

/** Creates the outcomes table if it is new. WITHOUT ROWID: a report writes one row, not a row and an index. */
export function createOutcomeTable(storage: SqlStorage): void {
  storageSql(storage)`CREATE TABLE IF NOT EXISTS outcomes (job_id TEXT PRIMARY KEY, status TEXT NOT NULL)
    WITHOUT ROWID`;
}

/** Records a job's terminal status unless it is recorded already; answers whether this call recorded it. */
export function recordOutcome(storage: SqlStorage, jobId: string, status: keyof BatchOutcomeCounts): boolean {
  const cursor = storageSql(storage)`INSERT INTO outcomes (job_id, status) VALUES (${jobId}, ${status})
    ON CONFLICT (job_id) DO NOTHING`;
  return cursor.rowsWritten > 0;
}

/** The recorded outcomes, counted by status. */
export function countRecordedOutcomes(storage: SqlStorage): BatchOutcomeCounts {
  const rows = storageSql(storage)<{ status: keyof BatchOutcomeCounts; n: number }>`SELECT status, COUNT(*) AS n
    FROM outcomes GROUP BY status`.toArray();
  const counts: BatchOutcomeCounts = { succeeded: 0, failed: 0, canceled: 0 };
  for (const { status, n } of rows) counts[status] = n;
  return counts;
}
