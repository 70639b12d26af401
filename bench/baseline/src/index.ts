// The minimum hand-written hot path of an echo job: one D1 insert and one
// queue send on submit; a consumer that writes the results with one D1 batch
// and sends one signed callback per job; one D1 select on poll.

/** A job's queue message: its id, its input as JSON text, and where to send its callback. */
export interface JobMessage {
  id: string;
  input: string;
  callback_url: string | null;
}

interface Env {
  DB: D1Database;
  JOBS: Queue<JobMessage>;
  WEBHOOK_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/v1/jobs") {
      const body = (await request.json()) as { input?: unknown; callback_url?: string };
      const id = `job_${crypto.randomUUID()}`;
      const input = JSON.stringify(body.input ?? null);
      await env.DB.prepare(
        "INSERT INTO jobs (id, status, input, callback_url, created_at) VALUES (?, 'queued', ?, ?, ?)",
      )
        .bind(id, input, body.callback_url ?? null, Date.now())
        .run();
      await env.JOBS.send({ id, input, callback_url: body.callback_url ?? null });
      return Response.json({ id, status: "queued" }, { status: 202 });
    }
    const match = /^\/v1\/jobs\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && match) {
      const job = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(match[1]).first();
      return job ? Response.json(job) : new Response("not found", { status: 404 });
    }
    return new Response("not found", { status: 404 });
  },

  async queue(batch: MessageBatch<JobMessage>, env: Env) {
    const now = Date.now();
    await env.DB.batch(
      batch.messages.map((m) =>
        env.DB.prepare("UPDATE jobs SET status = 'succeeded', result = ?, finished_at = ? WHERE id = ?").bind(
          m.body.input,
          now,
          m.body.id,
        ),
      ),
    );
    await Promise.all(
      batch.messages.map(async (m) => {
        if (m.body.callback_url) await sendCallback(env.WEBHOOK_SECRET, m.body.callback_url, m.body.id, m.body.input);
        m.ack();
      }),
    );
  },
} satisfies ExportedHandler<Env, JobMessage>;

/**
 * Sends a `job.succeeded` callback signed as Standard Webhooks specifies
 * (HMAC-SHA256 of `id.timestamp.body` with the `whsec_` secret's bytes);
 * answers the receiver's response. Throws as `fetch` does.
 */
export async function sendCallback(secret: string, url: string, id: string, result: string): Promise<Response> {
  const body = `{"type":"job.succeeded","data":{"id":"${id}","status":"succeeded","result":${result}}}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const keyBytes = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)),
  );
  const signature = btoa(String.fromCharCode(...mac));
  return await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": `v1,${signature}`,
    },
    body,
  });
}
