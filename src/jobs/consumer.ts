import type { Env, JobMessage } from "../env";
import { settleEach } from "../platform/queue-messages";
import { runJobMessage } from "./run";

/**
 * The jobs queue consumer. A message is acked only once its job's tracker has
 * recorded what happened; anything else (the tracker or D1 unreachable) is
 * left to the queue's own retries and, after them, the dead-letter queue.
 */
export function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  return settleEach(batch, (body) => runJobMessage(env, body.job_id), "job message failed; the queue will retry it");
}
