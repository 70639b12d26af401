import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { SlotBook, type SlotChanges, type SlotEntry, type Verdict } from "../../src/tenants/slot-book";

const NOW = 1_800_000_000_000;
const SECOND = 1000;
const RESERVATION = limits.slotReservationSeconds * SECOND;

/** A book in which `running` hold slots and `waiting` wait, as if stored so. */
function book(running: string[], waiting: string[] = [], reserved: [string, number][] = []): SlotBook {
  const entries: [string, SlotEntry][] = [
    ...running.map((id): [string, SlotEntry] => [id, { state: "running", at: NOW }]),
    ...waiting.map((id): [string, SlotEntry] => [id, { state: "waiting", at: NOW }]),
    ...reserved.map(([id, until]): [string, SlotEntry] => [id, { state: "reserved", at: until }]),
  ];
  return new SlotBook(entries);
}

/** What TenantSlots does on a release: the job's entry goes, then free slots are handed out. */
function release(slots: SlotBook, jobId: string, limit: number, now: number): SlotChanges {
  const removed = slots.release(jobId);
  const handed = slots.fill(limit, now);
  return { writes: new Map([...removed.writes, ...handed.writes]), woken: handed.woken };
}

/** What TenantSlots does with an audit's answers: as for a release. */
function settleAudit(slots: SlotBook, verdicts: Verdict[], limit: number, now: number): SlotChanges {
  const dropped = slots.settleAudit(verdicts, now);
  const handed = slots.fill(limit, now);
  return { writes: new Map([...dropped.writes, ...handed.writes]), woken: handed.woken };
}

describe("acquiring a slot", () => {
  it("grants free slots up to the limit, storing each holder, and keeps the rest waiting in line", () => {
    const slots = book([]);
    expect(slots.acquire("job_a", 2, NOW)).toEqual({
      granted: true,
      heldSince: null,
      changes: { writes: new Map([["job_a", { state: "running", at: NOW }]]), woken: [] },
    });
    expect(slots.acquire("job_b", 2, NOW).granted).toBe(true);
    expect(slots.acquire("job_c", 2, NOW)).toEqual({
      granted: false,
      heldSince: null,
      changes: { writes: new Map([["job_c", { state: "waiting", at: NOW }]]), woken: [] },
    });
  });

  it("grants a job that holds its slot already again, writing nothing (a duplicate message), and tells since when it holds it", () => {
    const slots = book(["job_a"]);
    expect(slots.acquire("job_a", 1, NOW + SECOND)).toEqual({
      granted: true,
      heldSince: NOW,
      changes: { writes: new Map(), woken: [] },
    });
    // Since it was granted, not since it was last confirmed: acquired again, it still holds it since NOW.
    expect(slots.acquire("job_a", 1, NOW + 2 * SECOND).heldSince).toBe(NOW);
    slots.acquire("job_b", 2, NOW + 3 * SECOND);
    expect(slots.acquire("job_b", 2, NOW + 4 * SECOND).heldSince).toBe(NOW + 3 * SECOND);
  });

  it("writes a waiting job once however often it asks", () => {
    const slots = book(["job_a"], ["job_b"]);
    expect(slots.acquire("job_b", 1, NOW)).toEqual({
      granted: false,
      heldSince: null,
      changes: { writes: new Map(), woken: [] },
    });
  });

  it("refuses a free slot to a job while an older one waits, and hands it to the older one", () => {
    // A slot came free (the limit was raised) with job_b waiting: job_c, younger, must not overtake it.
    const slots = book(["job_a"], ["job_b"]);
    const { granted, changes } = slots.acquire("job_c", 2, NOW);
    expect(granted).toBe(false);
    expect(changes.woken).toEqual(["job_b"]);
    expect(changes.writes.get("job_b")).toEqual({ state: "reserved", at: NOW + RESERVATION });
  });

  it("lets the oldest waiter in at once when it asks while a slot is free", () => {
    const slots = book(["job_a"], ["job_b", "job_c"]);
    const { granted, changes } = slots.acquire("job_b", 2, NOW);
    expect(granted).toBe(true);
    expect(changes).toEqual({ writes: new Map([["job_b", { state: "running", at: NOW }]]), woken: [] });
  });

  it("applies a lowered limit from the next acquire, and never takes a slot back", () => {
    const slots = book(["job_a", "job_b"]);
    expect(slots.acquire("job_c", 1, NOW).granted).toBe(false);
    release(slots, "job_a", 1, NOW);
    expect(slots.acquire("job_c", 1, NOW).granted).toBe(false); // job_b still runs: one is the limit
    expect(slots.acquire("job_b", 1, NOW).granted).toBe(true);
  });
});

