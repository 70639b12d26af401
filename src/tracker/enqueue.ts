import type { Env } from "../env";
import { jobQueueOf } from "../jobs/job-queues";
import type { JobRecord } from "../jobs/model";

/** Puts a job's message on the jobs queue its id names, to arrive after `delaySeconds` (≤ 24 h). */
export async function enqueueJob(
  env: Env,
  job: Pick<JobRecord, "id" | "tenantId">,
  delaySeconds: number,
): Promise<void> {
  await jobQueueOf(env, job.id).send({ job_id: job.id, tenant_id: job.tenantId }, { delaySeconds });
}
