import { describe, expect, it } from "vitest";
import type { JobMessage, JobQueueMessage } from "../../src/env";
import { packed } from "../../src/jobs/job-packs";
import { jobQueueOf, jobQueues, jobsOf, sendJobMessages } from "../../src/jobs/job-queues";
import { newId } from "../../src/platform/ids";

/** `count` jobs queues that record what each is sent, by queue number. */
function recordingQueues(count: number) {
  const sent: [number, string[]][] = [];
  const bindings = Object.fromEntries(
    Array.from({ length: count }, (_, k) => [
      `JOBS_${k}`,
      {
        send: async (body: JobMessage) => void sent.push([k, [body.job_id]]),
        sendBatch: async (messages: MessageSendRequest<JobQueueMessage>[]) =>
          void sent.push([
            k,
            messages.map((m) =>
              jobsOf(m.body)
                .map((job) => job.job_id)
                .join("+"),
            ),
          ]),
      } as unknown as Queue<JobQueueMessage>,
    ]),
  );
  return { bindings, sent };
}

describe("the jobs queues", () => {
  it("are the JOBS_<k> bindings from 0 up without a gap, and at least one", () => {
    const { bindings } = recordingQueues(3);
    expect(jobQueues(bindings)).toEqual([bindings.JOBS_0, bindings.JOBS_1, bindings.JOBS_2]);
    expect(jobQueues({ JOBS_0: bindings.JOBS_0, JOBS_2: bindings.JOBS_2 })).toHaveLength(1);
    expect(() => jobQueues({})).toThrow(/no jobs queue/);
  });

  it("carry a job's messages on the queue its id names: its shard number mod the number of queues", async () => {
    const { bindings, sent } = recordingQueues(2);
    for (const shard of [0, 1, 6, 31]) await jobQueueOf(bindings, newId.job(shard)).send({ job_id: "probe" });
    expect(sent.map(([queue]) => queue)).toEqual([0, 1, 0, 1]);
    expect(() => jobQueueOf(bindings, "job_not-a-ulid!")).toThrow(/not a job id/);
  });

  it("send a batch of messages as one sendBatch per queue, each message on its job's queue", async () => {
    const { bindings, sent } = recordingQueues(2);
    const ids = [0, 1, 2, 3, 5].map((shard) => newId.job(shard));
    await sendJobMessages(
      bindings,
      ids.map((id) => ({ body: { job_id: id } })),
    );
    expect(sent).toEqual([
      [0, [ids[0], ids[2]]],
      [1, [ids[1], ids[3], ids[4]]],
    ]);
  });

  it("send at most 100 messages in one sendBatch (Queues' limit)", async () => {
    const { bindings, sent } = recordingQueues(1);
    await sendJobMessages(
      bindings,
      Array.from({ length: 250 }, () => ({ body: { job_id: newId.job(0) } })),
    );
    expect(sent.map(([, ids]) => ids.length)).toEqual([100, 100, 50]);
  });
});

describe("packed job messages (jobs/job-packs.ts)", () => {
  it("carry up to ten jobs of one queue each, in order; a job left alone is its own message", async () => {
    const { bindings, sent } = recordingQueues(2);
    const even = Array.from({ length: 11 }, () => newId.job(0));
    const odd = [newId.job(1)];
    const messages = packed(
      bindings,
      [...even, ...odd].map((job_id) => ({ job_id, first: true as const })),
    );
    expect(messages.map(jobsOf).map((jobs) => jobs.map((j) => j.job_id))).toEqual([even.slice(0, 10), [even[10]], odd]);
    expect(messages[1]).toEqual({ job_id: even[10], first: true });
    // A pack goes to the queue its jobs share.
    await sendJobMessages(
      bindings,
      messages.map((body) => ({ body })),
    );
    expect(sent).toEqual([
      [0, [even.slice(0, 10).join("+"), even[10]]],
      [1, [odd[0]]],
    ]);
  });
});
