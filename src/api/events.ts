import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { getJob } from "../jobs/queries";
import { decodeFrame, openWatch } from "../tracker/watch";
import { errors, JobIdParams } from "./schemas";
import { validationHook } from "./validation";

export const eventsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** Comments keep idle SSE connections open through proxies, and reveal a client that left. */
const HEARTBEAT_MS = 15_000;

const eventsRoute = createRoute({
  method: "get",
  path: "/{id}/events",
  summary: "Watch a job live (Server-Sent Events, or a WebSocket with Upgrade: websocket)",
  description:
    "Starts with the job's current state as a `status` event, then a `status` or `progress` event per change, " +
    "each carrying the whole job; ends after the terminal status.",
  request: { params: JobIdParams },
  responses: {
    200: { description: "An event stream.", content: { "text/event-stream": { schema: { type: "string" } } } },
    101: { description: "Switching to a WebSocket; each message is `{ event, data }`." },
    401: errors[401],
    404: errors[404],
  },
});

eventsApi.openapi(eventsRoute, async (c) => {
  const { id } = c.req.valid("param");
  await getJob(c.env, c.get("tenantId"), id);
  if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
    // The client's socket is accepted by the tracker itself, with hibernation.
    return c.env.JOB_TRACKER.getByName(id).fetch(c.req.raw) as unknown as Response;
  }
  return relayAsEventStream(await openWatch(c.env, id)) as unknown as Response;
});

/**
 * The Worker holds the SSE stream and relays from one hibernatable watch on
 * the tracker, so the tracker sleeps between changes however long the
 * client watches.
 */
function relayAsEventStream(socket: WebSocket): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    socket.close(1000, "stream ended");
    writer.close().catch(() => undefined); // already closed or errored by the client leaving
  };
  const write = (text: string) => writer.write(encoder.encode(text)).catch(end);
  const heartbeat = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
  socket.addEventListener("message", (message) => {
    const frame = decodeFrame(message.data);
    write(`event: ${frame.event}\nid: ${frame.data.version}\ndata: ${JSON.stringify(frame.data)}\n\n`);
  });
  socket.addEventListener("close", end);
  return new Response(readable, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
