import { describe, expect, it } from "vitest";
import { type AttemptSignals, attemptLiveness } from "../../src/jobs/liveness";

const silenceMs = 25_000;
const signals = (s: Partial<AttemptSignals>): AttemptSignals => ({
  now: 100_000,
  leaseExpiresAt: 50_000,
  heardAt: null,
  silentSince: null,
  silenceMs,
  ...s,
});

describe("whether a running attempt still lives", () => {
  it("takes an attempt on trust within its lease, heard from or not", () => {
    expect(attemptLiveness(signals({ leaseExpiresAt: 100_001 }))).toEqual({ kind: "alive" });
  });

  it("keeps an attempt heard from within the silence, and loses one silent for it", () => {
    expect(attemptLiveness(signals({ heardAt: 100_000 - silenceMs + 1 }))).toEqual({ kind: "alive" });
    expect(attemptLiveness(signals({ heardAt: 100_000 - silenceMs }))).toEqual({ kind: "lost" });
  });

  it("has a tracker that heard nothing wait one silence from when it began to wait", () => {
    expect(attemptLiveness(signals({}))).toEqual({ kind: "wait", until: 100_000 + silenceMs });
    expect(attemptLiveness(signals({ silentSince: 90_000 }))).toEqual({ kind: "wait", until: 90_000 + silenceMs });
    expect(attemptLiveness(signals({ silentSince: 100_000 - silenceMs }))).toEqual({ kind: "lost" });
  });
});
