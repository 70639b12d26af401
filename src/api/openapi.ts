import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { type CallbackEventType, callbackEventTypes, JobSchema, Time } from "../contract/schemas";
import type { AppEnv } from "../env";
import { jsonRequestBody } from "./json-content";

/**
 * What makes /openapi.json (and /docs, rendered from it) stand alone: the
 * serving origin as its server, an introduction with the quick start, and
 * the callback contract as OpenAPI 3.1 `webhooks`.
 */

/** The introduction, its examples addressed to `origin` (the service serving the document). */
const introduction = (
  origin: string,
) => `A self-hostable background job service on Cloudflare Workers. POST a job, get \`202 Accepted\` at once;
the work runs on a queue consumer; learn the outcome from a signed webhook callback, by polling (ETag, long
polling with \`?wait=\`), or by watching the job (SSE or WebSocket).

## Quick start

Locally, \`npm run dev\` starts the service (on http://localhost:8787 by default) and prints a ready API key (\`ejk_…\`) and its
webhook secret (\`whsec_…\`). Elsewhere, an admin creates a key: \`POST /v1/keys\` with
\`Authorization: Bearer <ADMIN_TOKEN>\` (locally \`dev-admin-token\`).

\`\`\`sh
B=${origin}
KEY=ejk_…   # the API key npm run dev printed
ID=$(curl -s -X POST $B/v1/jobs -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\
  -d '{"type":"echo","input":{"hello":"world"}}' | jq -r .id)
curl -s "$B/v1/jobs/$ID?wait=10" -H "authorization: Bearer $KEY"
\`\`\`

## Callbacks

A job with a \`callback_url\` gets a signed POST when it reaches a status named in \`callback_events\`
(default: the three terminal events); see **Webhooks** for each event's body and headers. Every error answer is
\`{ "error": { "code", "message", "details"? } }\`.

Routes tagged **Console** serve the dashboard (stats, attempts, failing deliveries); they are tenant-scoped like
every \`/v1\` route.`;

/** The document's top level for a request to `origin` (e.g. `http://localhost:8787`). */
export function documentConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: { title: "edgejobs", version: "1.0.0", description: introduction(origin) },
    servers: [{ url: origin, description: "This service" }],
    security: [{ bearer: [] }],
  };
}

const verifying = `Signed per Standard Webhooks: verify the raw body before parsing it, with the tenant's \`whsec_…\` secret and
the official libraries (npm \`standardwebhooks\` or \`svix\`, or their ports):

\`\`\`ts
import { Webhook } from "standardwebhooks";
const event = new Webhook(process.env.EDGEJOBS_WEBHOOK_SECRET).verify(rawBody, headers); // throws if forged or stale
\`\`\`

Answer any 2xx within 15 s. Anything else is retried (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) with the
same \`webhook-id\`; deduplicate on it, and order events by \`data.version\`. A 410 stops retrying.`;

const eventMeaning: Record<CallbackEventType, string> = {
  "job.succeeded": "The job succeeded: `data.result` (or `data.result_url`) holds its result.",
  "job.failed": "The job failed for good: `data.error` says why.",
  "job.canceled": "The job was canceled (or expired: `data.error.code` is `expired`).",
  "job.progress": "The handler reported progress (only when asked for; at most one a second per job).",
};

const SignatureHeaders = z.object({
  "webhook-id": z.string().openapi({
    description: "The event id: the same on every retry and redelivery of this event.",
    example: "evt_01JD7Z3Q1X0000000000000003",
  }),
  "webhook-timestamp": z.string().openapi({
    description: "Unix seconds when this attempt was signed.",
    example: "1795953600",
  }),
  "webhook-signature": z.string().openapi({
    description:
      'Space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, one per valid ' +
      "secret (two or three for 24 h after a rotation), keyed with the base64-decoded part of the `whsec_` secret.",
    example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
  }),
});

/**
 * A webhook entry with the signature headers and how to verify them: every
 * event (a job's or a batch's) is signed the same way.
 */
export function signedWebhook(route: RouteConfig): RouteConfig {
  return {
    ...route,
    description: `${route.description ?? ""}\n\n${verifying}`.trim(),
    request: { ...route.request, headers: SignatureHeaders },
  };
}

/** Registers one webhook per callback event type in the app's OpenAPI registry. */
export function registerWebhooks(app: OpenAPIHono<AppEnv>): void {
  for (const type of callbackEventTypes) {
    const body = z.object({
      type: z.literal(type),
      timestamp: Time.openapi({ example: "2026-11-24T12:00:00Z" }),
      data: JobSchema,
    });
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      summary: type,
      description: `${eventMeaning[type]}\n\n${verifying}`,
      request: {
        headers: SignatureHeaders,
        body: jsonRequestBody(body),
      },
      responses: {
        200: { description: "Any 2xx within 15 s is a delivery." },
        410: { description: "Gone: stop retrying this event." },
      },
    });
  }
}
