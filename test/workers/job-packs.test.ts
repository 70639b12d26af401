import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobMessage, JobQueueMessage } from "../../src/env";
import { limits } from "../../src/limits";
import { shardInId } from "../../src/platform/ids";
import {
  createTenant,
  dbOf,
  deliverJobMessages,
  getJob,
  type Method,
  putBackDeadLetters,
  submit,
  type TestTenant,
  untilStatus,
  withMethod,
} from "./helpers";

/**
 * A job stored as submitted (an echo of `{ n: 1 }`, or `request`), its run due now, whose own message is far
 * off: the test delivers its message.
 */
async function dueJob(tenant: TestTenant, request: object = { type: "echo", input: { n: 1 } }): Promise<JobMessage> {
  const job = await submit(tenant, { ...request, delay_seconds: 3600 });
  await dbOf(job.id).prepare("UPDATE jobs SET run_at = 0 WHERE id = ?").bind(job.id).run();
  return { job_id: job.id, tenant_id: tenant.tenantId, first: true };
}

describe("a packed jobs-queue message (jobs/job-packs.ts)", () => {
  it("runs every job it carries, once, and is acked when they have all ended", async () => {
    const tenant = await createTenant();
    const jobs = [await dueJob(tenant), await dueJob(tenant), await dueJob(tenant)];
    const result = await deliverJobMessages([{ jobs }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    for (const job of jobs) {
      const done = await untilStatus(tenant, job.job_id, "succeeded");
      expect(done).toMatchObject({ attempts: 1, result: { n: 1 } });
    }
  });

  it("is retried whole when one of its jobs could not be run, after the others ended; they answer the retry `skip`", async () => {
    const tenant = await createTenant();
    // The job that runs takes a while: the pack must not be settled before it ends.
    const ran = await dueJob(tenant, { type: "sleep", input: { seconds: 1 } });
    const unreachable = await dueJob(tenant);
    // The second job's tracker cannot be reached (an object reset by a deploy, say): its attempt never begins.
    const trackers = withMethod(
      env.JOB_TRACKER,
      "getByName",
      (real) =>
        ((id: string) => {
          const stub = (real as unknown as (id: string) => object)(id);
          return id === unreachable.job_id
            ? withMethod(stub, "begin", () => async () => Promise.reject(new Error("Durable Object reset")))
            : stub;
        }) as unknown as Method,
    );
    const pack: JobQueueMessage = { jobs: [ran, unreachable] };
    const first = await deliverJobMessages([pack], 1, { ...env, JOB_TRACKER: trackers });
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toHaveLength(1);
    // The job that could run was not held back by the other, and the retry waited for its end.
    const done = await getJob(tenant, ran.job_id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(await getJob(tenant, unreachable.job_id)).toMatchObject({ status: "scheduled", attempts: 0 });
    // The retry: the job that ended is not run again.
    const again = await deliverJobMessages([pack], 2);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await getJob(tenant, ran.job_id)).toMatchObject({ status: "succeeded", attempts: 1, version: done.version });
  });

  it("goes back from the dead-letter queue as its jobs' own messages, none of them first", async () => {
    const tenant = await createTenant();
    const jobs = [await dueJob(tenant), await dueJob(tenant)];
    const { acks, resent } = await putBackDeadLetters(0, [{ jobs }]);
    expect(acks).toEqual(["dead-0"]);
    const queues = resent.length;
    for (const job of jobs) {
      expect(resent[shardInId(job.job_id) % queues]).toContainEqual({
        body: { job_id: job.job_id, tenant_id: tenant.tenantId },
        delaySeconds: limits.infraRetryMaxDelaySeconds,
      });
    }
    expect(resent.flat()).toHaveLength(2);
  });
});
