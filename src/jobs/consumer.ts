import type { Env, JobMessage } from "../env";
import { settleEach } from "../platform/queue-messages";
import { firstAttempts } from "../webhooks/first-attempt";
import { runJobMessage } from "./run";

/**
 * The jobs queue consumer. A message is acked only once its job's tracker has
 * recorded what happened; anything else (the tracker or D1 overloaded or
 * unreachable) is back-pressure: the message is retried with growing delays,
 * and the job keeps waiting however long that lasts.
 */
export function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  const deliverFirstAttempt = firstAttempts(env);
  return settleEach(
    batch,
    (body) => runJobMessage(env, body.job_id, body.tenant_id ?? null, deliverFirstAttempt),
    "job message failed; the queue will retry it",
  );
}
