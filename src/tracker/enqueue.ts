import type { Env } from "../env";
import type { JobRecord } from "../jobs/model";

/** Puts a job's message on the jobs queue, to arrive after `delaySeconds` (≤ 24 h). */
export async function enqueueJob(
  env: Env,
  job: Pick<JobRecord, "id" | "tenantId">,
  delaySeconds: number,
): Promise<void> {
  await env.JOBS.send({ job_id: job.id, tenant_id: job.tenantId }, { delaySeconds });
}
