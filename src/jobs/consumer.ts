import type { Env, JobMessage } from "../env";
import { runJobMessage } from "./run";

/**
 * The jobs queue consumer. A message is acked only once its job's tracker has
 * recorded what happened; anything else (the tracker or D1 unreachable) is
 * left to the queue's own retries and, after them, the dead-letter queue.
 */
export async function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await runJobMessage(env, message.body.job_id);
        message.ack();
      } catch (error) {
        console.error("job message failed; the queue will retry it", {
          jobId: message.body.job_id,
          attempts: message.attempts,
          error: String(error),
        });
        message.retry();
      }
    }),
  );
}
