import { databases } from "./databases";

/**
 * Writes tenants and API keys to every database (store/databases.ts): the
 * same statements, on every shard at once and then on the control database,
 * so whatever the control database lists has reached every shard. Throws
 * when any database fails; every replicated write is safe to repeat, and
 * repeating it is how a partial failure is mended. Answers the control
 * database's results (one per statement).
 */
export async function writeEverywhere<T = Record<string, unknown>>(
  env: { DB: D1Database },
  statements: (db: D1Database) => D1PreparedStatement[],
): Promise<D1Result<T>[]> {
  const { control, shards } = databases(env);
  await Promise.all(shards.map((db) => db.batch(statements(db))));
  return control.batch<T>(statements(control));
}
