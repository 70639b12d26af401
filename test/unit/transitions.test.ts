import { describe, expect, it } from "vitest";
import { jobStatuses } from "../../src/jobs/model";
import { canTransition } from "../../src/jobs/transitions";

describe("canTransition", () => {
  it("moves only forward, with running → queued only for a retry", () => {
    const allowed = jobStatuses.flatMap((from) =>
      jobStatuses.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed).toEqual([
      "scheduled→queued",
      "scheduled→running",
      "scheduled→failed",
      "scheduled→canceled",
      "queued→running",
      "queued→failed",
      "queued→canceled",
      "running→queued",
      "running→succeeded",
      "running→failed",
      "running→canceled",
    ]);
  });

  it("never leaves a terminal status", () => {
    for (const from of ["succeeded", "failed", "canceled"] as const) {
      for (const to of jobStatuses) expect(canTransition(from, to)).toBe(false);
    }
  });
});
