import { describe, expect, it } from "vitest";
import { jobTypeExample } from "../../src/contract/examples";
import { jobTypes } from "../../src/job-types";
import type { JobType } from "../../src/job-types/define";
import type { JobView } from "../../src/jobs/model";
import { authed, call, createTenant, errorOf, getJob, postJson, submit, type TestTenant, untilStatus } from "./helpers";

describe("submitting a job", () => {
  it("answers 202 with the job and its Location", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/jobs", { type: "echo", input: { a: 1 }, metadata: { order: "A-17" } });
    expect(res.status).toBe(202);
    const job = (await res.json()) as { id: string; status: string; version: number; metadata: unknown };
    expect(job.id).toMatch(/^job_[0-9A-Z]{26}$/);
    expect(res.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ status: "queued", version: 1, metadata: { order: "A-17" } });
  });

  it("uses the job type's defaults and the request's overrides, showing the input as sent", async () => {
    const tenant = await createTenant();
    const defaults = await submit(tenant, { type: "sleep", input: { seconds: 0 } });
    expect(defaults).toMatchObject({ max_attempts: 1, timeout_seconds: 840, input: { seconds: 0 } });
    // The handler gets the input as its schema parses it, defaults filled.
    expect((await untilStatus(tenant, defaults.id, "succeeded")).result).toEqual({ slept_seconds: 0, steps: 1 });
    const custom = await submit(tenant, { type: "echo", max_attempts: 5, timeout_seconds: 10, delay_seconds: 60 });
    expect(custom).toMatchObject({ max_attempts: 5, timeout_seconds: 10, status: "scheduled" });
    expect(Date.parse(custom.run_at) - Date.parse(custom.created_at)).toBe(60_000);
  });

  const invalid: [string, unknown, number, string, string?][] = [
    ["malformed JSON", "{not json", 400, "invalid_json"],
    ["an unknown field", { type: "echo", bogus: 1 }, 400, "validation_failed", "bogus"],
    ["no type", { input: {} }, 400, "validation_failed", "type"],
    ["an unknown type", { type: "nope" }, 400, "unknown_job_type", "type"],
    ["input the type rejects", { type: "sleep", input: { seconds: "x" } }, 400, "validation_failed", "input.seconds"],
    ["a sleep over 900 s", { type: "sleep", input: { seconds: 901 } }, 400, "validation_failed", "input.seconds"],
    ["delay over 30 days", { type: "echo", delay_seconds: 30 * 86400 + 1 }, 400, "validation_failed", "delay_seconds"],
    ["a negative delay", { type: "echo", delay_seconds: -1 }, 400, "validation_failed", "delay_seconds"],
    ["max_attempts 0", { type: "echo", max_attempts: 0 }, 400, "validation_failed", "max_attempts"],
    ["timeout over 14 min", { type: "echo", timeout_seconds: 841 }, 400, "validation_failed", "timeout_seconds"],
    [
      "an unknown event",
      { type: "echo", callback_events: ["job.done"] },
      400,
      "validation_failed",
      "callback_events.0",
    ],
    ["metadata over 4 KiB", { type: "echo", metadata: { x: "a".repeat(4100) } }, 400, "validation_failed", "metadata"],
    ["metadata not an object", { type: "echo", metadata: [1] }, 400, "validation_failed", "metadata"],
    [
      "an ftp callback",
      { type: "echo", callback_url: "ftp://example.com/" },
      400,
      "invalid_callback_url",
      "callback_url",
    ],
    ["a private callback", { type: "echo", callback_url: "https://10.0.0.1/" }, 400, "invalid_callback_url"],
    [
      "a metadata-service callback",
      { type: "echo", callback_url: "https://169.254.169.254/" },
      400,
      "invalid_callback_url",
    ],
    [
      "credentials in the callback",
      { type: "echo", callback_url: "https://u:p@example.com/" },
      400,
      "invalid_callback_url",
    ],
    ["a body that is not an object", [1, 2], 400, "validation_failed"],
  ];

  for (const [what, body, status, code, path] of invalid) {
    it(`rejects ${what} with ${status} ${code}`, async () => {
      const tenant = await createTenant();
      const error = await errorOf(await postJson(tenant, "/v1/jobs", body));
      expect(error).toMatchObject({ status, code });
      if (path) expect(error.details?.map((d) => d.path)).toContain(path);
    });
  }

  it("rejects a non-JSON content type with 415", async () => {
    const tenant = await createTenant();
    const res = await authed(tenant, "/v1/jobs", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(await errorOf(res)).toMatchObject({ status: 415, code: "unsupported_media_type" });
  });

  it("rejects a body over 1 MiB with 413, with or without Content-Length", async () => {
    const tenant = await createTenant();
    const big = JSON.stringify({ type: "echo", input: "x".repeat(1024 * 1024) });
    expect(await errorOf(await postJson(tenant, "/v1/jobs", big))).toMatchObject({
      status: 413,
      code: "payload_too_large",
    });
    const stream = new Blob([big]).stream();
    const chunked = await authed(tenant, "/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      // @ts-expect-error: workerd needs this for a streamed request body
      duplex: "half",
    });
    expect(await errorOf(chunked)).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("rejects invalid UTF-8 as invalid_json", async () => {
    const tenant = await createTenant();
    const bytes = new Uint8Array([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]);
    const res = await authed(tenant, "/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bytes,
    });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: "invalid_json" });
  });
});

