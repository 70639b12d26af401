import { storageSql as exec } from "./sql";

/** A tenant's slot entry as stored: the state of one job and its time (Unix ms); see tenants/slot-book.ts. */
export interface SlotRow {
  state: "running" | "reserved" | "waiting";
  at: number;
}

/**
 * Creates the slots table of a TenantSlots object if it is new. WITHOUT ROWID:
 * the job id is the row's key, so a write touches one row, not a row and an index.
 */
export function createSlotTable(storage: SqlStorage): void {
  exec(storage)`CREATE TABLE IF NOT EXISTS slots (job_id TEXT PRIMARY KEY, state TEXT NOT NULL, at INTEGER NOT NULL)
    WITHOUT ROWID`;
}

/** Every stored entry: job id and entry. */
export function readSlotRows(storage: SqlStorage): [string, SlotRow][] {
  const rows = exec(storage)<{ job_id: string; state: SlotRow["state"]; at: number }>`SELECT job_id, state, at
    FROM slots`.toArray();
  return rows.map((row) => [row.job_id, { state: row.state, at: row.at }]);
}

/**
 * Stores each job's entry (null deletes it). Synchronous: written together
 * with the caller's other writes before it next awaits, and confirmed before
 * its answer leaves the object. Returns the rows written (each is billed).
 */
export function writeSlotRows(storage: SqlStorage, writes: Map<string, SlotRow | null>): number {
  let written = 0;
  for (const [jobId, row] of writes) {
    const cursor = row
      ? exec(storage)`INSERT INTO slots (job_id, state, at) VALUES (${jobId}, ${row.state}, ${row.at})
          ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, at = excluded.at`
      : exec(storage)`DELETE FROM slots WHERE job_id = ${jobId}`;
    written += cursor.rowsWritten;
  }
  return written;
}
