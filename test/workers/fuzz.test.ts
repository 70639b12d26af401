import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../src/jobs/model";
import {
  ADMIN,
  authed,
  call,
  createTenant,
  errorOf,
  getJob,
  postJson,
  setTenantLimits,
  submit,
  type TestTenant,
} from "./helpers";

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
const oddStrings = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "..",
    "%00",
    "%ff",
    "job_",
    "job_01JD7Z3Q1X0000000000000000",
    "\u202e",
    "🙂".repeat(30),
    "a".repeat(5000),
  ),
);
// Header values are bytes; ASCII is what clients can send (anything else makes workerd warn).
const headerValues = fc.oneof(
  fc.string({ unit: "binary-ascii", maxLength: 60 }),
  fc.constantFrom("", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "*", 'W/"v1"', "websocket", "a".repeat(5000)),
);
const jsonBodies = fc.oneof(
  fc.json({ depthSize: "medium" }),
  fc.jsonValue().map((v) => JSON.stringify({ type: "echo", input: v })),
  fc
    .record(
      {
        type: fc.oneof(fc.constantFrom("echo", "sleep", "fail", "nope"), oddStrings),
        input: fc.jsonValue(),
        delay_seconds: fc.oneof(fc.integer(), fc.double(), oddStrings),
        max_attempts: fc.oneof(fc.integer(), fc.constant(null), oddStrings),
        timeout_seconds: fc.oneof(fc.integer(), fc.double()),
        callback_url: fc.oneof(fc.webUrl(), oddStrings, fc.constant("http://127.0.0.1:1/x")),
        callback_events: fc.array(fc.oneof(fc.constantFrom("job.succeeded", "job.progress"), oddStrings)),
        metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
        jobs: fc.array(fc.jsonValue(), { maxLength: 3 }),
        bogus: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  oddStrings,
);

function pathsFor(ids: string[]) {
  const id = fc.oneof(fc.constantFrom(...ids), oddStrings.map(encodeURIComponent));
  return fc.oneof(
    fc.constantFrom(
      "/v1/jobs",
      "/v1/jobs/batch",
      "/v1/job-types",
      "/v1/keys",
      "/v1/webhook-secret/rotate",
      "/healthz",
      "/",
    ),
    id.map((i) => `/v1/jobs/${i}`),
    fc.tuple(id, fc.constantFrom("cancel", "result", "deliveries", "events")).map(([i, sub]) => `/v1/jobs/${i}/${sub}`),
    fc.tuple(id, oddStrings.map(encodeURIComponent)).map(([i, e]) => `/v1/jobs/${i}/deliveries/${e}/redeliver`),
    fc
      .tuple(
        fc.constantFrom("/v1/jobs", "/v1/jobs/x"),
        fc.dictionary(fc.constantFrom("wait", "limit", "cursor", "status", "type", "x"), oddStrings),
      )
      .map(([p, q]) => `${p}?${new URLSearchParams(q)}`),
    fc.tuple(fc.constantFrom("/v1/keys/", "/v1/tenants/"), oddStrings.map(encodeURIComponent)).map(([p, i]) => p + i),
  );
}

async function expectContractAnswer(res: Response, method: string) {
  expect(res.status, `${method} answered ${res.status}`).toBeLessThan(500);
  if (res.status >= 400 && method !== "HEAD") {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code).toBe("string");
    expect(typeof body.error?.message).toBe("string");
  } else {
    await res.body?.cancel();
  }
}

describe("a fuzzed API", () => {
  it("never answers 5xx, always answers 4xx in the contract's shape, and leaves others' jobs unchanged", async () => {
    const victim = await createTenant("victim");
    const attacker = await createTenant("attacker");
    await setTenantLimits(attacker, { submit_per_minute: 1_000_000, read_per_minute: 1_000_000 });
    const victimJobs = [
      await submit(victim, { type: "echo", input: { keep: 1 }, delay_seconds: 3600 }),
      await submit(victim, { type: "sleep", input: { seconds: 1 }, delay_seconds: 3600, metadata: { a: 1 } }),
    ];
    const own = await submit(attacker, { type: "echo", delay_seconds: 3600 });
    const before = await Promise.all(victimJobs.map((j) => getJob(victim, j.id)));

    const request = fc.record({
      method: fc.constantFrom(...methods),
      path: pathsFor([...victimJobs.map((j) => j.id), own.id]),
      auth: fc.oneof(
        fc.constant(`Bearer ${attacker.apiKey}`),
        fc.constant(`Bearer ${victim.apiKey.slice(0, -1)}x`),
        fc.constant(ADMIN.authorization),
        fc.constant(undefined),
        headerValues,
      ),
      contentType: fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data",
        ),
        headerValues,
        fc.constant(undefined),
      ),
      extra: fc.dictionary(
        fc.constantFrom("idempotency-key", "if-none-match", "upgrade", "x-forwarded-for"),
        headerValues,
        { maxKeys: 2 },
      ),
      body: jsonBodies,
    });

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = new Headers();
        const set = (name: string, value: string | undefined) => {
          if (value === undefined) return;
          try {
            headers.set(name, value);
          } catch {
            // Not a valid header value: a real client could not send it either.
          }
        };
        set("authorization", r.auth);
        set("content-type", r.contentType);
        for (const [name, value] of Object.entries(r.extra)) set(name, value);
        const withBody = !["GET", "HEAD"].includes(r.method);
        const res = await call(r.path.startsWith("/") ? r.path : `/${r.path}`, {
          method: r.method,
          headers,
          body: withBody ? r.body : undefined,
        });
        await expectContractAnswer(res, r.method);
      }),
      { numRuns: 2000 },
    );

    const after = await Promise.all(victimJobs.map((j) => getJob(victim, j.id)));
    expect(after).toEqual(before);
  }, 120_000);

  it("gives input and metadata back as the same JSON, every key kept (__proto__, constructor…)", async () => {
    const tenant = await createTenant();
    await setTenantLimits(tenant, { submit_per_minute: 1_000_000, read_per_minute: 1_000_000 });
    // JSON text, not JS objects: a key named __proto__ must reach the server as sent.
    const { value } = fc.letrec<{ value: string; object: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
        tie("object"),
        fc.array(tie("value"), { maxLength: 3 }).map((items) => `[${items.join(",")}]`),
      ),
      object: fc
        .uniqueArray(
          fc.tuple(
            fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString"), fc.string()),
            tie("value"),
          ),
          { maxLength: 4, selector: ([key]) => key },
        )
        .map((pairs) => `{${pairs.map(([key, v]) => `${JSON.stringify(key)}:${v}`).join(",")}}`),
    }));
    const object = value.filter((text) => text.startsWith("{"));
    await fc.assert(
      fc.asyncProperty(value, object, async (input, metadata) => {
        fc.pre(new TextEncoder().encode(metadata).byteLength <= 4096);
        const res = await postJson(
          tenant,
          "/v1/jobs",
          `{"type":"echo","delay_seconds":600,"input":${input},"metadata":${metadata}}`,
        );
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as JobView;
        // What the client sent, as JSON writes it: the same keys in the same order, numbers as doubles.
        const same = (text: string) => JSON.stringify(JSON.parse(text));
        // JSON.parse keeps a `__proto__` key as data, so stringifying the answer shows every key.
        const job = JSON.parse(await (await authed(tenant, `/v1/jobs/${id}`)).text()) as JobView;
        expect(JSON.stringify(job.input)).toBe(same(input));
        expect(JSON.stringify(job.metadata)).toBe(same(metadata));
        expect(await (await authed(tenant, `/v1/jobs/${id}/input`)).text()).toBe(same(input));
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  describe("known bad inputs", () => {
    let tenant: TestTenant;
    const send = async (body: BodyInit) => {
      tenant ??= await createTenant();
      return postJson(tenant, "/v1/jobs", body as string);
    };

    it("refuses a JSON nesting bomb", async () => {
      const res = await send(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
      await expectContractAnswer(res.clone(), "POST");
      expect(res.status).toBe(400);
      const nested = JSON.stringify({ type: "echo", input: JSON.parse(`${"[".repeat(200)}1${"]".repeat(200)}`) });
      expect((await send(nested)).status).toBe(400);
    });

    it("refuses a 10 MB body with 413", async () => {
      const res = await send(JSON.stringify({ type: "echo", input: "x".repeat(10 * 1024 * 1024) }));
      expect(res.status).toBe(413);
    });

    it("refuses duplicate keys rather than keep the last, as JSON.parse would", async () => {
      const res = await send('{"type":"sleep","type":"echo","input":1}');
      expect(await errorOf(res)).toMatchObject({ status: 400, code: "validation_failed", details: [{ path: "type" }] });
    });

    it("keeps __proto__ keys as data, never as prototypes", async () => {
      const res = await send('{"type":"echo","input":{"__proto__":{"polluted":true},"a":1}}');
      expect(res.status).toBe(202);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      const top = await send('{"__proto__":{"polluted":true},"type":"echo"}');
      expect(top.status).toBe(400);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it("answers odd methods and paths with the error shape", async () => {
      tenant ??= await createTenant();
      for (const [method, path] of [
        ["PUT", "/v1/jobs"],
        ["DELETE", "/v1/jobs/job_x"],
        ["POST", "/v1/job-types"],
        ["GET", "/v1/jobs/%E0%A4%A"],
      ] as const) {
        await expectContractAnswer(await authed(tenant, path, { method }), method);
      }
    });
  });
});
