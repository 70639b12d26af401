import { clock } from "../platform/clock";
import { randomBytes } from "../platform/crypto";
import { databases } from "./databases";
import { type SqlFragment, sqlFragment } from "./sql";

/**
 * What one replicated write stamps on every row it changes, the same in
 * every database (migrations/0012_replica_stamps.sql): a random `token`
 * chained onto the row's digest, and the write's time `at` (Unix ms).
 */
export interface ReplicaStamp {
  token: number;
  at: number;
}

/** Digests stay below this prime: a digest times the multiplier plus a token fits SQLite's 64-bit integers. */
const DIGEST_MODULUS = 2_147_483_647;
const DIGEST_MULTIPLIER = 1_000_003;

/** A fresh stamp for a write made at `at` (ms). */
export function newReplicaStamp(at: number): ReplicaStamp {
  const [a = 0, b = 0, c = 0, d = 0] = randomBytes(4);
  return { token: (a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d) % DIGEST_MODULUS, at };
}

/** SQL assignments that stamp a row an UPDATE changes: its digest chains the write's token, so order counts. */
export const stampChange = (stamp: ReplicaStamp): SqlFragment =>
  sqlFragment`replica_digest = (replica_digest * ${DIGEST_MULTIPLIER} + ${stamp.token}) % ${DIGEST_MODULUS},
    replica_updated_at = ${stamp.at}`;

/**
 * Writes tenants and API keys to every database (store/databases.ts): the
 * same statements, with one stamp, on every shard at once and then on the
 * control database, so whatever the control database lists has reached
 * every shard. Throws when any database fails; every replicated write is
 * safe to repeat, and the sweep mends a copy a failed write left behind
 * (tenants/replica-repair.ts). Answers the control database's results (one
 * per statement).
 */
export async function writeEverywhere<T = Record<string, unknown>>(
  env: { DB: D1Database },
  statements: (db: D1Database, stamp: ReplicaStamp) => D1PreparedStatement[],
): Promise<D1Result<T>[]> {
  const { control, shards } = databases(env);
  const stamp = newReplicaStamp(clock.now());
  await Promise.all(shards.map((db) => db.batch(statements(db, stamp))));
  return control.batch<T>(statements(control, stamp));
}
