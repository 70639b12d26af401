import type { Env } from "../env";
import { listLogObjects } from "../store/blobs";
import { type AttemptView, attemptTimeline } from "./attempt-timeline";
import { getJob } from "./queries";

/** The job's attempts, oldest first, each with its error; 404 for another tenant's job. */
export async function describeAttempts(env: Env, tenantId: string, id: string): Promise<{ attempts: AttemptView[] }> {
  const job = await getJob(env, tenantId, id);
  if (job.attempts === 0) return { attempts: [] };
  return { attempts: attemptTimeline(job, await listLogObjects(env.BLOBS, id)) };
}
