import { describe, expect, it } from "vitest";
import type { JobMessage } from "../../src/env";
import { jobQueueOf, jobQueues, sendJobMessages } from "../../src/jobs/job-queues";
import { newId } from "../../src/platform/ids";

/** `count` jobs queues that record what each is sent, by queue number. */
function recordingQueues(count: number) {
  const sent: [number, string[]][] = [];
  const bindings = Object.fromEntries(
    Array.from({ length: count }, (_, k) => [
      `JOBS_${k}`,
      {
        send: async (body: JobMessage) => void sent.push([k, [body.job_id]]),
        sendBatch: async (messages: MessageSendRequest<JobMessage>[]) =>
          void sent.push([k, messages.map((m) => m.body.job_id)]),
      } as unknown as Queue<JobMessage>,
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
});
