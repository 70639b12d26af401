import type { Env } from "../env";

/** Puts a job's message on the jobs queue, to arrive after `delaySeconds` (≤ 24 h). */
export async function enqueueJob(env: Env, jobId: string, delaySeconds: number): Promise<void> {
  await env.JOBS.send({ job_id: jobId }, { delaySeconds });
}
