import type { JobMessage, JobQueueMessage } from "../env";
import { limits } from "../limits";
import { chunks } from "../platform/chunks";
import { shardInId } from "../platform/ids";
import { numberedBindings } from "../platform/numbered-bindings";

/**
 * The jobs queues, `JOBS_0` … `JOBS_<q-1>` in wrangler.toml: the number of
 * bindings is the count. One Cloudflare queue carries at most 5,000
 * messages/s (bench/platform-limits.json `queue_messages_per_second_per_queue`,
 * developers.cloudflare.com/queues/platform/limits, read 2026-11-29) and a
 * job sends one, so one queue would cap the whole service at 5,000 jobs/s;
 * each queue has the same consumer. A job's messages always go to the
 * queue its id names (its shard number mod q, see `jobQueueOf`), so the
 * queues share the jobs as evenly as the shards do, and a job's messages are
 * found from its id alone. Every send of a job message goes through here.
 */
export type JobQueueBindings = Partial<Record<`JOBS_${number}`, Queue<JobQueueMessage>>>;

const found = new WeakMap<object, readonly Queue<JobQueueMessage>[]>();

/**
 * The bindings' jobs queues, `JOBS_0` up without a gap. Throws when there is
 * none (a wrangler.toml mistake that must not start).
 */
export function jobQueues(env: JobQueueBindings): readonly Queue<JobQueueMessage>[] {
  let known = found.get(env);
  if (known) return known;
  const queues = numberedBindings<Queue<JobQueueMessage>>(env, "JOBS_");
  if (queues.length === 0) throw new Error("wrangler.toml binds no jobs queue (JOBS_0 …); at least one is needed");
  known = queues;
  found.set(env, known);
  return known;
}

/**
 * The queue that carries this job's messages: its shard number (the last
 * character of its id, platform/ids.ts) mod the number of queues. Throws for
 * an id that names no shard (not a job id).
 */
export function jobQueueOf(env: JobQueueBindings, jobId: string): Queue<JobQueueMessage> {
  const queues = jobQueues(env);
  const queue = queues[shardInId(jobId) % queues.length];
  if (!queue) throw new Error(`${jobId} names no jobs queue: not a job id`);
  return queue;
}

/**
 * A job message as sent again (a dead letter put back): no longer the job's
 * first, whatever it was (`JobMessage.first`), since a run of it may have
 * begun.
 */
export function sentAgain(message: JobMessage): JobMessage {
  const { first: _first, ...again } = message;
  return again;
}

/** The jobs a jobs-queue message carries: a pack's (`JobPack`), or its one job. */
export const jobsOf = (message: JobQueueMessage): JobMessage[] => ("jobs" in message ? message.jobs : [message]);

/**
 * Sends job messages, each to the queue its job's id names (a pack's jobs
 * share one: jobs/job-packs.ts), 100 to a `sendBatch` (Queues' limit), all
 * at once. Rejects if any send failed; the others may have been sent (a
 * duplicate message is harmless: the job's tracker answers a second one
 * `skip`).
 */
export async function sendJobMessages(
  env: JobQueueBindings,
  messages: MessageSendRequest<JobQueueMessage>[],
): Promise<void> {
  const byQueue = byJobQueue(env, messages, (message) => (jobsOf(message.body)[0] as JobMessage).job_id);
  await Promise.all(
    [...byQueue].flatMap(([queue, batch]) => chunks(batch, limits.maxBatchJobs).map((piece) => queue.sendBatch(piece))),
  );
}

/** `items` by the jobs queue that carries the job each names (`jobIdOf`), in order within each queue. */
export function byJobQueue<T>(
  env: JobQueueBindings,
  items: readonly T[],
  jobIdOf: (item: T) => string,
): Map<Queue<JobQueueMessage>, T[]> {
  const byQueue = new Map<Queue<JobQueueMessage>, T[]>();
  for (const item of items) {
    const queue = jobQueueOf(env, jobIdOf(item));
    const onQueue = byQueue.get(queue);
    if (onQueue) onQueue.push(item);
    else byQueue.set(queue, [item]);
  }
  return byQueue;
}