describe("releasing a slot", () => {
  it("reserves the freed slot for the oldest waiter and wakes it; its acquire claims it", () => {
    const slots = book(["job_a"], ["job_c", "job_b"]);
    const changes = release(slots, "job_a", 1, NOW);
    expect(changes.woken).toEqual(["job_b"]);
    expect(changes.writes).toEqual(
      new Map([
        ["job_a", null],
        ["job_b", { state: "reserved", at: NOW + RESERVATION }],
      ]),
    );
    // A younger job cannot take the reserved slot; the woken one can.
    expect(slots.acquire("job_d", 1, NOW).granted).toBe(false);
    expect(slots.acquire("job_b", 1, NOW + SECOND).changes.writes).toEqual(
      new Map([["job_b", { state: "running", at: NOW + SECOND }]]),
    );
  });

  it("is idempotent: a second release, or one for a job it never knew, changes nothing", () => {
    const slots = book(["job_a"], ["job_b"]);
    release(slots, "job_a", 1, NOW);
    expect(release(slots, "job_a", 1, NOW)).toEqual({ writes: new Map(), woken: [] });
    expect(release(slots, "job_x", 1, NOW)).toEqual({ writes: new Map(), woken: [] });
  });

  it("takes a canceled waiter out of line, so the next freed slot skips it", () => {
    const slots = book(["job_a"], ["job_b", "job_c"]);
    expect(release(slots, "job_b", 1, NOW).writes).toEqual(new Map([["job_b", null]]));
    expect(release(slots, "job_a", 1, NOW).woken).toEqual(["job_c"]);
  });

  it("frees a canceled job's reservation for the next waiter", () => {
    const slots = book([], ["job_c"], [["job_b", NOW + RESERVATION]]);
    expect(release(slots, "job_b", 1, NOW).woken).toEqual(["job_c"]);
  });

  it("wakes as many waiters as a raised limit leaves room for", () => {
    const slots = book(["job_a"], ["job_b", "job_c", "job_d"]);
    expect(slots.fill(3, NOW).woken).toEqual(["job_b", "job_c"]);
  });
});

describe("reservations", () => {
  it("keep the slot for the woken job until they lapse, then hand it to the next waiter", () => {
    const slots = book([], ["job_c"], [["job_b", NOW + RESERVATION]]);
    expect(slots.acquire("job_d", 1, NOW + RESERVATION - 1).granted).toBe(false);
    const lapsed = slots.fill(1, NOW + RESERVATION);
    expect(lapsed.woken).toEqual(["job_c"]);
    expect(lapsed.writes.get("job_b")).toBeNull();
    // The lapsed job, re-sent by the sweep, queues again: the next slot is its (it is older than job_d).
    expect(slots.acquire("job_b", 1, NOW + RESERVATION).granted).toBe(false);
    expect(release(slots, "job_c", 1, NOW + RESERVATION).woken).toEqual(["job_b"]);
  });

  it("survive a restart: a book read back from storage holds the same slots and line", () => {
    const first = book([]);
    const stored = new Map<string, SlotEntry>();
    const keep = (writes: Map<string, SlotEntry | null>) => {
      for (const [id, entry] of writes) entry ? stored.set(id, entry) : stored.delete(id);
    };
    keep(first.acquire("job_a", 1, NOW).changes.writes);
    keep(first.acquire("job_b", 1, NOW).changes.writes);
    keep(first.acquire("job_c", 1, NOW).changes.writes);
    const restarted = new SlotBook(stored);
    expect(restarted.acquire("job_d", 1, NOW).granted).toBe(false);
    expect(release(restarted, "job_a", 1, NOW).woken).toEqual(["job_b"]);
  });
});

describe("auditing long-held slots", () => {
  const past = NOW + limits.attemptLeaseSeconds * SECOND + 1;

  it("asks about slots held past the lease only, least recently confirmed first, at most once an interval", () => {
    const slots = book(["job_a", "job_b"]);
    slots.acquire("job_c", 5, NOW + 10 * SECOND); // job_c was granted later: not yet a suspect
    slots.acquire("job_b", 5, NOW + 5 * SECOND); // job_b asked again (a duplicate): confirmed then
    expect(slots.startAudit(past).map((s) => s.jobId)).toEqual(["job_a"]);
    expect(slots.startAudit(past + 5 * SECOND)).toEqual([]);
    const next = past + limits.slotAuditIntervalSeconds * SECOND;
    expect(slots.startAudit(next).map((s) => s.jobId)).toEqual(["job_a", "job_b", "job_c"]);
  });

  it("drops a slot whose job no longer runs and hands it on; keeps and confirms one that runs", () => {
    const slots = book(["job_a", "job_b"], ["job_c"]);
    const suspects = slots.startAudit(past);
    const verdicts = suspects.map((s) => ({ ...s, running: s.jobId === "job_b" }));
    const changes = settleAudit(slots, verdicts, 2, past);
    expect(changes.writes.get("job_a")).toBeNull();
    expect(changes.woken).toEqual(["job_c"]);
    // job_b was confirmed: the next audit does not ask about it again before a lease has passed.
    expect(slots.startAudit(past + limits.slotAuditIntervalSeconds * SECOND)).toEqual([]);
  });

  it("keeps a slot acquired again while the audit asked, and one whose tracker did not answer", () => {
    const slots = book(["job_a", "job_b"]);
    const suspects = slots.startAudit(past);
    slots.acquire("job_a", 2, past); // its attempt starts now, after the tracker answered "not running"
    const changes = settleAudit(
      slots,
      suspects.map((s) => ({ ...s, running: s.jobId === "job_a" ? false : null })),
      2,
      past,
    );
    expect(changes).toEqual({ writes: new Map(), woken: [] });
    expect(slots.acquire("job_c", 2, past).granted).toBe(false);
  });

  it("asks about at most a batch at a time", () => {
    const ids = Array.from({ length: limits.slotAuditBatch + 5 }, (_, i) => `job_${String(i).padStart(4, "0")}`);
    expect(book(ids).startAudit(past)).toHaveLength(limits.slotAuditBatch);
  });
});
