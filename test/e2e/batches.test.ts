import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "../support/receiver";
import { api, createTenant, type Tenant, until } from "./client";

// Black-box over `npm run dev`: a batch fans out, and one signed `batch.completed` fans in.
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let tenant: Tenant;

beforeAll(async () => {
  receiver = await startReceiver();
  tenant = await createTenant();
});

afterAll(() => receiver.close());

interface Batch {
  id: string;
  status: string;
  counts: Record<string, number>;
  on_complete: { callback_url: string; metadata: unknown } | null;
  completed_at: string | null;
}

describe("a batch over npm run dev", () => {
  it("sends one batch.completed, verified with standardwebhooks, once every job ended, with the right counts", async () => {
    const path = `/batch/${crypto.randomUUID()}`;
    const res = await api(tenant, "/v1/jobs/batch", {
      method: "POST",
      body: JSON.stringify({
        jobs: [
          { type: "echo", input: 1 },
          { type: "fail", input: { fail_attempts: 1, retryable: false } },
          { type: "fail", input: { fail_attempts: 1 }, max_attempts: 2 },
          { type: "echo", delay_seconds: 600 },
        ],
        on_complete: { callback_url: `${receiver.url}${path}`, metadata: { chord: "e2e" } },
      }),
    });
    expect(res.status).toBe(202);
    const { batch_id, jobs } = (await res.json()) as { batch_id: string; jobs: { id: string; batch_id: string }[] };
    expect(jobs.every((job) => job.batch_id === batch_id)).toBe(true);
    const cancel = await api(tenant, `/v1/jobs/${jobs[3]?.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    const received = await until(
      async () => receiver.received.filter((r) => r.path === path),
      (got) => got.length > 0,
      30_000,
    );
    expect(received).toHaveLength(1);
    const request = received[0] as (typeof received)[number];
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const event = new Webhook(tenant.webhookSecret).verify(request.body, headers) as { type: string; data: Batch };
    expect(event.type).toBe("batch.completed");
    expect(event.data).toMatchObject({
      id: batch_id,
      status: "completed",
      counts: { total: 4, succeeded: 2, failed: 1, canceled: 1, pending: 0 },
      on_complete: { callback_url: `${receiver.url}${path}`, metadata: { chord: "e2e" } },
    });
    expect(await (await api(tenant, `/v1/batches/${batch_id}`)).json()).toEqual(event.data);
    const log = (await (await api(tenant, `/v1/batches/${batch_id}/deliveries`)).json()) as {
      events: { id: string; type: string }[];
    };
    expect(log.events).toMatchObject([{ id: headers["webhook-id"], type: "batch.completed" }]);
  });
});
