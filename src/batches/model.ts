import type { z } from "zod";
import type { BatchSchema } from "../contract/schemas";
import { isoTime } from "../platform/clock";
import type { BatchOutcomeCounts, BatchRecord } from "../store/batches";

/**
 * A batch as the domain sees it: the stored record, the contract's view, and
 * the one decision its tracker makes (whether it is complete), apart from I/O.
 */

export type { BatchOutcomeCounts, BatchRecord };

/** The public representation of a batch (API.md `GET /v1/batches/{id}`). */
export type BatchView = z.output<typeof BatchSchema>;

/** The terminal statuses a batch counts, one counter each. */
export type BatchOutcome = keyof BatchOutcomeCounts;

export const noOutcomes = (): BatchOutcomeCounts => ({ succeeded: 0, failed: 0, canceled: 0 });

/** Counts each job once, under its (terminal) status. */
export function countOutcomes(statuses: Iterable<BatchOutcome>): BatchOutcomeCounts {
  const counts = noOutcomes();
  for (const status of statuses) counts[status] += 1;
  return counts;
}

/** Every job of a batch of `total` is terminal: the batch is to complete. */
export function allTerminal(total: number, counts: BatchOutcomeCounts): boolean {
  return counts.succeeded + counts.failed + counts.canceled >= total;
}

/** The batch as the API and its `batch.completed` event show it, with `counts` (the record's once completed). */
export function toBatchView(batch: BatchRecord, counts: BatchOutcomeCounts): BatchView {
  const done = counts.succeeded + counts.failed + counts.canceled;
  return {
    id: batch.id,
    status: batch.status,
    counts: { total: batch.total, ...counts, pending: Math.max(0, batch.total - done) },
    on_complete:
      batch.callbackUrl === null
        ? null
        : {
            callback_url: batch.callbackUrl,
            metadata: batch.metadataJson === null ? null : JSON.parse(batch.metadataJson),
          },
    created_at: isoTime(batch.createdAt) as string,
    completed_at: isoTime(batch.completedAt),
  };
}
