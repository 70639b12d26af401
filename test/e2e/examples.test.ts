import { describe, expect, it } from "vitest";
import { app } from "../../examples/receiver-ts/receiver";
import { serveFetch } from "../support/serve-fetch";
import { createTenant, finished, submit } from "./client";

describe("examples/receiver-ts", () => {
  it("receives and verifies a real callback, and refuses a forged one", async () => {
    const tenant = await createTenant("example");
    const receiver = await serveFetch((request) =>
      app.fetch(request, { EDGEJOBS_WEBHOOK_SECRET: tenant.webhookSecret }),
    );
    try {
      const job = await submit(tenant, {
        type: "echo",
        input: { from: "example" },
        callback_url: `${receiver.url}/hooks/jobs`,
      });
      await finished(tenant, job.id);
      let seen: Response | undefined;
      for (let i = 0; i < 100 && seen?.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await fetch(`${receiver.url}/jobs/${job.id}`);
      }
      expect(await seen?.json()).toMatchObject({ id: job.id, status: "succeeded", result: { from: "example" } });
      const forged = await fetch(`${receiver.url}/hooks/jobs`, {
        method: "POST",
        headers: {
          "webhook-id": "evt_x",
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": "v1,AAAA",
        },
        body: "{}",
      });
      expect(forged.status).toBe(400);
    } finally {
      await receiver.close();
    }
  });
});
