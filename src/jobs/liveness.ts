/**
 * Whether a running attempt still lives, from what its tracker knows. Pure:
 * the tracker gathers the signals, stores and times; this decides.
 */

/** What a tracker knows of its running attempt. Times are Unix milliseconds. */
export interface AttemptSignals {
  now: number;
  /** The job's lease: until then the attempt is taken on trust. */
  leaseExpiresAt: number | null;
  /** When this tracker instance last heard from the attempt (its start, a heartbeat, progress); null if never. */
  heardAt: number | null;
  /** When a tracker that had not heard from the attempt began to wait for it (kept across restarts); null if not. */
  silentSince: number | null;
  /** How long an attempt may go unheard (limits.attemptSilenceSeconds, in ms). */
  silenceMs: number;
}

/** `wait`: nothing is known yet (the tracker restarted); ask again at `until`. */
export type Liveness = { kind: "alive" } | { kind: "lost" } | { kind: "wait"; until: number };

/**
 * An attempt this tracker has heard from is lost once it has been silent for
 * `silenceMs`. A tracker that never heard from it (just restarted, or woken
 * from hibernation) cannot tell a live attempt from a dead one, so it waits
 * `silenceMs` for a heartbeat first.
 */
export function attemptLiveness(signals: AttemptSignals): Liveness {
  const { now, leaseExpiresAt, heardAt, silentSince, silenceMs } = signals;
  if ((leaseExpiresAt ?? 0) > now) return { kind: "alive" };
  if (heardAt !== null) return now - heardAt < silenceMs ? { kind: "alive" } : { kind: "lost" };
  const since = silentSince ?? now;
  return now - since >= silenceMs ? { kind: "lost" } : { kind: "wait", until: since + silenceMs };
}
