import { describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../support/dev-server";

// Its own `npm run dev`, killed mid-job and started again on the same state.
describe("a service that dies mid-attempt", () => {
  it("reclaims the running job once its lease ends, instead of leaving it running", async () => {
    // The local sweep runs every 2 s here instead of every minute.
    const env = { EDGEJOBS_DEV_SWEEP_SECONDS: "2" };
    let server: DevServer = await startDevServer({ env });
    const headers = { "content-type": "application/json" };
    const key = (await (
      await fetch(`${server.url}/v1/keys`, {
        method: "POST",
        headers: { ...headers, authorization: "Bearer dev-admin-token" },
        body: JSON.stringify({ name: "crash" }),
      })
    ).json()) as { api_key: string };
    const auth = { authorization: `Bearer ${key.api_key}` };
    const job = (await (
      await fetch(`${server.url}/v1/jobs`, {
        method: "POST",
        headers: { ...headers, ...auth },
        body: JSON.stringify({ type: "sleep", input: { seconds: 600 }, timeout_seconds: 1, max_attempts: 1 }),
      })
    ).json()) as { id: string };
    const read = async () =>
      (await (await fetch(`${server.url}/v1/jobs/${job.id}`, { headers: auth })).json()) as {
        status: string;
        error: { code: string } | null;
      };
    for (let i = 0; i < 100 && (await read()).status !== "running"; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await read()).status).toBe("running");

    const port = Number(new URL(server.url).port);
    await server.stop("crash");
    server = await startDevServer({ env, state: server.state, port });
    try {
      // Lease = timeout (1 s) + 30 s grace; the sweep or the tracker's alarm reclaims it after that.
      const deadline = Date.now() + 60_000;
      let now = await read();
      while (now.status === "running" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        now = await read();
      }
      expect(now).toMatchObject({ status: "failed", error: { code: "worker_lost" } });
    } finally {
      await server.stop();
    }
  }, 120_000);
});
