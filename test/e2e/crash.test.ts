import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import { type DevServer, startDevServer } from "../support/dev-server";
import { startReceiver } from "../support/receiver";

const JOBS = 60;
/** The promise under test: every job terminal this long after the server is started again, plus its own run time. */
const RECOVERY_MS = 90_000;
const SLEEP_SECONDS = 3;

/** 60 jobs: echoes and 3 s sleeps, every sixth one delayed 2 s, all with a callback and room for a retry. */
function crashLoad(callbackUrl: string) {
  return Array.from({ length: JOBS }, (_, i) => ({
    ...(i % 2 === 0 ? { type: "echo", input: { i } } : { type: "sleep", input: { seconds: SLEEP_SECONDS } }),
    ...(i % 6 === 5 ? { delay_seconds: 2 } : {}),
    max_attempts: 3,
    metadata: { i: String(i) },
    callback_url: callbackUrl,
  }));
}

// Its own `npm run dev` (with the sweep at its default cadence), killed with
// SIGKILL mid-load and started again on the same state and port.
describe("a service killed mid-load", () => {
  const receiverReady = startReceiver();
  afterAll(async () => (await receiverReady).close());

  it("finishes every job once, within 90 s of its restart plus the job's run time, and calls each back", async () => {
    const receiver = await receiverReady;
    let server: DevServer = await startDevServer();
    const headers = { "content-type": "application/json" };
    try {
      const key = (await (
        await fetch(`${server.url}/v1/keys`, {
          method: "POST",
          headers: { ...headers, authorization: "Bearer dev-admin-token" },
          body: JSON.stringify({ name: "crash" }),
        })
      ).json()) as { api_key: string; webhook_secret: string };
      const auth = { authorization: `Bearer ${key.api_key}` };
      const submitted = await fetch(`${server.url}/v1/jobs/batch`, {
        method: "POST",
        headers: { ...headers, ...auth },
        body: JSON.stringify({ jobs: crashLoad(`${receiver.url}/crash`) }),
      });
      expect(submitted.status).toBe(202);
      const { jobs } = (await submitted.json()) as { jobs: JobView[] };
      expect(jobs).toHaveLength(JOBS);

      await new Promise((r) => setTimeout(r, 1000));
      await server.stop("crash");
      const restartedAt = Date.now();
      server = await startDevServer({ state: server.state, port: Number(new URL(server.url).port) });

      // Poll the list until every job is terminal, noting when each was first seen so.
      const finishedAt = new Map<string, number>();
      let latest = new Map<string, JobView>();
      const giveUpAt = restartedAt + RECOVERY_MS + SLEEP_SECONDS * 1000 + 5_000;
      while (finishedAt.size < JOBS && Date.now() < giveUpAt) {
        const page = (await (await fetch(`${server.url}/v1/jobs?limit=100`, { headers: auth })).json()) as {
          jobs: JobView[];
        };
        latest = new Map(page.jobs.map((job) => [job.id, job]));
        for (const job of page.jobs) {
          if (["succeeded", "failed", "canceled"].includes(job.status) && !finishedAt.has(job.id)) {
            finishedAt.set(job.id, Date.now());
          }
        }
        await new Promise((r) => setTimeout(r, 500));
      }

      // None lost, each finished in time, and succeeded by one attempt plus at most the one the crash cut short.
      for (const job of jobs) {
        const after = latest.get(job.id);
        expect(after, `job ${job.id} is missing`).toBeDefined();
        expect(after, `job ${job.id} did not finish in time`).toMatchObject({ status: "succeeded" });
        const runMs = job.type === "sleep" ? SLEEP_SECONDS * 1000 : 0;
        expect((finishedAt.get(job.id) as number) - restartedAt).toBeLessThanOrEqual(RECOVERY_MS + runMs);
        expect(after?.attempts).toBeLessThanOrEqual(2);
      }

      // Each job's terminal callback arrives, verifies, and is one event (a re-send keeps its webhook-id).
      const webhook = new Webhook(key.webhook_secret);
      const callbacks = () =>
        receiver.received
          .filter((r) => r.path === "/crash")
          .map((r) => {
            const event = webhook.verify(r.body, r.headers as Record<string, string>) as {
              type: string;
              data: JobView;
            };
            return { id: r.headers["webhook-id"] as string, ...event };
          });
      const callbackDeadline = Date.now() + 60_000;
      while (new Set(callbacks().map((c) => c.data.id)).size < JOBS && Date.now() < callbackDeadline) {
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const job of jobs) {
        const mine = callbacks().filter((c) => c.data.id === job.id);
        expect(mine.length, `no callback for ${job.id}`).toBeGreaterThan(0);
        expect(new Set(mine.map((c) => c.id)).size, `more than one event for ${job.id}`).toBe(1);
        expect(mine[0]).toMatchObject({ type: "job.succeeded", data: { id: job.id, status: "succeeded" } });
      }
    } finally {
      await server.stop();
    }
  }, 300_000);
});
