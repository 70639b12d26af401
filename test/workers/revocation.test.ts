import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { joinKeyStreams } from "../../src/tenants/key-liveness";
import { KEY_REVOKED_CLOSE } from "../../src/tenants/key-streams";
import { parseEventStream } from "../support/event-stream";
import { ADMIN, BASE, call, createTenant, eventually, submit, untilStatus } from "./helpers";

// A revoked key's stream ends within the push from its KeyStreams object, or one re-check interval
// (RECHECK_MS below, where that object is unreachable), one D1 read and the relay's close.
const ENDS_WITHIN_MS = 2_000;
// The backstop's re-check interval here; the real interval's bound is unit-tested (key-recheck.test.ts).
const RECHECK_MS = 200;

type StreamEnv = typeof env;

/** A KeyStreams namespace whose objects cannot be reached: streams rely on their re-checks alone. */
const unreachableKeyStreams = {
  getByName: () => ({
    fetch: () => Promise.reject(new Error("KeyStreams unreachable (test)")),
    revoked: () => Promise.reject(new Error("KeyStreams unreachable (test)")),
  }),
} as unknown as StreamEnv["KEY_STREAMS"];

const as = async (
  streamEnv: StreamEnv,
  apiKey: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> =>
  app.fetch(new Request(`${BASE}${path}`, { headers: { ...headers, authorization: `Bearer ${apiKey}` } }), streamEnv);

/** The tenant's first key's id (the one `createTenant` hands out). */
async function firstKeyId(tenantId: string): Promise<string> {
  const res = await call(`/v1/keys?tenant_id=${tenantId}`, { headers: ADMIN });
  const [first] = ((await res.json()) as { keys: { id: string }[] }).keys as [{ id: string }];
  return first.id;
}

async function addKey(tenantId: string): Promise<{ id: string; apiKey: string }> {
  const res = await call("/v1/keys", {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ name: "second", tenant_id: tenantId }),
  });
  const body = (await res.json()) as { id: string; api_key: string };
  return { id: body.id, apiKey: body.api_key };
}

/** Reads an SSE response to its end; resolves with its text and when it ended. */
async function readToEnd(res: Response): Promise<{ text: string; endedAt: number }> {
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, endedAt: Date.now() };
}

/** Collects a WebSocket's frames until it closes. */
function framesToClose(
  res: Response,
): Promise<{ frames: { event: string; data: unknown }[]; code: number; endedAt: number }> {
  expect(res.status).toBe(101);
  const socket = res.webSocket as WebSocket;
  socket.accept();
  const frames: { event: string; data: unknown }[] = [];
  socket.addEventListener("message", (m) => {
    frames.push(JSON.parse(m.data as string));
  });
  return new Promise((resolve) =>
    socket.addEventListener("close", (event) => resolve({ frames, code: event.code, endedAt: Date.now() })),
  );
}

/**
 * Opens SSE, WebSocket and long-poll streams on a running job with two keys
 * of one tenant (served with `streamEnv`), revokes the first, and checks
 * that its streams end within ENDS_WITHIN_MS with 401 `unauthorized` while
 * the other key's go on to the job's end.
 */
