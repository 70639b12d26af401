import { app } from "./api/app";
import type { CallbackMessage, Env, JobQueueMessage } from "./env";
import { consumeJobs } from "./jobs/consumer";
import { jobsOf, sendJobMessages, sentAgain } from "./jobs/job-queues";
import { purgeExpired } from "./jobs/retention";
import { sweep } from "./jobs/sweep";
import { clock } from "./platform/clock";
import { countOperation, metered } from "./platform/metering";
import { requeueDeadLetters } from "./platform/queue-messages";
import { consumeCallbacks } from "./webhooks/deliver";

export { BatchTracker } from "./batches/tracker";
export { ScheduleTimer } from "./schedules/schedule-timer";
export { KeyStreams } from "./tenants/key-streams";
export { RateLimiter } from "./tenants/rate-limiter";
export { TenantSlots } from "./tenants/tenant-slots";
export { JobTracker } from "./tracker/job-tracker";
export { OriginGate } from "./webhooks/origin-gate";

const queues: Record<string, (batch: MessageBatch<never>, env: Env) => Promise<void>> = {
  "edgejobs-jobs": (batch, env) => consumeJobs(batch as MessageBatch<JobQueueMessage>, env),
  // A dead-lettered message only waits longer: nothing fails for want of D1 or a tracker. A pack goes back as
  // its jobs' own messages.
  "edgejobs-jobs-dlq": (batch, env) =>
    requeueDeadLetters(batch as MessageBatch<JobQueueMessage>, (messages) =>
      sendJobMessages(
        env,
        messages.flatMap((m) => jobsOf(m.body).map((job) => ({ ...m, body: sentAgain(job) }))),
      ),
    ),
  "edgejobs-callbacks": (batch, env) => consumeCallbacks(batch as MessageBatch<CallbackMessage>, env),
  "edgejobs-callbacks-dlq": (batch, env) =>
    requeueDeadLetters(batch as MessageBatch<CallbackMessage>, (messages) => env.CALLBACKS.sendBatch(messages)),
};

export default {
  fetch(request, env, ctx) {
    countOperation("worker_requests");
    return app.fetch(request, metered(env), ctx);
  },
  async queue(batch, env) {
    countOperation("worker_requests");
    // Every jobs queue (edgejobs-jobs-<k>, src/jobs/job-queues.ts) and its dead-letter queue has the same consumer.
    const consume = queues[batch.queue.replace(/^edgejobs-jobs-\d+/, "edgejobs-jobs")];
    if (!consume) throw new Error(`no consumer for queue ${batch.queue}`);
    await consume(batch as MessageBatch<never>, metered(env));
  },
  async scheduled(_controller, env) {
    countOperation("worker_requests");
    await sweep(metered(env));
    await purgeExpired(metered(env), clock.now());
  },
} satisfies ExportedHandler<Env, JobQueueMessage | CallbackMessage>;
