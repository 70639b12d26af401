import type { Env, JobMessage } from "../env";
import { settleEach } from "../platform/queue-messages";

/**
 * Messages that failed every queue retry (the tracker or D1 kept failing).
 * Their jobs are failed with a clear error rather than left waiting; a job
 * that already finished is left as it is.
 */
export function consumeDeadJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  return settleEach(
    batch,
    (body) => env.JOB_TRACKER.getByName(body.job_id).abandon(),
    "dead-lettered job could not be failed; retrying",
  );
}
