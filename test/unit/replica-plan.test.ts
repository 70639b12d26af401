import { describe, expect, it } from "vitest";
import type { CopyState, ReplicaRow } from "../../src/store/replicas";
import { planPage } from "../../src/tenants/replica-repair";

const RECENT = 1_000_000;
const row = (id: string, digest: number, revokedAt: number | null = null): ReplicaRow => ({
  id,
  replica_digest: digest,
  replica_updated_at: 1,
  revoked_at: revokedAt,
});
const copy = (id: string, digest: number, updatedAt = 1, revokedAt: number | null = null): CopyState => ({
  id,
  digest,
  updatedAt,
  revokedAt,
});

describe("planPage", () => {
  it("copies missing and differing rows, leaves equal ones, and deletes copies the control database lacks", () => {
    const plan = planPage([row("a", 1), row("b", 2), row("c", 3)], [copy("b", 2), copy("c", 9), copy("d", 4)], RECENT);
    expect(plan.copy.map((r) => r.id)).toEqual(["a", "c"]);
    expect(plan.remove).toEqual(["d"]);
    expect(plan.revoke).toEqual([]);
  });

  it("leaves alone a copy written since `recentSince`: a write may still be on its way to the control database", () => {
    const plan = planPage([row("a", 1)], [copy("a", 2, RECENT), copy("z", 5, RECENT + 1)], RECENT);
    expect(plan).toEqual({ copy: [], remove: [], revoke: [] });
  });

  it("takes a revocation the control database missed into it rather than make the key live again", () => {
    const plan = planPage([row("k", 1, null), row("l", 2, 50)], [copy("k", 2, 1, 40), copy("l", 3, 1, null)], RECENT);
    expect(plan.revoke).toEqual([{ id: "k", revokedAt: 40 }]);
    expect(plan.copy.map((r) => r.id)).toEqual(["l"]);
  });
});
