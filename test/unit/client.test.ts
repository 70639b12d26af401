import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { EdgejobsClient, EdgejobsError, verifyWebhook, WebhookVerificationError } from "../../src/client/index.ts";

const job = { id: "job_1", status: "queued" };

/** A service that answers each request with the next of `answers`, recording what it was sent and when. */
function service(answers: (() => Response)[]) {
  const requests: { method: string; idempotencyKey: string | null; at: number }[] = [];
  const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
    requests.push({
      method: init?.method ?? "GET",
      idempotencyKey: new Headers(init?.headers).get("idempotency-key"),
      at: Date.now(),
    });
    const answer = answers[requests.length - 1];
    if (!answer) throw new Error("no more answers");
    return answer();
  };
  return { requests, fetch: fetch as typeof globalThis.fetch };
}

const refused = (status: 429 | 503, retryAfter?: string) => () =>
  Response.json(
    { error: { code: status === 429 ? "rate_limited" : "service_unavailable", message: "later" } },
    { status, headers: retryAfter === undefined ? {} : { "retry-after": retryAfter } },
  );
const accepted = () => () => Response.json(job, { status: 202 });

describe("the client's retries", () => {
  it("retries a 429 after the Retry-After seconds, even a POST without an Idempotency-Key", async () => {
    const { requests, fetch } = service([refused(429, "1"), accepted()]);
    const client = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch });
    expect(await client.submit({ type: "echo", input: 1 })).toEqual(job);
    expect(requests).toHaveLength(2);
    expect((requests[1]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it("honours a Retry-After given as an HTTP date", async () => {
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString(); // whole seconds: 1–2 s from now
    const { requests, fetch } = service([refused(503, inTwoSeconds), () => Response.json(job)]);
    const client = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch });
    await client.get("job_1");
    expect((requests[1]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it("retries a POST answered 503 only when it carries an Idempotency-Key", async () => {
    const once = service([refused(503, "0"), accepted()]);
    const client = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch: once.fetch });
    const error = await client.submit({ type: "echo" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgejobsError);
    expect(error).toMatchObject({ status: 503, code: "service_unavailable", retryAfter: 0 });
    expect(once.requests).toHaveLength(1);

    const keyed = service([refused(503, "0"), accepted()]);
    const again = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch: keyed.fetch });
    expect(await again.submit({ type: "echo" }, { idempotencyKey: "order-1" })).toEqual(job);
    expect(keyed.requests.map((r) => r.idempotencyKey)).toEqual(["order-1", "order-1"]);
  });

  it("stops after its attempts, and throws at once a Retry-After beyond its waiting budget", async () => {
    const busy = service([refused(429, "0"), refused(429, "0"), refused(429, "0")]);
    const client = new EdgejobsClient({
      baseUrl: "http://service",
      apiKey: "ejk_x",
      fetch: busy.fetch,
      retry: { attempts: 3 },
    });
    await expect(client.get("job_1")).rejects.toMatchObject({ status: 429 });
    expect(busy.requests).toHaveLength(3);

    const slow = service([refused(429, "60"), accepted()]);
    const started = Date.now();
    const patient = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch: slow.fetch });
    await expect(patient.get("job_1")).rejects.toMatchObject({ status: 429, retryAfter: 60 });
    expect(slow.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("does not retry other errors", async () => {
    const { requests, fetch } = service([
      () => Response.json({ error: { code: "job_finished", message: "done" } }, { status: 409 }),
    ]);
    const client = new EdgejobsClient({ baseUrl: "http://service", apiKey: "ejk_x", fetch });
    await expect(client.cancel("job_1")).rejects.toMatchObject({ status: 409, code: "job_finished" });
    expect(requests).toHaveLength(1);
  });
});

describe("verifyWebhook", () => {
  const secret = `whsec_${btoa("a secret of 24 bytes....")}`;
  const body = JSON.stringify({ type: "job.succeeded", data: { id: "job_1", note: "ünïcode" } });
  const signed = (payload = body) => {
    const timestamp = new Date();
    return {
      "webhook-id": "evt_1",
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign("evt_1", timestamp, payload),
    };
  };

  it("takes Node's req.headers (any case, repeated lines as arrays) and the body as bytes", async () => {
    const headers = signed();
    const nodeHeaders = {
      "Webhook-Id": headers["webhook-id"],
      "webhook-timestamp": headers["webhook-timestamp"],
      "webhook-signature": ["v1,bm90IHRoaXMgb25l", headers["webhook-signature"]],
      "content-length": undefined,
    };
    const bytes = new TextEncoder().encode(body);
    expect(await verifyWebhook(secret, bytes, nodeHeaders)).toEqual(JSON.parse(body));
    const buffer = await new Response(body).arrayBuffer();
    expect(await verifyWebhook(secret, buffer, new Headers(headers))).toEqual(JSON.parse(body));
    expect(await verifyWebhook(secret, body, headers)).toEqual(JSON.parse(body));
  });

  it("skips a signature that is not base64 and checks the next", async () => {
    const headers = signed();
    const signatures = `v1,not*base64 v1,abcde ${headers["webhook-signature"]}`;
    expect(await verifyWebhook(secret, body, { ...headers, "webhook-signature": signatures })).toEqual(
      JSON.parse(body),
    );
  });

  it("refuses altered bytes and missing headers", async () => {
    const headers = signed();
    const altered = new TextEncoder().encode(`${body} `);
    await expect(verifyWebhook(secret, altered, headers)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(secret, body, { "webhook-id": "evt_1" })).rejects.toThrow("missing webhook headers");
  });
});
