import type { JobMessage, JobQueueMessage } from "../env";
import { limits } from "../limits";
import { chunks } from "../platform/chunks";
import { type GroupCommit, type GroupTicket, groupCommitted } from "../platform/group-commit";
import { byJobQueue, type JobQueueBindings, sendJobMessages } from "./job-queues";

/**
 * The messages that carry `jobs`: on each queue, its jobs in packs of up to
 * `limits.jobsPerPack` (`JobPack`), in order; a job left alone is sent as
 * its own message, the form every other sender uses.
 */
export function packed(env: JobQueueBindings, jobs: readonly JobMessage[]): JobQueueMessage[] {
  return [...byJobQueue(env, jobs, (job) => job.job_id).values()].flatMap((onQueue) =>
    chunks(onQueue, limits.jobsPerPack).map((pack) => (pack.length === 1 ? (pack[0] as JobMessage) : { jobs: pack })),
  );
}

const packers = new WeakMap<object, GroupCommit<JobMessage[]>>();

/**
 * A place in the isolate's packing of first messages (no delay), taken when
 * a request begins to create jobs: the request hands its jobs' messages
 * over once they are stored (`send`), or gives the place up (`drop`).
 * Messages are sent packed with those of the other requests this isolate
 * is serving meanwhile (platform/group-commit.ts): once no send is in
 * flight and every request that took a place has handed its jobs over or
 * given up, or after `limits.packLingerMs` (a place counts for
 * `limits.packPlaceForgetMs`). An idle service sends each job
 * at once; a busy one a message per ten jobs, where Queues bills each
 * message (3 operations). `send` takes the request's `waitUntil`, as the
 * send that carries its jobs may carry others', and rejects as
 * `sendJobMessages` does.
 */
export function packingPlace(env: JobQueueBindings): GroupTicket<JobMessage[]> {
  let packer = packers.get(env);
  if (!packer) {
    packer = groupCommitted<JobMessage[]>(
      (requests) =>
        sendJobMessages(
          env,
          packed(env, requests.flat()).map((body) => ({ body })),
        ),
      { lingerMs: limits.packLingerMs, forgetMs: limits.packPlaceForgetMs },
    );
    packers.set(env, packer);
  }
  return packer.expect();
}