describe("nothing a client sends is silently changed or dropped", () => {
  /** The job's JSON text as GET answers it, and the same for the list and `GET …/input`. */
  const readBack = async (tenant: TestTenant, id: string) => ({
    job: await (await authed(tenant, `/v1/jobs/${id}`)).text(),
    list: await (await authed(tenant, "/v1/jobs")).text(),
    input: await (await authed(tenant, `/v1/jobs/${id}/input`)).text(),
  });

  it("keeps __proto__ and constructor keys in input and metadata, at every level", async () => {
    const tenant = await createTenant();
    const input =
      '{"__proto__":{"x":1},"keep":1,"deep":[{"__proto__":{"constructor":2}},{"constructor":{"prototype":3}}]}';
    const metadata = '{"__proto__":"a","constructor":{"__proto__":{"b":1}}}';
    const res = await postJson(tenant, "/v1/jobs", `{"type":"echo","input":${input},"metadata":${metadata}}`);
    expect(res.status).toBe(202);
    const answered = await res.text();
    const back = await readBack(tenant, JSON.parse(answered).id);
    for (const text of [answered, back.job, back.list]) {
      expect(text).toContain(`"input":${input}`);
      expect(text).toContain(`"metadata":${metadata}`);
    }
    expect(back.input).toBe(input);
    // echo returns its input: the handler sees every key too.
    const { id } = JSON.parse(answered) as JobView;
    await untilStatus(tenant, id, "succeeded");
    expect(await (await authed(tenant, `/v1/jobs/${id}/result`)).text()).toBe(input);
  });

  it("keeps __proto__ keys in every job of a batch", async () => {
    const tenant = await createTenant();
    const input = '{"__proto__":{"x":1}}';
    const res = await postJson(
      tenant,
      "/v1/jobs/batch",
      `{"jobs":[{"type":"echo","input":${input},"metadata":${input}}]}`,
    );
    expect(res.status).toBe(202);
    const answered = await res.text();
    expect(answered).toContain(`"input":${input}`);
    expect(answered).toContain(`"metadata":${input}`);
  });

  // Before (breaker, 2026-12-01) each was stored as U+FFFD: the 202 showed one callback URL and GET another.
  it("refuses a lone surrogate in a field kept as text, and keeps one in input and metadata", async () => {
    const tenant = await createTenant();
    const lone = "\\ud800"; // the JSON escape, sent as text: no lone surrogate in this test's own strings
    const admin = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
    const refused = [
      [
        await postJson(tenant, "/v1/jobs", `{"type":"echo","callback_url":"https://example.com/a${lone}b"}`),
        "callback_url",
      ],
      [
        await postJson(
          tenant,
          "/v1/jobs/batch",
          `{"jobs":[{"type":"echo"}],"on_complete":{"callback_url":"https://x.example/${lone}"}}`,
        ),
        "on_complete.callback_url",
      ],
      [await postJson(tenant, "/v1/schedules", `{"cron":"0 0 1 1 *","job":{"type":"echo"},"name":"a${lone}"}`), "name"],
      [await call("/v1/keys", { method: "POST", headers: admin, body: `{"name":"k${lone}"}` }), "name"],
    ] as const;
    for (const [res, path] of refused) {
      expect(await errorOf(res)).toMatchObject({
        status: 400,
        code: "validation_failed",
        details: [expect.objectContaining({ path })],
      });
    }
    const listed = async (path: string) => (await (await authed(tenant, path)).json()) as Record<string, unknown[]>;
    expect((await listed("/v1/jobs")).jobs).toEqual([]);
    expect((await listed("/v1/schedules")).schedules).toEqual([]);
    // A pair is no lone surrogate: an emoji in a name is kept.
    const named = await postJson(
      tenant,
      "/v1/schedules",
      '{"cron":"0 0 1 1 *","job":{"type":"echo"},"name":"a\\ud83d\\ude42"}',
    );
    expect(((await named.json()) as { name: string }).name).toBe("a🙂");
    // input and metadata are kept as JSON text, escapes included: the same value comes back.
    const res = await postJson(tenant, "/v1/jobs", `{"type":"echo","input":"a${lone}","metadata":{"m":"${lone}"}}`);
    expect(res.status).toBe(202);
    const back = await readBack(tenant, ((await res.json()) as JobView).id);
    expect(back.input).toBe(`"a${lone}"`);
    expect(back.job).toContain(`"metadata":{"m":"${lone}"}`);
  });

  const changedNumbers: [string, string, string][] = [
    ["1e309 (Infinity) as the input", '{"type":"echo","input":1e309}', "input"],
    ["-1e309 deep in the input", '{"type":"echo","input":{"a":[1,{"b":-1e309}]}}', "input.a.1.b"],
    ["1e309 in metadata", '{"type":"echo","metadata":{"m":1E400}}', "metadata.m"],
    ["1e309 in a batch item", '{"jobs":[{"type":"echo"},{"type":"echo","input":{"x":1e309}}]}', "jobs.1.input.x"],
    ["1e309 where the schema wants an integer", '{"type":"echo","max_attempts":1e309}', "max_attempts"],
    ["an integer beyond 2^53 that JSON.parse rounds", '{"type":"echo","input":{"id":9007199254740993}}', "input.id"],
    ["the same integer spelt with a fraction", '{"type":"echo","metadata":{"id":9007199254740993.0}}', "metadata.id"],
    ["a number too small for a double, read as 0", '{"type":"echo","input":{"x":[1e-400]}}', "input.x.0"],
    ["a negative one", '{"type":"echo","input":[-123456789012345678901234567890]}', "input.0"],
    ["a rounded integer in metadata", '{"type":"echo","metadata":{"n":18446744073709551615}}', "metadata.n"],
  ];
  for (const [what, body, path] of changedNumbers) {
    it(`refuses ${what} with 400 validation_failed naming ${path}`, async () => {
      const tenant = await createTenant();
      const url = body.startsWith('{"jobs"') ? "/v1/jobs/batch" : "/v1/jobs";
      const error = await errorOf(await postJson(tenant, url, body));
      expect(error).toMatchObject({ status: 400, code: "validation_failed" });
      expect(error.details?.map((d) => d.path)).toEqual([path]);
    });
  }

  const repeatedNames: [string, string, string, string][] = [
    ["in input", "/v1/jobs", '{"type":"echo","input":{"a":1,"a":2}}', "input.a"],
    ["in metadata", "/v1/jobs", '{"type":"echo","metadata":{"m":"x","n":1,"m":"y"}}', "metadata.m"],
    ["at the top level", "/v1/jobs", '{"type":"echo","type":"sleep"}', "type"],
    ["nested deep", "/v1/jobs", '{"type":"echo","input":{"a":[0,{"b":{"c":{"d":1,"d":{}}}}]}}', "input.a.1.b.c.d"],
    [
      "in a batch item",
      "/v1/jobs/batch",
      '{"jobs":[{"type":"echo"},{"type":"echo","input":{"x":1,"x":1}}]}',
      "jobs.1.input.x",
    ],
    ["written with an escape (\\u0061 is a)", "/v1/jobs", '{"type":"echo","input":{"a":1,"\\u0061":2}}', "input.a"],
    ["named __proto__", "/v1/jobs", '{"type":"echo","input":{"__proto__":1,"__proto__":{"x":1}}}', "input.__proto__"],
    ["with spaces around the colon", "/v1/jobs", '{ "type" : "echo" , "input" : { "a" : 1 , "a" : 2 } }', "input.a"],
  ];
  for (const [where, url, body, path] of repeatedNames) {
    it(`refuses a repeated name ${where} with 400 validation_failed naming ${path}`, async () => {
      const tenant = await createTenant();
      const error = await errorOf(await postJson(tenant, url, body));
      expect(error).toMatchObject({ status: 400, code: "validation_failed" });
      expect(error.details?.map((d) => d.path)).toEqual([path]);
    });
  }

  it("refuses a repeated name on the admin routes' bodies as well", async () => {
    const tenant = await createTenant();
    const res = await call("/v1/keys", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: `{"name":"second","tenant_id":"${tenant.tenantId}","tenant_id":"t_other"}`,
    });
    const error = await errorOf(res);
    expect(error).toMatchObject({ status: 400, code: "validation_failed" });
    expect(error.details?.map((d) => d.path)).toEqual(["tenant_id"]);
  });

  it("accepts the same name in different objects, and names that only look like repeats", async () => {
    const tenant = await createTenant();
    const input = '{"a":{"a":1},"b":[{"a":1},{"a":2}],"A":1,"a ":2,"\\"a":3,"s":"a\\":"}';
    const res = await postJson(tenant, "/v1/jobs", `{"type":"echo","input":${input},"metadata":{"a":1}}`);
    expect(res.status).toBe(202);
    expect(await (await authed(tenant, `/v1/jobs/${((await res.json()) as JobView).id}/input`)).text()).toBe(input);
  });

  it("accepts numbers a double holds exactly, however they are written", async () => {
    const tenant = await createTenant();
    const body =
      '{"type":"echo","input":[9007199254740992,-9007199254740992,9e20,1e308,1.5e-300,0.1,"12345678901234567890"]}';
    const res = await postJson(tenant, "/v1/jobs", body);
    expect(res.status).toBe(202);
    expect(((await res.json()) as JobView).input).toEqual([
      9007199254740992,
      -9007199254740992,
      9e20,
      1e308,
      1.5e-300,
      0.1,
      "12345678901234567890",
    ]);
  });

  it("keeps numbers as their values, not their spelling: -0 comes back as 0", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/jobs", '{"type":"echo","input":[-0,1.0,1E2,-0.0]}');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as JobView;
    expect(await (await authed(tenant, `/v1/jobs/${id}/input`)).text()).toBe("[0,1,100,0]");
  });

  const refused: [string, unknown, string, string][] = [
    [
      "callback_events without a callback_url",
      { type: "echo", callback_events: ["job.succeeded"] },
      "validation_failed",
      "callback_events",
    ],
    [
      "callback_events with a null callback_url",
      { type: "echo", callback_url: null, callback_events: ["job.failed"] },
      "validation_failed",
      "callback_events",
    ],
    [
      "a repeated event name",
      { type: "echo", callback_url: "https://client.example/h", callback_events: ["job.failed", "job.failed"] },
      "validation_failed",
      "callback_events",
    ],
    [
      "a callback_url with surrounding spaces",
      { type: "echo", callback_url: " https://client.example/h " },
      "invalid_callback_url",
      "callback_url",
    ],
    [
      "a callback_url with a trailing newline",
      { type: "echo", callback_url: "https://client.example/h\n" },
      "invalid_callback_url",
      "callback_url",
    ],
  ];
  for (const [what, body, code, path] of refused) {
    it(`refuses ${what} with 400 ${code}`, async () => {
      const tenant = await createTenant();
      const error = await errorOf(await postJson(tenant, "/v1/jobs", body));
      expect(error).toMatchObject({ status: 400, code });
      expect(error.details?.map((d) => d.path)).toContain(path);
    });
  }

  it("refuses a charset other than UTF-8 with 415 and accepts UTF-8 however it is spelled", async () => {
    const tenant = await createTenant();
    const send = (contentType: string, body: BodyInit = '{"type":"echo"}') =>
      authed(tenant, "/v1/jobs", { method: "POST", headers: { "content-type": contentType }, body });
    for (const contentType of [
      "application/json; charset=utf-16",
      "application/json;charset=UTF-16LE",
      "application/json; charset=latin1",
      "application/json; charset=iso-8859-1",
      'application/json; charset="us-ascii"',
      "application/json; charset=",
      "application/json; charset=utf-8; charset=latin1", // every charset named counts (breaker: the first only)
    ]) {
      expect(await errorOf(await send(contentType)), contentType).toMatchObject({
        status: 415,
        code: "unsupported_media_type",
      });
    }
    const utf16 = new Uint8Array([...'{"type":"echo"}'].flatMap((ch) => [ch.charCodeAt(0), 0]));
    expect((await send("application/json; charset=utf-16le", utf16)).status).toBe(415);
    for (const contentType of [
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=UTF-8",
      "application/json;charset=utf8",
      'application/json; charset="utf-8"',
    ]) {
      expect((await send(contentType)).status, contentType).toBe(202);
    }
  });

  it("keeps the callback_url and events exactly as sent", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, {
      type: "echo",
      delay_seconds: 600,
      callback_url: "https://Client.Example/h?q=a%20b",
      callback_events: ["job.progress", "job.failed"],
    });
    expect(await getJob(tenant, job.id)).toMatchObject({
      callback_url: "https://Client.Example/h?q=a%20b",
      callback_events: ["job.progress", "job.failed"],
    });
  });
});

