import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { SlotJournal, type SlotRow, type SlotWrites } from "../../src/store/slot-journal";

/** Runs `body` over the storage of a slots object no request reaches (its own journal, empty, stays idle). */
function inFreshStorage<T>(body: (storage: SqlStorage) => T): Promise<T> {
  return runInDurableObject(env.TENANT_SLOTS.getByName(crypto.randomUUID()), (_instance, state) =>
    body(state.storage.sql),
  );
}

const waiting = (at: number): SlotRow => ({ state: "waiting", at });
/** `n` job ids as long as real ones (`job_` and 26 characters). */
const jobIds = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `job_${prefix}${String(i).padStart(26 - prefix.length, "0")}`);
const count = (storage: SqlStorage, table: string) =>
  storage.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;

describe("a slots journal", () => {
  it("writes one row per call, and one per chunk of entries when a call changes more than a row holds", async () => {
    await inFreshStorage((storage) => {
      const journal = new SlotJournal(storage);
      const many = jobIds("many", 2 * limits.slotSnapshotChunkEntries + 1);
      expect(journal.write(new Map(many.map((id) => [id, waiting(1)])))).toBe(3);
      // A Durable Object's SQLite holds at most 2 MB in one value.
      expect(storage.exec<{ n: number }>("SELECT MAX(LENGTH(changes)) AS n FROM slot_journal").one().n).toBeLessThan(
        1_000_000,
      );
      expect(journal.write(new Map([[many[0] as string, { state: "running", at: 2 }]]))).toBe(1);
      expect(journal.write(new Map([[many[1] as string, null]]))).toBe(1);
      const reopened = new Map(new SlotJournal(storage).entries());
      expect(reopened.size).toBe(many.length - 1);
      expect(reopened.get(many[0] as string)).toEqual({ state: "running", at: 2 });
      expect(reopened.has(many[1] as string)).toBe(false);
      expect(reopened.get(many.at(-1) as string)).toEqual(waiting(1));
    });
  });

  it("writes a snapshot instead of a row when the journal is full, and replays it with the rows written after", async () => {
    await inFreshStorage((storage) => {
      const journal = new SlotJournal(storage);
      const expected = new Map<string, SlotRow>();
      const write = (writes: SlotWrites) => {
        for (const [id, row] of writes) row ? expected.set(id, row) : expected.delete(id);
        return journal.write(writes);
      };
      // A large book first, so its snapshot takes several chunks.
      const many = jobIds("many", limits.slotSnapshotChunkEntries + 1);
      write(new Map(many.map((id) => [id, waiting(1)])));
      const rowsWritten: number[] = [];
      for (let i = 1; i < 3 * limits.slotJournalRows; i++) {
        rowsWritten.push(
          write(
            new Map([
              [`job_step${String(i).padStart(4, "0")}`, waiting(i)],
              [many[i] as string, null],
            ]),
          ),
        );
        expect(count(storage, "slot_journal")).toBeLessThanOrEqual(limits.slotJournalRows);
        // Read back around each snapshot (every `slotJournalRows` calls) and now and then between.
        if (i % 25 <= 1) expect(new Map(new SlotJournal(storage).entries())).toEqual(expected);
      }
      // Each call one row, but every `slotJournalRows`-th: the snapshot's two chunks.
      expect(rowsWritten.filter((n) => n !== 1)).toEqual([2, 2]);
      expect(count(storage, "slot_snapshot")).toBe(2);
      // A snapshot of a smaller book deletes the chunks it no longer needs.
      write(new Map(many.map((id) => [id, null])));
      for (let i = 0; i < limits.slotJournalRows; i++) write(new Map([[`job_small${i}`, waiting(i)]]));
      expect(count(storage, "slot_snapshot")).toBe(1);
      expect(new Map(new SlotJournal(storage).entries())).toEqual(expected);
    });
  });
});
