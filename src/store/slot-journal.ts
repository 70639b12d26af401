import { limits } from "../limits";
import { chunks } from "../platform/chunks";
import { storageSql as exec } from "./sql";

/** A tenant's slot entry as stored: the state of one job and its time (Unix ms); see tenants/slot-book.ts. */
export interface SlotRow {
  state: "running" | "reserved" | "waiting";
  at: number;
}

/** Job id → its entry as it now stands (null: gone), as one call of the slot book changed them. */
export type SlotWrites = Map<string, SlotRow | null>;

/**
 * The slot entries of a TenantSlots object, stored per change rather than per
 * job: SQLite-backed Durable Objects bill every row written (a delete too),
 * and one request acquires or releases the slots of many jobs at once.
 *
 * - `slot_journal`: one row per `write` (a change map as JSON, `{ jobId:
 *   entry | null }`), numbered by an increasing `seq` and kept in a ring of
 *   `limits.slotJournalRows` positions (`seq` modulo that): a new row
 *   overwrites one the snapshot has made stale, so nothing is ever deleted
 *   from it.
 * - `slot_snapshot`: every live entry as of journal `seq`, in chunks of at most
 *   `limits.slotSnapshotChunkEntries` (a row holds at most 2 MB). Written
 *   instead of a journal row when the ring is full, so at most that many
 *   journal rows are ever replayed.
 *
 * The state is the newest snapshot, then the journal rows after it in `seq`
 * order (a later change wins, null removes). Every write is synchronous: it
 * is stored together with the caller's other writes before the caller next
 * awaits, and confirmed before its answer leaves the object.
 */
export class SlotJournal {
  readonly #storage: SqlStorage;
  /** The entries as stored, kept to write a snapshot without reading the journal back. */
  readonly #live: Map<string, SlotRow>;
  /** The last number given, to a journal row or a snapshot. */
  #seq: number;
  /** The journal row the newest snapshot includes: rows up to it are stale. */
  #snapshotSeq: number;

  /**
   * Opens the object's journal, creating its tables if new, and folds the
   * entries of an object stored before the journal (one row per job in a
   * `slots` table) into it once, as a snapshot, dropping that table.
   */
  constructor(storage: SqlStorage) {
    this.#storage = storage;
    exec(storage)`CREATE TABLE IF NOT EXISTS slot_journal (position INTEGER PRIMARY KEY, seq INTEGER NOT NULL,
      changes TEXT NOT NULL)`;
    exec(storage)`CREATE TABLE IF NOT EXISTS slot_snapshot (chunk INTEGER PRIMARY KEY, seq INTEGER NOT NULL,
      entries TEXT NOT NULL)`;
    const stored = readStored(storage);
    this.#live = stored.entries;
    this.#seq = stored.seq;
    this.#snapshotSeq = stored.snapshotSeq;
    this.#foldSlotsTable();
  }

  /** Every stored entry: job id and entry. */
  entries(): [string, SlotRow][] {
    return [...this.#live];
  }

  /**
   * Stores one call's changes (null deletes an entry): one journal row, or
   * one per `limits.slotSnapshotChunkEntries` changes; or, when the ring has
   * no room for them, a snapshot of every entry in their place. Returns the
   * rows written (each is billed).
   */
  write(writes: SlotWrites): number {
    if (writes.size === 0) return 0;
    for (const [jobId, row] of writes) {
      if (row) this.#live.set(jobId, row);
      else this.#live.delete(jobId);
    }
    const pieces = chunks([...writes], limits.slotSnapshotChunkEntries);
    if (this.#seq + pieces.length - this.#snapshotSeq > limits.slotJournalRows) return this.#snapshot();
    let written = 0;
    for (const piece of pieces) {
      this.#seq += 1;
      const position = this.#seq % limits.slotJournalRows;
      written += exec(this.#storage)`INSERT INTO slot_journal (position, seq, changes)
        VALUES (${position}, ${this.#seq}, ${JSON.stringify(Object.fromEntries(piece))})
        ON CONFLICT (position) DO UPDATE SET seq = excluded.seq, changes = excluded.changes`.rowsWritten;
    }
    return written;
  }

  /**
   * Writes every live entry as the snapshot at a new `seq` (at least one
   * chunk, so an empty book has a snapshot too), over the last one's chunks,
   * and deletes those it no longer needs: a new number, so a chunk left of an
   * earlier snapshot is never read as this one's. Returns the rows written.
   */
  #snapshot(): number {
    this.#seq += 1;
    const pieces = chunks([...this.#live], limits.slotSnapshotChunkEntries);
    if (pieces.length === 0) pieces.push([]);
    let written = 0;
    pieces.forEach((piece, chunk) => {
      written += exec(this.#storage)`INSERT INTO slot_snapshot (chunk, seq, entries)
        VALUES (${chunk}, ${this.#seq}, ${JSON.stringify(Object.fromEntries(piece))})
        ON CONFLICT (chunk) DO UPDATE SET seq = excluded.seq, entries = excluded.entries`.rowsWritten;
    });
    written += exec(this.#storage)`DELETE FROM slot_snapshot WHERE seq < ${this.#seq}`.rowsWritten;
    this.#snapshotSeq = this.#seq;
    return written;
  }

  #foldSlotsTable(): void {
    const old = exec(this.#storage)<{ name: string }>`SELECT name FROM sqlite_master
      WHERE type = 'table' AND name = 'slots'`.toArray();
    if (old.length === 0) return;
    const rows = exec(this.#storage)<{ job_id: string; state: SlotRow["state"]; at: number }>`SELECT job_id, state, at
      FROM slots`.toArray();
    for (const row of rows) this.#live.set(row.job_id, { state: row.state, at: row.at });
    this.#snapshot();
    exec(this.#storage)`DROP TABLE slots`;
  }
}

/** The journal's state as stored: the live entries, the last `seq` and the newest snapshot's. */
function readStored(storage: SqlStorage): { entries: Map<string, SlotRow>; seq: number; snapshotSeq: number } {
  const snapshotSeq = exec(storage)<{ seq: number | null }>`SELECT MAX(seq) AS seq FROM slot_snapshot`.one().seq ?? 0;
  const entries = new Map<string, SlotRow>();
  const snapshot = exec(storage)<{ entries: string }>`SELECT entries FROM slot_snapshot WHERE seq = ${snapshotSeq}
    ORDER BY chunk`;
  for (const chunk of snapshot) {
    for (const [jobId, row] of Object.entries(JSON.parse(chunk.entries) as Record<string, SlotRow>)) {
      entries.set(jobId, row);
    }
  }
  let seq = snapshotSeq;
  const journal = exec(storage)<{ seq: number; changes: string }>`SELECT seq, changes FROM slot_journal
    WHERE seq > ${snapshotSeq} ORDER BY seq`;
  for (const row of journal) {
    for (const [jobId, change] of Object.entries(JSON.parse(row.changes) as Record<string, SlotRow | null>)) {
      if (change) entries.set(jobId, change);
      else entries.delete(jobId);
    }
    seq = row.seq;
  }
  return { entries, seq, snapshotSeq };
}
