import { shardInId } from "../platform/ids";
import { numberedBindings } from "../platform/numbered-bindings";

/**
 * Which D1 database holds what. D1 is one single-threaded SQLite per
 * database (about 1,000 queries/s, 10 GB; developers.cloudflare.com/d1/platform/limits,
 * read 2026-11-29), so job records are spread over the shard databases
 * (`SHARD_0` … `SHARD_<n-1>` in wrangler.toml) and no database sees every job:
 *
 * - a job, its webhook events and their delivery log live on the shard whose
 *   number is written into the job's and the events' ids (platform/ids.ts);
 * - an idempotency key lives on the shard its (tenant, scope, key) hashes to,
 *   and the jobs it creates are given that shard, so the key and its jobs are
 *   written in one transaction;
 * - tenants and API keys are written to every database (the control database
 *   `DB` and each shard, all with the same schema), so each job's own batch
 *   can check its API key and read its tenant's secrets beside it; the
 *   control database is the one that lists them.
 */
export interface Databases {
  /** The control database: where tenants and API keys are listed from. */
  control: D1Database;
  /** The job shards, by number. */
  shards: readonly D1Database[];
}

/** At most 32 shards: the number is one Crockford base32 character of an id. */
const MAX_SHARDS = 32;

const found = new WeakMap<object, Databases>();

/**
 * The bindings' databases: `DB` and every `SHARD_<k>` from 0 up without a
 * gap. Throws when there is no shard or more than 32 (a wrangler.toml
 * mistake that must not start).
 */
export function databases(env: { DB: D1Database }): Databases {
  let known = found.get(env);
  if (known) return known;
  const shards = numberedBindings<D1Database>(env, "SHARD_");
  if (shards.length === 0 || shards.length > MAX_SHARDS) {
    throw new Error(`wrangler.toml binds ${shards.length} job shards (SHARD_0 …); 1 to ${MAX_SHARDS} are needed`);
  }
  known = { control: env.DB, shards };
  found.set(env, known);
  return known;
}

/** The shard that stores the record with this id (a job or an event id made by `newId`). */
export function shardOf(env: { DB: D1Database }, id: string): D1Database {
  const { shards } = databases(env);
  return shards[shardInId(id) % shards.length] as D1Database;
}

/** A shard for new jobs that nothing else places: any, evenly. */
export function anyShard(env: { DB: D1Database }): number {
  return Math.floor(Math.random() * databases(env).shards.length);
}

/**
 * The shard of an idempotency key: FNV-1a of its parts, so every isolate
 * finds a key (and the jobs it created) on the same shard.
 */
export function shardOfKey(env: { DB: D1Database }, ...parts: string[]): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join("\u0000")) {
    hash ^= char.codePointAt(0) as number;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % databases(env).shards.length;
}

/** Every database: where a tenant or API key change is written. */
export function everyDatabase(env: { DB: D1Database }): D1Database[] {
  const { control, shards } = databases(env);
  return [control, ...shards];
}
