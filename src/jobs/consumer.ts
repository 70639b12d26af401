import type { Env, JobMessage } from "../env";
import { settleEach } from "../platform/queue-messages";
import { acquireForBatch } from "../tenants/batch-slots";
import { firstAttempts } from "../webhooks/first-attempt";
import { runJobMessage } from "./run";

/**
 * The jobs queue consumer. A message is acked only once its job's tracker has
 * recorded what happened; anything else (the tracker or D1 overloaded or
 * unreachable) is back-pressure: the message is retried with growing delays,
 * and the job keeps waiting however long that lasts. The batch's running
 * slots are acquired first, one request per tenant (tenants/batch-slots.ts).
 */
export async function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  const invocation = {
    slots: await acquireForBatch(
      env,
      batch.messages.map((m) => m.body),
    ),
    deliverFirstAttempt: firstAttempts(env),
  };
  await settleEach(
    batch,
    (body, deliveries) => runJobMessage(env, body, invocation, deliveries),
    "job message failed; the queue will retry it",
  );
}
