import { beforeAll, describe, expect, it } from "vitest";
import { parseEventStream } from "../support/event-stream";
import { api, base, createTenant, finished, type Job, submit, type Tenant } from "./client";

let tenant: Tenant;
beforeAll(async () => {
  tenant = await createTenant("e2e-live");
});

/** Reads an SSE response to its end, event by event, as a browser's EventSource would see them. */
async function readEvents(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  return parseEventStream(await res.text());
}

describe("live progress over npm run dev", () => {
  it("streams a job over SSE from its current state to its terminal status", async () => {
    const job = await submit(tenant, { type: "sleep", input: { seconds: 1, steps: 4 } });
    const events = await readEvents(await api(tenant, `/v1/jobs/${job.id}/events`));
    expect(events[0]?.event).toBe("status");
    expect(events.filter((e) => e.event === "progress").map((e) => e.data.progress?.percent)).toEqual([
      25, 50, 75, 100,
    ]);
    expect(events.at(-1)?.data.status).toBe("succeeded");
  });

  it("streams a job over a WebSocket on the same path", async () => {
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.6, steps: 3 } });
    const socket = new WebSocket(`${base.replace("http", "ws")}/v1/jobs/${job.id}/events`, {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    } as unknown as string[]);
    const frames: { event: string; data: Job }[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("message", (m) => frames.push(JSON.parse(String(m.data))));
      socket.addEventListener("close", () => resolve());
      socket.addEventListener("error", () => reject(new Error("websocket error")));
    });
    expect(frames[0]?.event).toBe("status");
    expect(frames.filter((f) => f.event === "progress")).toHaveLength(3);
    expect(frames.at(-1)?.data.status).toBe("succeeded");
  });

  it("long-polls until the job finishes and wakes at once", async () => {
    const job = await submit(tenant, { type: "sleep", input: { seconds: 1 } });
    const res = await api(tenant, `/v1/jobs/${job.id}?wait=20`);
    const answeredAt = Date.now();
    const done = (await res.json()) as Job;
    expect(done.status).toBe("succeeded");
    expect(answeredAt - Date.parse(done.finished_at as string)).toBeLessThan(500);
  });

  it("cancels a running job promptly", async () => {
    const job = await submit(tenant, { type: "sleep", input: { seconds: 30, steps: 1 } });
    const running = await readUntilRunning(job.id);
    expect(running).toBe(true);
    const canceledAt = Date.now();
    const res = await api(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(((await res.json()) as Job).status).toBe("canceled");
    // The aborted handler frees the local queue: a new job runs well before the 30 s sleep would end.
    const next = await submit(tenant, { type: "echo", input: "next" });
    expect((await finished(tenant, next.id)).status).toBe("succeeded");
    expect(Date.now() - canceledAt).toBeLessThan(5000);
  });
});

async function readUntilRunning(id: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const job = (await (await api(tenant, `/v1/jobs/${id}`)).json()) as Job;
    if (job.status === "running") return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