describe("actions that take no fields: cancel, retry, redeliver, rotate, delete, revoke", () => {
  it("take no body or {}, and refuse anything else rather than drop it unread", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", input: "old", delay_seconds: 600 });
    const send = (path: string, body: string, type = "application/json") =>
      authed(tenant, `/v1/jobs/${job.id}/${path}`, { method: "POST", headers: { "content-type": type }, body });
    expect(await errorOf(await send("cancel", "[1]"))).toMatchObject({ status: 400, code: "validation_failed" });
    expect((await getJob(tenant, job.id)).status).toBe("scheduled");
    expect((await send("cancel", "{}")).status).toBe(200);
    expect(await errorOf(await send("retry", '{"input":"new","delay_seconds":60}'))).toMatchObject({
      status: 400,
      code: "validation_failed",
      details: [expect.objectContaining({ path: "input" }), expect.objectContaining({ path: "delay_seconds" })],
    });
    expect(await errorOf(await send("retry", "input=new", "text/plain"))).toMatchObject({ status: 415 });
    expect(await errorOf(await send("retry", "{"))).toMatchObject({ status: 400, code: "invalid_json" });
    expect(await errorOf(await send("deliveries/evt_x/redeliver", '{"now":true}'))).toMatchObject({
      status: 400,
      details: [expect.objectContaining({ path: "now" })],
    });
    const retried = await authed(tenant, `/v1/jobs/${job.id}/retry`, { method: "POST" });
    expect(retried.status).toBe(202);
    expect(((await retried.json()) as JobView).input).toBe("old");
  });

  // Before (breaker, 2026-12-01) these three acted on any body: a misspelt option rotated the secret for good.
  it("include rotating the webhook secret, deleting a schedule and revoking a key, which refuse a body and do nothing", async () => {
    const tenant = await createTenant();
    const schedule = (await (
      await postJson(tenant, "/v1/schedules", { cron: "0 0 1 1 *", job: { type: "echo" } })
    ).json()) as { id: string };
    const admin = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
    const key = (await (
      await call("/v1/keys", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "kept", tenant_id: tenant.tenantId }),
      })
    ).json()) as { id: string; api_key: string };
    const refusals = [
      await postJson(tenant, "/v1/webhook-secret/rotate", { expire_previous_now: true }),
      await authed(tenant, "/v1/webhook-secret/rotate", { method: "POST", body: "{}" }), // text/plain
      await authed(tenant, `/v1/schedules/${schedule.id}`, {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: '{"keep_jobs":false}',
      }),
      await call(`/v1/keys/${key.id}`, { method: "DELETE", headers: admin, body: '{"reason":"leaked"}' }),
    ];
    // Not JSON's whitespace (breaker: String.trim took these for an empty body, and the schedule was deleted).
    for (const body of ["\u00a0", "\u2028"]) {
      const res = await authed(tenant, `/v1/schedules/${schedule.id}`, { method: "DELETE", body });
      refusals.push(res);
    }
    expect(await Promise.all(refusals.map(async (res) => (await errorOf(res)).status))).toEqual([
      400, 415, 400, 400, 415, 415,
    ]);
    // Nothing happened: the secret still signs, the schedule and the key still work.
    expect((await authed(tenant, `/v1/schedules/${schedule.id}`)).status).toBe(200);
    expect((await call("/v1/jobs", { headers: { authorization: `Bearer ${key.api_key}` } })).status).toBe(200);
    // Three secrets at most (the current and two rotated out): both rotations are still there to make.
    const rotate = () => authed(tenant, "/v1/webhook-secret/rotate", { method: "POST" });
    expect([(await rotate()).status, (await rotate()).status, (await rotate()).status]).toEqual([200, 200, 409]);
    expect((await call(`/v1/keys/${key.id}`, { method: "DELETE", headers: admin, body: "{}" })).status).toBe(200);
    expect((await authed(tenant, `/v1/schedules/${schedule.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("query parameters", () => {
  // Before (breaker, 2026-12-01) most routes ignored them: POST /v1/jobs?delay_seconds=60 ran the job at once.
  it("are refused on every route that takes none, as an unknown field is, and nothing happens", async () => {
    const tenant = await createTenant();
    const admin = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const idOf = async (res: Response) => (await res.json()) as { id?: string; batch_id?: string };
    const batch = await idOf(
      await postJson(tenant, "/v1/jobs/batch", { jobs: [{ type: "echo", delay_seconds: 600 }] }),
    );
    const schedule = await idOf(await postJson(tenant, "/v1/schedules", { cron: "0 0 1 1 *", job: { type: "echo" } }));
    const key = await idOf(
      await call("/v1/keys", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "q", tenant_id: tenant.tenantId }),
      }),
    );
    const ids: Record<string, string> = {
      "/v1/jobs/{id}": job.id,
      "/v1/jobs/{job_id}": job.id,
      "/v1/batches/{id}": batch.batch_id as string,
      "/v1/schedules/{id}": schedule.id as string,
      "/v1/keys/{id}": key.id as string,
      "/v1/tenants/{id}": tenant.tenantId,
    };
    const concrete = (path: string) =>
      Object.entries(ids)
        .reduce((p, [pattern, id]) => p.replace(pattern, pattern.replace(/\{\w+\}/, id)), path)
        .replace("{event_id}", "evt_x")
        .replace("{id}", "evt_x");
    const { paths } = (await (await call("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { in: string }[] }>>;
    };
    const answers: Record<string, number> = {};
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.parameters?.some((parameter) => parameter.in === "query")) continue; // has its own, strict
        const adminRoute = path.startsWith("/v1/keys") || path.startsWith("/v1/tenants");
        const headers = adminRoute
          ? admin
          : { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
        const res = await call(`${concrete(path)}?delay_seconds=60`, {
          method: method.toUpperCase(),
          headers,
          body: method === "get" ? undefined : "{}",
        });
        answers[`${method} ${path}`] = res.status;
        if (res.status === 400) {
          expect((await errorOf(res)).details).toEqual(
            expect.arrayContaining([expect.objectContaining({ path: "query.delay_seconds" })]),
          );
        }
      }
    }
    expect(Object.keys(answers).length).toBeGreaterThan(15);
    expect(Object.entries(answers).filter(([, status]) => status !== 400)).toEqual([]);
    // Nothing happened: no job was created or canceled, the schedule and the key stand.
    expect((await authed(tenant, `/v1/jobs/${job.id}`)).status).toBe(200);
    expect((await getJob(tenant, job.id)).status).toBe("scheduled");
    expect(((await (await authed(tenant, "/v1/jobs")).json()) as { jobs: unknown[] }).jobs).toHaveLength(2);
    expect((await authed(tenant, `/v1/schedules/${schedule.id}`)).status).toBe(200);
  });
});

describe("a query parameter given twice", () => {
  // Before (new user, 2026-12-01) the schema described the pair as a type: "expected number, received NaN".
  it("is refused saying so, naming it", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    for (const [path, name] of [
      [`/v1/jobs/${job.id}?wait=1&wait=2`, "wait"],
      ["/v1/jobs?status=failed&status=succeeded", "status"],
      ["/v1/schedules?limit=1&limit=1", "limit"],
    ]) {
      const res = await authed(tenant, path as string);
      const body = (await res.json()) as { error: { details: { path: string; message: string }[] } };
      expect(res.status, path).toBe(400);
      expect(body.error.details).toEqual([{ path: `query.${name}`, message: "Given more than once: send it once." }]);
    }
  });
});

describe("authentication", () => {
  it("answers 401 without a key or with an unknown one", async () => {
    expect(await errorOf(await call("/v1/jobs"))).toMatchObject({ status: 401, code: "unauthorized" });
    const bad = await call("/v1/jobs", { headers: { authorization: "Bearer ejk_nope" } });
    expect(await errorOf(bad)).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("keeps admin routes behind the admin token", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/keys", { name: "x" });
    expect(await errorOf(res)).toMatchObject({ status: 401 });
  });

  it("adds a key to an existing tenant, which then shares its jobs and secret", async () => {
    const tenant = await createTenant();
    const res = await call("/v1/keys", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ name: "second", tenant_id: tenant.tenantId }),
    });
    expect(res.status).toBe(201);
    const second = (await res.json()) as { api_key: string; webhook_secret: string; tenant_id: string };
    expect(second.tenant_id).toBe(tenant.tenantId);
    expect(second.webhook_secret).toBe(tenant.webhookSecret);
    const job = await submit(tenant, { type: "echo" });
    const seen = await call(`/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${second.api_key}` } });
    expect(seen.status).toBe(200);
  });

  it("creates keys whose plain value is never stored", async () => {
    const tenant = await createTenant();
    const { env } = await import("cloudflare:workers");
    const rows = await env.DB.prepare("SELECT * FROM api_keys").all();
    expect(JSON.stringify(rows.results)).not.toContain(tenant.apiKey);
  });
});

describe("service routes", () => {
  it("answers /healthz", async () => {
    const res = await call("/healthz");
    expect(await res.json()).toEqual({ ok: true });
  });

  it("lists job types with defaults and JSON Schema", async () => {
    const tenant = await createTenant();
    const res = await authed(tenant, "/v1/job-types");
    const { job_types } = (await res.json()) as {
      job_types: { name: string; defaults: Record<string, number>; input_schema: { type?: string } }[];
    };
    // The built-ins, whatever else is registered: adding a type edits no test.
    expect(job_types.map((t) => t.name)).toEqual(expect.arrayContaining(["echo", "sleep", "fail"]));
    const sleep = job_types.find((t) => t.name === "sleep");
    expect(sleep?.input_schema.type).toBe("object");
    const { defaults } = jobTypes.get("sleep") as JobType;
    expect(sleep?.defaults).toEqual({
      max_attempts: defaults.maxAttempts,
      timeout_seconds: defaults.timeoutSeconds,
      retry_base_delay_seconds: defaults.retryBaseDelaySeconds,
    });
    // The OpenAPI document's example (shown at /docs) is this very entry, not one the registry would refuse.
    expect(sleep).toMatchObject(jobTypeExample);
  });

  it("answers unknown routes with the error shape", async () => {
    expect(await errorOf(await call("/nope"))).toMatchObject({ status: 404, code: "not_found" });
  });
});
