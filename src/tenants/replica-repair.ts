import { limits } from "../limits";
import { revokeApiKeys } from "../store/api-keys";
import { databases } from "../store/databases";
import {
  type CopyState,
  copyRows,
  deleteRows,
  type RepairCursor,
  type ReplicaFingerprint,
  type ReplicaRow,
  type ReplicaTable,
  readCopies,
  readFingerprint,
  readRows,
  setRepairCursor,
} from "../store/replicas";
import { newReplicaStamp } from "../store/replicated";

/** What one page's comparison calls for on a shard, and on the control database. */
export interface PagePlan {
  /** Control rows to copy to the shard. */
  copy: ReplicaRow[];
  /** Shard rows the control database does not hold. */
  remove: string[];
  /** Keys the shard has revoked and the control database lists live: revocation wins, in the control database too. */
  revoke: { id: string; revokedAt: number }[];
}

/**
 * Compares a page of the control database's rows with the shard's copies of
 * the same id range. The control database is written last, so what it holds
 * is complete: a copy that is missing or differs gets its row, and a copy it
 * does not hold goes. A copy written at or after `recentSince` (ms) is left
 * alone, as a write may still be reaching the control database; a key the
 * shard has revoked is never made live again: the revocation goes to the
 * control database, whose row is copied back at a later page.
 */
export function planPage(control: ReplicaRow[], copies: CopyState[], recentSince: number): PagePlan {
  const byId = new Map(copies.map((copy) => [copy.id, copy]));
  const plan: PagePlan = { copy: [], remove: [], revoke: [] };
  for (const row of control) {
    const copy = byId.get(row.id);
    byId.delete(row.id);
    if (copy === undefined) plan.copy.push(row);
    else if (copy.digest === row.replica_digest || copy.updatedAt >= recentSince) continue;
    else if (copy.revokedAt !== null && (row.revoked_at ?? null) === null) {
      plan.revoke.push({ id: row.id, revokedAt: copy.revokedAt });
    } else plan.copy.push(row);
  }
  for (const copy of byId.values()) if (copy.updatedAt < recentSince) plan.remove.push(copy.id);
  return plan;
}

const sameCopy = (a: ReplicaFingerprint, b: ReplicaFingerprint) => a.rows === b.rows && a.digestSum === b.digestSum;

/** What a sweep's repair did: shards whose copy differed, rows copied or deleted, keys revoked in the control database. */
export interface Repaired {
  shards: number;
  rows: number;
  revoked: number;
}

/**
 * The sweep's replica repair. Tenants and API keys are written to every
 * database (store/replicated.ts); a copy can miss a write (one answered 5xx
 * midway, a shard added later, an upgrade). Each sweep reads every
 * database's fingerprint (one query each); a shard whose fingerprint differs
 * from the control database's is compared page by page from where its last
 * repair stopped, and mended (`planPage`), within `limits.replicaRepairPages`
 * pages per sweep over all shards.
 */
export async function repairReplicas(env: { DB: D1Database }, now: number): Promise<Repaired> {
  const { control, shards } = databases(env);
  const [truth, ...copies] = await Promise.all([control, ...shards].map(readFingerprint));
  const repaired: Repaired = { shards: 0, rows: 0, revoked: 0 };
  const budget = { pages: limits.replicaRepairPages };
  const truthPages = controlPages(control);
  for (const [k, shard] of shards.entries()) {
    const copy = copies[k] as ReplicaFingerprint;
    if (budget.pages <= 0 || sameCopy(copy, truth as ReplicaFingerprint)) continue;
    repaired.shards += 1;
    const done = await repairShard(truthPages, control, shard, copy.cursor, now, budget);
    repaired.rows += done.rows;
    repaired.revoked += done.revoked;
  }
  return repaired;
}

/** The control database's pages, each read once per sweep however many shards compare with it. */
function controlPages(control: D1Database): (cursor: RepairCursor) => Promise<ReplicaRow[]> {
  const read = new Map<string, Promise<ReplicaRow[]>>();
  return ({ table, after }) => {
    const key = `${table}\u0000${after}`;
    let page = read.get(key);
    if (page === undefined) {
      page = readRows(control, table, after, limits.replicaRepairPageRows);
      read.set(key, page);
    }
    return page;
  };
}

/** Compares and mends one shard's pages from `cursor` on, until a whole pass is done or the budget is spent. */
async function repairShard(
  truthPages: (cursor: RepairCursor) => Promise<ReplicaRow[]>,
  control: D1Database,
  shard: D1Database,
  start: RepairCursor | null,
  now: number,
  budget: { pages: number },
): Promise<{ rows: number; revoked: number }> {
  const recentSince = now - limits.replicaWriteGraceMs;
  let cursor: RepairCursor | null = start ?? { table: "tenants", after: "" };
  const done = { rows: 0, revoked: 0 };
  while (cursor !== null && budget.pages > 0) {
    budget.pages -= 1;
    const { table, after }: RepairCursor = cursor;
    const rows = await truthPages({ table, after });
    const upTo = rows.length === limits.replicaRepairPageRows ? (rows.at(-1)?.id as string) : null;
    const found = planPage(rows, await readCopies(shard, table, after, upTo), recentSince);
    // Revoking in the control database is a page's fifth statement, beyond the four a page is budgeted:
    // it takes a second page of the budget, or waits for a later pass if none is left.
    const revoke = found.revoke.length > 0 && budget.pages > 0 ? found.revoke : [];
    if (revoke.length > 0) budget.pages -= 1;
    const plan = { ...found, revoke };
    cursor = upTo !== null ? { table, after: upTo } : nextTable(table);
    await mend(control, shard, table, plan, recentSince, now);
    done.rows += plan.copy.length + plan.remove.length;
    done.revoked += plan.revoke.length;
  }
  await setRepairCursor(shard, cursor).run();
  return done;
}

const nextTable = (table: ReplicaTable): RepairCursor | null =>
  table === "tenants" ? { table: "api_keys", after: "" } : null;

async function mend(
  control: D1Database,
  shard: D1Database,
  table: ReplicaTable,
  plan: PagePlan,
  recentSince: number,
  now: number,
): Promise<void> {
  const statements = [
    ...(plan.copy.length > 0 ? [copyRows(shard, table, plan.copy, recentSince)] : []),
    ...(plan.remove.length > 0 ? [deleteRows(shard, table, plan.remove, recentSince)] : []),
  ];
  if (statements.length > 0) await shard.batch(statements);
  if (plan.revoke.length > 0) await revokeApiKeys(control, plan.revoke, newReplicaStamp(now)).run();
}
