import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { errors, JobIdParams, NoQuery } from "../contract/schemas";
import type { AppEnv } from "../env";
import { getJob } from "../jobs/queries";
import { openWatch } from "../jobs/watch";
import { watchKeyLiveness } from "../tenants/key-liveness";
import { validationHook } from "./validation";
import { relayAsEventStream, relayAsWebSocket } from "./watch-relays";

export const eventsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const eventsRoute = createRoute({
  method: "get",
  path: "/{id}/events",
  summary: "Watch a job live (Server-Sent Events, or a WebSocket with Upgrade: websocket)",
  description:
    "Starts with the job's current state as a `status` event, then a `status` or `progress` event per change, " +
    "each carrying the whole job; ends after the terminal status, or when the API key is revoked: at once, " +
    "within 60 s at worst (then with an `error` event carrying the error shape; a WebSocket closes with 1008).",
  request: { params: JobIdParams, query: NoQuery },
  responses: {
    200: { description: "An event stream.", content: { "text/event-stream": { schema: { type: "string" } } } },
    101: { description: "Switching to a WebSocket; each message is `{ event, data }`." },
    401: errors[401],
    404: errors[404],
  },
});

eventsApi.openapi(eventsRoute, async (c) => {
  const { id } = c.req.valid("param");
  const job = await getJob(c.env, c.get("tenantId"), id);
  const relay = c.req.header("upgrade")?.toLowerCase() === "websocket" ? relayAsWebSocket : relayAsEventStream;
  const watch = await openWatch(c.env, job);
  return relay(watch, watchKeyLiveness(c.env, c.get("apiKey").id)) as unknown as Response;
});
