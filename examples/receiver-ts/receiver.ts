// A complete edgejobs callback receiver: Hono + the official `standardwebhooks`
// package. Start it with node.ts (Node) or worker.ts (Cloudflare Workers).
import { Hono } from "hono";
import { Webhook } from "standardwebhooks";

/** A job's callback: `data` is the job as `GET /v1/jobs/{id}` shows it (abridged here). */
export interface JobEvent {
  type: "job.succeeded" | "job.failed" | "job.canceled" | "job.progress";
  timestamp: string;
  data: { id: string; status: string; version: number; result: unknown; error: unknown };
}

/** A batch's one `batch.completed` callback (`on_complete`): `data` is the batch, sent once it completed. */
export interface BatchEvent {
  type: "batch.completed";
  timestamp: string;
  data: { id: string; status: "completed"; counts: Record<string, number> };
}

/**
 * The tenant's webhook secret from `value` (the EDGEJOBS_WEBHOOK_SECRET
 * setting). Throws when it is missing or not a `whsec_…` secret, so a
 * receiver without its secret fails at start, not on every callback.
 */
export function webhookSecret(value: string | undefined): string {
  if (!value?.startsWith("whsec_")) {
    throw new Error(
      "EDGEJOBS_WEBHOOK_SECRET must be the tenant's whsec_… secret (POST /v1/keys answers it; npm run dev prints one)",
    );
  }
  return value;
}

/** The receiver: POST /hooks/jobs takes callbacks signed with `secret`; GET /jobs/:id shows what it knows. */
export function receiver(secret: string): Hono {
  const webhook = new Webhook(secret);
  // Use your database in production; these maps show the two rules a receiver needs.
  const handledEvents = new Set<string>(); // webhook-id of every event handled
  const latest = new Map<string, JobEvent["data"]>(); // job id → newest state applied
  const app = new Hono();

  app.post("/hooks/jobs", async (c) => {
    const body = await c.req.text(); // the raw body: verify before parsing
    let event: JobEvent | BatchEvent;
    try {
      event = webhook.verify(body, Object.fromEntries(c.req.raw.headers)) as JobEvent | BatchEvent;
    } catch (error) {
      // Forged, altered, too old, or signed with another tenant's secret: say which.
      console.warn("refused a callback:", error instanceof Error ? error.message : error);
      return c.text("invalid signature", 400);
    }
    const eventId = c.req.header("webhook-id") as string;
    if (handledEvents.has(eventId)) return c.body(null, 204); // a retry of an event already handled
    if (event.type === "batch.completed") {
      console.log(event.type, event.data.id, JSON.stringify(event.data.counts)); // a batch completes once
    } else {
      const known = latest.get(event.data.id);
      if (!known || known.version < event.data.version) {
        latest.set(event.data.id, event.data); // older events arriving late are ignored
        console.log(event.type, event.data.id, JSON.stringify(event.data.result));
      }
    }
    handledEvents.add(eventId);
    return c.body(null, 204); // any 2xx within 15 s is a delivery
  });

  app.get("/jobs/:id", (c) => {
    const job = latest.get(c.req.param("id"));
    return job ? c.json(job) : c.notFound();
  });

  return app;
}
