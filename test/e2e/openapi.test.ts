import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { base } from "./client";

interface OpenApiDocument {
  openapi: string;
  info: { description: string };
  servers?: { url: string }[];
  webhooks?: Record<string, { post?: { parameters?: { name: string; in: string }[]; description?: string } }>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; example?: unknown }> };
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; parameters?: { name: string; in: string }[] }>
  >;
}

const document = async () => (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;

// Every route of API.md, as OpenAPI names it.
const contract: [string, string][] = [
  ["post", "/v1/keys"],
  ["post", "/v1/webhook-secret/rotate"],
  ["post", "/v1/jobs"],
  ["post", "/v1/jobs/batch"],
  ["get", "/v1/jobs/{id}"],
  ["get", "/v1/jobs"],
  ["post", "/v1/jobs/{id}/cancel"],
  ["post", "/v1/jobs/{id}/retry"],
  ["get", "/v1/jobs/{id}/result"],
  ["get", "/v1/jobs/{id}/input"],
  ["get", "/v1/jobs/{id}/events"],
  ["get", "/v1/jobs/{id}/deliveries"],
  ["get", "/v1/jobs/{id}/logs"],
  ["post", "/v1/jobs/{id}/deliveries/{event_id}/redeliver"],
  ["get", "/v1/job-types"],
  // Console routes (the dashboard's), beyond API.md.
  ["get", "/v1/stats"],
  ["get", "/v1/jobs/{id}/attempts"],
  ["get", "/v1/failing-deliveries"],
  ["get", "/v1/batches/{id}"],
  ["get", "/v1/batches/{id}/deliveries"],
  ["post", "/v1/batches/{id}/deliveries/{event_id}/redeliver"],
  ["post", "/v1/schedules"],
  ["get", "/v1/schedules"],
  ["get", "/v1/schedules/{id}"],
  ["patch", "/v1/schedules/{id}"],
  ["delete", "/v1/schedules/{id}"],
];

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("covers every route of the contract with its errors and headers", async () => {
    const { paths } = await document();
    for (const [method, path] of contract) {
      const operation = paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(
        Object.keys(operation?.responses ?? {}).some((s) => s.startsWith("4")),
        `${path} errors`,
      ).toBe(true);
    }
    expect(Object.keys(paths["/v1/jobs"]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["202", "400", "401", "409", "413", "415", "429"]),
    );
    expect(paths["/v1/jobs"]?.post?.parameters?.map((p) => p.name)).toContain("idempotency-key");
    expect(Object.keys(paths["/v1/jobs/{id}"]?.get?.responses ?? {})).toContain("304");
    expect(Object.keys(paths["/v1/jobs/{id}/retry"]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["202", "404", "409", "429"]),
    );
    expect(paths["/v1/jobs/{id}/retry"]?.post?.parameters?.map((p) => p.name)).toContain("idempotency-key");
  });

  it("documents ttl_seconds, expires_at and retry_of, and the expired code", async () => {
    const { components } = await document();
    expect(Object.keys(components.schemas.SubmitJob?.properties ?? {})).toContain("ttl_seconds");
    expect(Object.keys(components.schemas.Job?.properties ?? {})).toEqual(
      expect.arrayContaining(["expires_at", "retry_of"]),
    );
    expect(JSON.stringify(components.schemas.Job?.properties?.error)).toContain("expired");
  });

  it("describes the batch.completed callback in its webhooks, and on_complete on a batch submit", async () => {
    const { webhooks, components } = await document();
    expect(webhooks?.["batch.completed"]?.post).toBeDefined();
    expect(Object.keys(components.schemas.SubmitBatch?.properties ?? {})).toEqual(["jobs", "on_complete"]);
    const eventTypes = JSON.stringify(components.schemas.SubmitJob?.properties?.callback_events);
    expect(eventTypes).not.toContain("batch.completed");
  });

  it("describes a job's error codes, the handler's own among them, and the logs' shape", async () => {
    const { components } = await document();
    const error = JSON.stringify(components.schemas.Job?.properties?.error);
    for (const code of ["handler_error", "timeout", "worker_lost", "canceled", "NonRetryableError", "JobError"]) {
      expect(error).toContain(code);
    }
    expect(Object.keys(components.schemas.JobLogs?.properties ?? {})).toEqual(["logs", "truncated"]);
  });

  it("names the serving origin as its server, so samples and 'Test Request' call this service", async () => {
    expect((await document()).servers).toEqual([{ url: base, description: "This service" }]);
    const elsewhere = await fetch(`${base}/openapi.json`, { headers: { "x-forwarded-host": "ignored.example" } });
    expect(((await elsewhere.json()) as OpenApiDocument).servers?.[0]?.url).toBe(base);
  });

  it("describes every callback event as an OpenAPI 3.1 webhook with the three signature headers and how to verify", async () => {
    const { webhooks } = await document();
    expect(Object.keys(webhooks ?? {}).sort()).toEqual([
      "batch.completed",
      "job.canceled",
      "job.failed",
      "job.progress",
      "job.succeeded",
    ]);
    for (const [type, webhook] of Object.entries(webhooks ?? {})) {
      const headers = webhook.post?.parameters?.filter((p) => p.in === "header").map((p) => p.name);
      expect(headers, type).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
      expect(webhook.post?.description, type).toContain("standardwebhooks");
    }
  });

  it("introduces the service with a quick start, and gives real example values", async () => {
    const { info, components } = await document();
    expect(info.description).toContain("## Quick start");
    expect(info.description).toContain("npm run dev");
    expect(info.description).toContain(`B=${base}`); // its examples address the service serving it
    expect(info.description).toContain("POST /v1/keys");
    for (const name of ["Job", "SubmitJob", "Deliveries", "JobLogs", "CreatedKey", "JobType", "Stats"]) {
      expect(components.schemas[name]?.example ?? components.schemas[name]?.properties, name).toBeDefined();
    }
    expect(components.schemas.Job?.example).toMatchObject({ id: expect.stringMatching(/^job_/), status: "succeeded" });
    expect(components.schemas.SubmitJob?.example).toMatchObject({ type: "echo" });
  });

  it("serves /docs that loads the reference from this service only", async () => {
    const html = await (await fetch(`${base}/docs`)).text();
    expect(html).toContain("/vendor/scalar-api-reference.js");
    // Scalar's hosted-product features are off (the Chromium test checks none renders).
    expect(html).toContain("agent: { disabled: true }");
    expect(html).toContain("mcp: { disabled: true }");
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const bundle = await fetch(`${base}/vendor/scalar-api-reference.js`);
    expect(bundle.status).toBe(200);
    await bundle.body?.cancel();
  });
});
