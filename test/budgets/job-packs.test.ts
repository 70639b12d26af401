import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jobQueues } from "../../src/jobs/job-queues";
import { call, createTenant, submit, untilStatus } from "../workers/helpers";

const JOBS = 24;

const meter = async () => (await (await call("/__metrics")).json()) as Record<string, number>;

describe("submits that meet in an isolate (jobs/job-packs.ts)", () => {
  it("send their jobs packed, fewer queue messages than jobs, and every job runs once", async () => {
    const tenant = await createTenant();
    await submit(tenant, { type: "echo" }); // the isolate learns the key
    await call("/__metrics/reset", { method: "POST" });
    const jobs = await Promise.all(
      Array.from({ length: JOBS }, (_, n) => submit(tenant, { type: "echo", input: { n } })),
    );
    const counts = await meter();
    const messages = jobQueues(env).reduce((sum, _, k) => sum + (counts[`queue:JOBS_${k}:messages`] ?? 0), 0);
    // Submits served at the same time share their messages.
    expect(messages).toBeGreaterThan(0);
    expect(messages).toBeLessThan(JOBS / 2);
    for (const [n, job] of jobs.entries()) {
      expect(await untilStatus(tenant, job.id, "succeeded")).toMatchObject({ attempts: 1, result: { n } });
    }
  });
});
