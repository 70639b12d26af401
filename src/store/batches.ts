import { type StoredJobStatus, shownStatus, storedTerminalStatuses } from "./jobs";
import { type SqlFragment, sql, sqlFragment } from "./sql";

/** Where a batch stands: running until every job in it is terminal, then completed (once). */
export type BatchStatus = "running" | "completed";

/** How a batch's jobs ended: each terminal job counts once, under its terminal status. */
export interface BatchOutcomeCounts {
  succeeded: number;
  failed: number;
  canceled: number;
}

/**
 * A batch as stored (migrations/0010_batches.sql). Times are Unix ms. The
 * counts are the final ones once it is completed; while it runs they are 0
 * here and kept by its BatchTracker (batches/tracker.ts).
 */
export interface BatchRecord {
  id: string;
  tenantId: string;
  status: BatchStatus;
  /** Jobs submitted in the batch. */
  total: number;
  counts: BatchOutcomeCounts;
  /** `on_complete.callback_url`, or null: no `batch.completed` event. */
  callbackUrl: string | null;
  /** `on_complete.metadata` as JSON text, or null. */
  metadataJson: string | null;
  createdAt: number;
  completedAt: number | null;
}

interface BatchRow {
  id: string;
  tenant_id: string;
  status: BatchStatus;
  total: number;
  succeeded: number;
  failed: number;
  canceled: number;
  callback_url: string | null;
  metadata: string | null;
  created_at: number;
  completed_at: number | null;
}

const fromRow = (row: BatchRow): BatchRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  status: row.status,
  total: row.total,
  counts: { succeeded: row.succeeded, failed: row.failed, canceled: row.canceled },
  callbackUrl: row.callback_url,
  metadataJson: row.metadata,
  createdAt: row.created_at,
  completedAt: row.completed_at,
});

/** Inserts a new, running batch: a statement, so it rides in the D1 batch that inserts its jobs. */
export function insertBatch(db: D1Database, batch: BatchRecord): D1PreparedStatement {
  return sql(db)`INSERT INTO batches (id, tenant_id, status, total, callback_url, metadata, created_at)
    VALUES (${batch.id}, ${batch.tenantId}, 'running', ${batch.total}, ${batch.callbackUrl}, ${batch.metadataJson},
      ${batch.createdAt})`;
}

/** The batch with this id, whoever's it is (its tracker's read). */
export async function findBatch(db: D1Database, id: string): Promise<BatchRecord | null> {
  const row = await sql(db)`SELECT * FROM batches WHERE id = ${id}`.first<BatchRow>();
  return row ? fromRow(row) : null;
}

/** The tenant's batch with this id, or null (another tenant's batch looks like none). */
export async function findTenantBatch(db: D1Database, tenantId: string, id: string): Promise<BatchRecord | null> {
  const row = await sql(db)`SELECT * FROM batches WHERE id = ${id} AND tenant_id = ${tenantId}`.first<BatchRow>();
  return row ? fromRow(row) : null;
}

/** Holds while the batch is running: guards the insert of its event (`insertWebhookEventIf`). */
export const batchIsRunning = (id: string): SqlFragment =>
  sqlFragment`EXISTS (SELECT 1 FROM batches WHERE id = ${id} AND status = 'running')`;

/**
 * Marks a running batch completed with its final counts. Guarded by
 * `status = 'running'`, so of two completions only the first changes the
 * row (`meta.changes` 1); the batch's event goes before it in the same D1
 * batch, guarded by `batchIsRunning`, so it is stored by that first one only.
 */
export function completeBatch(
  db: D1Database,
  id: string,
  counts: BatchOutcomeCounts,
  now: number,
): D1PreparedStatement {
  return sql(db)`UPDATE batches SET status = 'completed', succeeded = ${counts.succeeded}, failed = ${counts.failed},
      canceled = ${counts.canceled}, completed_at = ${now}
    WHERE id = ${id} AND status = 'running'`;
}

/** A terminal job of a batch, as its row says. */
export interface TerminalBatchJob {
  id: string;
  status: keyof BatchOutcomeCounts;
}

/**
 * The batch's jobs that are terminal in D1 (at most 100: a batch's size),
 * through the jobs_by_batch index (named: SQLite could otherwise read the
 * tenant's finished jobs through the jobs' key). A terminal status never changes, so
 * this is what their trackers reported or will report.
 */
export async function listTerminalBatchJobs(
  db: D1Database,
  tenantId: string,
  batchId: string,
): Promise<TerminalBatchJob[]> {
  const { results } = await sql(db)`SELECT id, status FROM jobs INDEXED BY jobs_by_batch
    WHERE tenant_id = ${tenantId} AND batch_id = ${batchId}
      AND status IN ${storedTerminalStatuses}`.all<{ id: string; status: StoredJobStatus }>();
  return results.map((r) => ({ id: r.id, status: shownStatus(r.status) as TerminalBatchJob["status"] }));
}

/**
 * Running batches whose jobs are all terminal and finished before `before`
 * (ms): a job's report to its batch was lost on the way (its tracker stored
 * the job and died), or the completion failed. Oldest first, at most
 * `limit`; through the batches_running index, which holds running batches
 * only, and each batch's jobs through jobs_by_batch (named: SQLite would
 * otherwise read every job of the tenant through the jobs' key).
 */
export async function listStalledBatchIds(db: D1Database, before: number, limit: number): Promise<string[]> {
  const { results } = await sql(db)`SELECT id FROM batches b
    WHERE status = 'running'
      AND NOT EXISTS (SELECT 1 FROM jobs j INDEXED BY jobs_by_batch WHERE j.tenant_id = b.tenant_id AND j.batch_id = b.id
        AND (j.status NOT IN ${storedTerminalStatuses} OR j.finished_at >= ${before}))
    ORDER BY created_at LIMIT ${limit}`.all<{ id: string }>();
  return results.map((r) => r.id);
}
