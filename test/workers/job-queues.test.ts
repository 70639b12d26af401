import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { jobQueues } from "../../src/jobs/job-queues";
import type { JobView } from "../../src/jobs/model";
import { shardInId } from "../../src/platform/ids";
import { readMeter, resetMeter } from "../../src/platform/metering";
import { databases } from "../../src/store/databases";
import { BASE, createTenant, type TestTenant, untilStatus } from "./helpers";

/** Submits an echo job through the metered Worker, placed on `shard` (the shard a new job takes is random). */
async function submitOnShard(tenant: TestTenant, shard: number): Promise<JobView> {
  const random = vi.spyOn(Math, "random").mockReturnValue((shard + 0.5) / databases(env).shards.length);
  try {
    const res = await worker.fetch(
      new Request(`${BASE}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", input: { shard } }),
      }),
      { ...env, METERING: "true" },
      {} as ExecutionContext,
    );
    expect(res.status).toBe(202);
    return (await res.json()) as JobView;
  } finally {
    random.mockRestore();
  }
}

describe("the jobs queues (real Queues bindings)", () => {
  it("are two by default, so no one queue carries every job", () => {
    expect(jobQueues(env)).toHaveLength(2);
  });

  it("carry each job's message on the queue its id names, and every queue's consumer runs its jobs", async () => {
    const tenant = await createTenant();
    const queues = jobQueues(env).length;
    resetMeter();
    // Shards 0 … q-1: one job named for each queue. The sweep (which would re-enqueue a job
    // whose message went nowhere) does not run in tests, so each job runs only through its queue.
    const jobs: JobView[] = [];
    for (let shard = 0; shard < queues; shard++) jobs.push(await submitOnShard(tenant, shard));
    expect(jobs.map((job) => shardInId(job.id) % queues)).toEqual([0, 1]);
    expect(readMeter()).toMatchObject({ "queue:JOBS_0:messages": 1, "queue:JOBS_1:messages": 1 });
    for (const job of jobs) {
      expect(await untilStatus(tenant, job.id, "succeeded")).toMatchObject({ result: { shard: shardInId(job.id) } });
    }
  });
});
