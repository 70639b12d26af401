import type { Env, JobMessage } from "../env";

/**
 * Messages that failed every queue retry (the tracker or D1 kept failing).
 * Their jobs are failed with a clear error rather than left waiting; a job
 * that already finished is left as it is.
 */
export async function consumeDeadJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      await env.JOB_TRACKER.getByName(message.body.job_id).abandon();
      message.ack();
    } catch (error) {
      console.error("dead-lettered job could not be failed; retrying", {
        jobId: message.body.job_id,
        error: String(error),
      });
      message.retry();
    }
  }
}
