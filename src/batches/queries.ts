import type { Env } from "../env";
import { DomainError } from "../jobs/errors";
import { isBatchId } from "../platform/ids";
import { type BatchRecord, findTenantBatch } from "../store/batches";
import { shardOf } from "../store/databases";
import { type BatchView, toBatchView } from "./model";

const batchNotFound = () => new DomainError(404, "not_found", "No batch with this id.");

/** The tenant's batch record, or 404: another tenant's id looks exactly like one that never existed. */
export async function findOwnBatch(env: Env, tenantId: string, id: string): Promise<BatchRecord> {
  if (!isBatchId(id)) throw batchNotFound();
  const batch = await findTenantBatch(shardOf(env, id), tenantId, id);
  if (!batch) throw batchNotFound();
  return batch;
}

/** The tenant's batch as the API shows it: a running one's counts come from its tracker. 404 as `findOwnBatch`. */
export async function getBatch(env: Env, tenantId: string, id: string): Promise<BatchView> {
  const batch = await findOwnBatch(env, tenantId, id);
  if (batch.status === "completed") return toBatchView(batch, batch.counts);
  const view = await env.BATCH_TRACKER.getByName(id).view();
  if (!view) throw batchNotFound();
  return view;
}
