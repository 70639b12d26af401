// A complete edgejobs callback receiver: Hono + the official `standardwebhooks`
// package. Runs on Workers (`export default app`), Node, Deno or Bun.
import { Hono } from "hono";
import { Webhook } from "standardwebhooks";

export interface JobEvent {
  type: "job.succeeded" | "job.failed" | "job.canceled" | "job.progress";
  timestamp: string;
  data: { id: string; status: string; version: number; result: unknown; error: unknown };
}

type Env = { Bindings: { EDGEJOBS_WEBHOOK_SECRET: string } };

// Use your database in production; these maps show the two rules a receiver needs.
const handledEvents = new Set<string>(); // webhook-id of every event handled
const latest = new Map<string, JobEvent["data"]>(); // job id → newest state applied

export const app = new Hono<Env>();

app.post("/hooks/jobs", async (c) => {
  const body = await c.req.text(); // the raw body: verify before parsing
  let event: JobEvent;
  try {
    // On Workers, the headers must be passed as a plain object.
    event = new Webhook(c.env.EDGEJOBS_WEBHOOK_SECRET).verify(body, Object.fromEntries(c.req.raw.headers)) as JobEvent;
  } catch {
    return c.text("invalid signature", 400);
  }
  const eventId = c.req.header("webhook-id") as string;
  if (handledEvents.has(eventId)) return c.body(null, 204); // a retry of an event already handled
  const known = latest.get(event.data.id);
  if (!known || known.version < event.data.version) latest.set(event.data.id, event.data); // ignore stale events
  handledEvents.add(eventId);
  return c.body(null, 204); // any 2xx within 15 s is a delivery
});

/** What the receiver knows: the newest state of each job it heard about. */
app.get("/jobs/:id", (c) => {
  const job = latest.get(c.req.param("id"));
  return job ? c.json(job) : c.notFound();
});

export default app;
