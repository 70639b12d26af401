import type { Env, JobQueueMessage } from "../env";
import { settleEach } from "../platform/queue-messages";
import { acquireForBatch } from "../tenants/batch-slots";
import { firstAttempts } from "../webhooks/first-attempt";
import { jobsOf } from "./job-queues";
import { runJobMessage } from "./run";

/**
 * The jobs queue consumer. A message is acked only once its jobs' trackers
 * have recorded what happened (every job of a pack, jobs/job-packs.ts);
 * anything else (the tracker or D1 overloaded or unreachable) is
 * back-pressure: the message is retried with growing delays, and its jobs
 * keep waiting however long that lasts (a pack's jobs that did end answer
 * the retry `skip`). The batch's running slots are acquired first, one
 * request per tenant (tenants/batch-slots.ts).
 */
export async function consumeJobs(batch: MessageBatch<JobQueueMessage>, env: Env): Promise<void> {
  const invocation = {
    slots: await acquireForBatch(
      env,
      batch.messages.flatMap((m) => jobsOf(m.body)),
    ),
    deliverFirstAttempt: firstAttempts(env),
  };
  await settleEach(
    batch,
    async (body, deliveries) => {
      // Every job runs to its end before the message is settled: a retry must not overtake a run.
      const runs = await Promise.allSettled(jobsOf(body).map((job) => runJobMessage(env, job, invocation, deliveries)));
      const failed = runs.find((run) => run.status === "rejected");
      if (failed) throw failed.reason;
    },
    "job message failed; the queue will retry it",
  );
}