async function revokeWhileWatched(streamEnv: StreamEnv): Promise<void> {
  const tenant = await createTenant();
  const revokedId = await firstKeyId(tenant.tenantId);
  const kept = await addKey(tenant.tenantId);
  const job = await submit(tenant, { type: "sleep", input: { seconds: 4, steps: 8 } });
  await untilStatus(tenant, job.id, "running");
  const path = `/v1/jobs/${job.id}/events`;
  const sse = as(streamEnv, tenant.apiKey, path).then(readToEnd);
  const socket = as(streamEnv, tenant.apiKey, path, { upgrade: "websocket" }).then(framesToClose);
  const poll = as(streamEnv, tenant.apiKey, `/v1/jobs/${job.id}?wait=30`).then(async (res) => ({
    res,
    endedAt: Date.now(),
    body: (await res.json()) as { error?: { code: string } },
  }));
  const keptSse = as(streamEnv, kept.apiKey, path).then(readToEnd);
  const keptSocket = as(streamEnv, kept.apiKey, path, { upgrade: "websocket" }).then(framesToClose);
  await new Promise((r) => setTimeout(r, 500));

  const revokedAt = Date.now();
  expect((await call(`/v1/keys/${revokedId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);

  // Soft: each channel's verdict shows on its own.
  const [sseEnd, socketEnd, pollEnd] = await Promise.all([sse, socket, poll]);
  expect.soft(sseEnd.endedAt - revokedAt).toBeLessThan(ENDS_WITHIN_MS);
  expect.soft(sseEnd.text).toMatch(/event: error\ndata: \{"error":\{"code":"unauthorized"/);
  expect.soft(parseEventStream(sseEnd.text).at(-1)?.data).toMatchObject({ error: { code: "unauthorized" } });
  expect.soft(socketEnd.endedAt - revokedAt).toBeLessThan(ENDS_WITHIN_MS);
  expect.soft(socketEnd.code).toBe(1008);
  expect.soft(socketEnd.frames.at(-1)).toMatchObject({ event: "error", data: { error: { code: "unauthorized" } } });
  expect.soft(pollEnd.endedAt - revokedAt).toBeLessThan(ENDS_WITHIN_MS);
  expect.soft(pollEnd.res.status).toBe(401);
  expect.soft(pollEnd.body.error?.code).toBe("unauthorized");

  // The job ran on well past the revocation; the live key's watchers saw it to its end.
  const [keptSseEnd, keptSocketEnd] = await Promise.all([keptSse, keptSocket]);
  expect(keptSseEnd.endedAt - revokedAt).toBeGreaterThan(ENDS_WITHIN_MS);
  expect(parseEventStream(keptSseEnd.text).at(-1)).toMatchObject({ event: "status", data: { status: "succeeded" } });
  expect(keptSocketEnd.code).toBe(1000);
  expect(keptSocketEnd.frames.at(-1)).toMatchObject({ event: "status", data: { status: "succeeded" } });
}

describe("revoking an API key", () => {
  // Field case C7: a 12 s job's streams ran to the end after a revocation, the re-check being 30 s.
  it("ends its open SSE, WebSocket and long-poll streams at once, while another key's streams go on", async () => {
    await revokeWhileWatched(env); // the default re-check interval, 30 s: only the push can end them in time
  });

  it("still ends them by re-reading the key when its KeyStreams object cannot be reached", async () => {
    await revokeWhileWatched({ ...env, KEY_RECHECK_MS: String(RECHECK_MS), KEY_STREAMS: unreachableKeyStreams });
  });

  it("ends a stream that joins its KeyStreams object after the revocation", async () => {
    const tenant = await createTenant();
    const keyId = await firstKeyId(tenant.tenantId);
    expect((await call(`/v1/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const socket = await joinKeyStreams(env, keyId);
    const closed = await new Promise<number>((resolve) => socket.addEventListener("close", (e) => resolve(e.code)));
    expect(closed).toBe(KEY_REVOKED_CLOSE);
  });

  it("leaves nothing on the key's object once a stream ends on its own: its socket is let go", async () => {
    const tenant = await createTenant();
    const keyId = await firstKeyId(tenant.tenantId);
    const held = () =>
      runInDurableObject(env.KEY_STREAMS.getByName(keyId), (_instance, state) => state.getWebSockets().length);
    const job = await submit(tenant, { type: "sleep", input: { seconds: 1.5, steps: 3 } });
    await untilStatus(tenant, job.id, "running");
    const sse = as(env, tenant.apiKey, `/v1/jobs/${job.id}/events`).then(readToEnd);
    expect(await eventually(held, (n) => n === 1), "the open stream holds one socket").toBe(1);
    expect(parseEventStream((await sse).text).at(-1)).toMatchObject({ data: { status: "succeeded" } });
    expect(await eventually(held, (n) => n === 0)).toBe(0);
  });
});
