import type { JobMessage, JobQueueMessage } from "../env";
import { limits } from "../limits";
import { chunks } from "../platform/chunks";
import { groupCommitted, type WaitUntil } from "../platform/group-commit";
import { type JobQueueBindings, jobQueueOf, sendJobMessages } from "./job-queues";

/**
 * The messages that carry `jobs`: on each queue, its jobs in packs of up to
 * `limits.jobsPerPack` (`JobPack`), in order; a job left alone is sent as
 * its own message, the form every other sender uses.
 */
export function packed(env: JobQueueBindings, jobs: readonly JobMessage[]): JobQueueMessage[] {
  const byQueue = new Map<Queue<JobQueueMessage>, JobMessage[]>();
  for (const job of jobs) {
    const queue = jobQueueOf(env, job.job_id);
    const onQueue = byQueue.get(queue);
    if (onQueue) onQueue.push(job);
    else byQueue.set(queue, [job]);
  }
  return [...byQueue.values()].flatMap((onQueue) =>
    chunks(onQueue, limits.jobsPerPack).map((pack) => (pack.length === 1 ? (pack[0] as JobMessage) : { jobs: pack })),
  );
}

const senders = new WeakMap<object, (jobs: JobMessage[], waitUntil: WaitUntil) => Promise<void>>();

/**
 * Sends the first messages of a request's new jobs (no delay), packed with
 * those of the other requests this isolate is serving meanwhile: while one
 * send is in flight, the jobs that arrive wait for it and go together in the
 * next (platform/group-commit.ts), so an idle service sends each job at once
 * and a busy one sends a message per ten jobs, where Queues bills each
 * message (3 operations). `waitUntil` is the request's: the send that
 * carries its jobs may carry others'. Rejects as `sendJobMessages` does.
 */
export function sendPacked(env: JobQueueBindings, jobs: JobMessage[], waitUntil: WaitUntil): Promise<void> {
  let send = senders.get(env);
  if (!send) {
    send = groupCommitted<JobMessage[]>((requests) =>
      sendJobMessages(
        env,
        packed(env, requests.flat()).map((body) => ({ body })),
      ),
    );
    senders.set(env, send);
  }
  return send(jobs, waitUntil);
}
