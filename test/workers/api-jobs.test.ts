import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { JobView } from "../../src/jobs/model";
import { purgeExpired } from "../../src/jobs/retention";
import {
  authed,
  BASE,
  createTenant,
  errorOf,
  eventually,
  getJob,
  onEveryShard,
  postJson,
  submit,
  untilStatus,
} from "./helpers";
import { receivedOn } from "./webhook-helpers";

/** Inputs stored in R2, all tenants'. */
async function storedInputs(): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.BLOBS.list({ prefix: "inputs/", ...(cursor ? { cursor } : {}) });
    count += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return count;
}

const countJobs = async (tenantId: string) =>
  (
    await onEveryShard(
      async (db) =>
        (
          await db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>()
        )?.n ?? 0,
    )
  ).reduce((sum, n) => sum + n, 0);

describe("Idempotency-Key", () => {
  it("answers the original job for a repeat and creates nothing", async () => {
    const tenant = await createTenant();
    const body = { type: "echo", input: { n: 1 } };
    const first = await postJson(tenant, "/v1/jobs", body, { "idempotency-key": "order-17" });
    const again = await postJson(tenant, "/v1/jobs", body, { "idempotency-key": "order-17" });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(((await again.json()) as JobView).id).toBe(((await first.json()) as JobView).id);
    expect(await countJobs(tenant.tenantId)).toBe(1);
  });

  it("answers 409 for the same key with a different body", async () => {
    const tenant = await createTenant();
    await postJson(tenant, "/v1/jobs", { type: "echo", input: 1 }, { "idempotency-key": "k" });
    const res = await postJson(tenant, "/v1/jobs", { type: "echo", input: 2 }, { "idempotency-key": "k" });
    expect(await errorOf(res)).toMatchObject({ status: 409, code: "idempotency_conflict" });
  });

  it("creates one job when two requests with the same key race", async () => {
    const tenant = await createTenant();
    // An input bound for R2: each request stores it between its replay check and its insert, so they interleave.
    const body = { type: "echo", input: { race: "r".repeat(70 * 1024) } };
    const inputsBefore = await storedInputs();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postJson(tenant, "/v1/jobs", body, { "idempotency-key": "race" })),
    );
    const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as JobView).id));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(answers.filter((r) => r.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(new Set(ids).size).toBe(1);
    expect(await countJobs(tenant.tenantId)).toBe(1);
    // The losers' inputs, put in R2 before their batch was refused, are gone: one input, the job's.
    expect(await storedInputs()).toBe(inputsBefore + 1);
  });

  it("forgets a key with its jobs when retention is shorter than 24 h, so a replay never finds them gone", async () => {
    const tenant = await createTenant();
    const halfDay = { ...env, RETENTION_DAYS: "0.5" };
    const post = () =>
      worker.fetch(
        new Request(`${BASE}/v1/jobs`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${tenant.apiKey}`,
            "content-type": "application/json",
            "idempotency-key": "short-lived",
          },
          body: JSON.stringify({ type: "echo" }),
        }),
        halfDay,
        {} as ExecutionContext,
      );
    const first = (await (await post()).json()) as JobView;
    await untilStatus(tenant, first.id, "succeeded");
    // 13 h later: past the half day of retention, within the 24 h a key would otherwise be kept.
    await purgeExpired(halfDay, Date.now() + 13 * 3600 * 1000);
    const again = await post();
    expect(again.status).toBe(202);
    expect(((await again.json()) as JobView).id).not.toBe(first.id);
  });

  it("is scoped to the tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const body = { type: "echo" };
    const fromA = (await (await postJson(a, "/v1/jobs", body, { "idempotency-key": "same" })).json()) as JobView;
    const fromB = (await (await postJson(b, "/v1/jobs", body, { "idempotency-key": "same" })).json()) as JobView;
    expect(fromA.id).not.toBe(fromB.id);
  });

  it("is used again after 24 h", async () => {
    const tenant = await createTenant();
    const body = { type: "echo" };
    const first = (await (await postJson(tenant, "/v1/jobs", body, { "idempotency-key": "old" })).json()) as JobView;
    await onEveryShard((db) => db.prepare("UPDATE idempotency_keys SET created_at = created_at - 86400001").run());
    const later = await postJson(tenant, "/v1/jobs", body, { "idempotency-key": "old" });
    expect(later.headers.get("idempotent-replayed")).toBeNull();
    expect(((await later.json()) as JobView).id).not.toBe(first.id);
  });

  it("rejects a key over 255 characters", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/jobs", { type: "echo" }, { "idempotency-key": "k".repeat(256) });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: "validation_failed" });
  });
});

describe("POST /v1/jobs/batch", () => {
  it("creates every job", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/jobs/batch", {
      jobs: [
        { type: "echo", input: 1 },
        { type: "echo", input: 2 },
        { type: "sleep", input: { seconds: 0 } },
      ],
    });
    expect(res.status).toBe(202);
    const { jobs } = (await res.json()) as { jobs: JobView[] };
    // Inputs as sent: the handler, not the view, gets the schema's defaults.
    expect(jobs.map((j) => j.input)).toEqual([1, 2, { seconds: 0 }]);
    for (const job of jobs) await untilStatus(tenant, job.id, "succeeded");
  });

  it("rejects the whole batch when one item is invalid, naming its index", async () => {
    const tenant = await createTenant();
    const res = await postJson(tenant, "/v1/jobs/batch", {
      jobs: [{ type: "echo" }, { type: "sleep", input: { seconds: -1 } }],
    });
    const error = await errorOf(res);
    expect(error).toMatchObject({ status: 400, code: "validation_failed" });
    expect(error.details?.[0]?.path).toBe("jobs.1.input.seconds");
    expect(await countJobs(tenant.tenantId)).toBe(0);
  });

  it("names the index of an unknown type or an unknown field too", async () => {
    const tenant = await createTenant();
    const unknownType = await errorOf(
      await postJson(tenant, "/v1/jobs/batch", { jobs: [{ type: "echo" }, { type: "x" }] }),
    );
    expect(unknownType.details?.[0]?.path).toBe("jobs.1.type");
    const typo = await errorOf(await postJson(tenant, "/v1/jobs/batch", { jobs: [{ type: "echo", inptu: 1 }] }));
    expect(typo.details?.[0]?.path).toBe("jobs.0.inptu");
  });

  it("accepts 100 jobs and rejects 101", async () => {
    const tenant = await createTenant();
    const hundred = await postJson(tenant, "/v1/jobs/batch", {
      jobs: Array.from({ length: 100 }, () => ({ type: "echo" })),
    });
    expect(hundred.status).toBe(202);
    const more = await postJson(tenant, "/v1/jobs/batch", {
      jobs: Array.from({ length: 101 }, () => ({ type: "echo" })),
    });
    expect(await errorOf(more)).toMatchObject({ status: 400, code: "validation_failed" });
    expect(await errorOf(await postJson(tenant, "/v1/jobs/batch", { jobs: [] }))).toMatchObject({ status: 400 });
    expect(await countJobs(tenant.tenantId)).toBe(100);
  });

  it("replays a batch with the same Idempotency-Key", async () => {
    const tenant = await createTenant();
    const body = {
      jobs: [
        { type: "echo", input: "a" },
        { type: "echo", input: "b" },
      ],
    };
    const first = (await (await postJson(tenant, "/v1/jobs/batch", body, { "idempotency-key": "b1" })).json()) as {
      jobs: JobView[];
    };
    const again = await postJson(tenant, "/v1/jobs/batch", body, { "idempotency-key": "b1" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const replayed = (await again.json()) as { jobs: JobView[] };
    expect(replayed.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id));
  });
});

describe("GET /v1/jobs/{id}", () => {
  it("answers 304 for the current ETag and 200 once the job changed", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const first = await authed(tenant, `/v1/jobs/${job.id}`);
    const etag = first.headers.get("etag") as string;
    expect(etag).toBeTruthy();
    const same = await authed(tenant, `/v1/jobs/${job.id}`, { headers: { "if-none-match": etag } });
    expect(same.status).toBe(304);
    await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    const changed = await authed(tenant, `/v1/jobs/${job.id}`, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("long-polls with ?wait= until the job finishes", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "sleep", input: { seconds: 0.5 } });
    const res = await authed(tenant, `/v1/jobs/${job.id}?wait=30`);
    const answeredAt = Date.now();
    const done = (await res.json()) as JobView;
    expect(done.status).toBe("succeeded");
    // Answered on the finish, not at the end of the wait (the job may queue behind earlier tests' jobs).
    expect(answeredAt - Date.parse(done.finished_at as string)).toBeLessThan(1000);
  });

  it("answers a ?wait= that runs out with the job as it is", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const started = Date.now();
    const res = await authed(tenant, `/v1/jobs/${job.id}?wait=1`);
    expect(((await res.json()) as JobView).status).toBe("scheduled");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("rejects a wait outside 1–60 and unknown query parameters", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo" });
    await untilStatus(tenant, job.id, "succeeded"); // a finished job answers a wait at once
    for (const query of ["wait=1", "wait=60"])
      expect((await authed(tenant, `/v1/jobs/${job.id}?${query}`)).status).toBe(200);
    for (const query of ["wait=0", "wait=61", "wait=x", "bogus=1"]) {
      const res = await authed(tenant, `/v1/jobs/${job.id}?${query}`);
      expect(await errorOf(res)).toMatchObject({ status: 400, code: "validation_failed" });
    }
  });

  it("answers 404 for an id that does not exist or is malformed", async () => {
    const tenant = await createTenant();
    for (const id of ["job_01JD7Z3Q1X0000000000000000", "nope", "job_%00"]) {
      expect(await errorOf(await authed(tenant, `/v1/jobs/${id}`))).toMatchObject({ status: 404, code: "not_found" });
    }
  });
});

describe("GET /v1/jobs", () => {
  it("lists newest first, filters, and pages with a cursor", async () => {
    const tenant = await createTenant();
    const made: JobView[] = [];
    for (let i = 0; i < 5; i++) made.push(await submit(tenant, { type: "echo", input: i, delay_seconds: 600 }));
    made.push(await submit(tenant, { type: "sleep", input: { seconds: 0 }, delay_seconds: 600 }));
    const page1 = (await (await authed(tenant, "/v1/jobs?limit=4")).json()) as { jobs: JobView[]; next_cursor: string };
    expect(page1.jobs.map((j) => j.id)).toEqual(
      made
        .slice(2)
        .reverse()
        .map((j) => j.id),
    );
    const page2 = (await (await authed(tenant, `/v1/jobs?limit=4&cursor=${page1.next_cursor}`)).json()) as {
      jobs: JobView[];
      next_cursor: string | null;
    };
    expect(page2.jobs.map((j) => j.id)).toEqual(
      made
        .slice(0, 2)
        .reverse()
        .map((j) => j.id),
    );
    expect(page2.next_cursor).toBeNull();
    const sleeps = (await (await authed(tenant, "/v1/jobs?type=sleep")).json()) as { jobs: JobView[] };
    expect(sleeps.jobs.map((j) => j.id)).toEqual([made[5]?.id]);
    await authed(tenant, `/v1/jobs/${made[0]?.id}/cancel`, { method: "POST" });
    const canceled = (await (await authed(tenant, "/v1/jobs?status=canceled")).json()) as { jobs: JobView[] };
    expect(canceled.jobs.map((j) => j.id)).toEqual([made[0]?.id]);
  });

  it("defaults to 20 per page and rejects bad parameters", async () => {
    const tenant = await createTenant();
    await postJson(tenant, "/v1/jobs/batch", {
      jobs: Array.from({ length: 25 }, () => ({ type: "echo", delay_seconds: 60 })),
    });
    const page = (await (await authed(tenant, "/v1/jobs")).json()) as { jobs: JobView[]; next_cursor: string | null };
    expect(page.jobs).toHaveLength(20);
    expect(page.next_cursor).not.toBeNull();
    // An empty cursor is the first page, as none is (new user: a pager starting with `cursor=$EMPTY` got 400);
    // each list holds something, so an empty page would not pass (console.test.ts: failing deliveries).
    await postJson(tenant, "/v1/schedules", { cron: "0 0 1 1 *", job: { type: "echo" } });
    for (const list of ["/v1/jobs", "/v1/schedules"]) {
      const first = await authed(tenant, `${list}?cursor=`);
      expect(first.status, list).toBe(200);
      const text = await first.text();
      expect(text).toBe(await (await authed(tenant, list)).text());
      expect(text).toMatch(/"id":/);
    }
    for (const [limit, size] of [
      [1, 1],
      [100, 25],
    ]) {
      const bounded = (await (await authed(tenant, `/v1/jobs?limit=${limit}`)).json()) as { jobs: JobView[] };
      expect(bounded.jobs, `limit=${limit}`).toHaveLength(size as number);
    }
    for (const query of ["limit=0", "limit=101", "status=done", "cursor=%%%", "cursor=abc"]) {
      expect(await errorOf(await authed(tenant, `/v1/jobs?${query}`))).toMatchObject({ status: 400 });
    }
  });
});

describe("POST /v1/jobs/{id}/cancel", () => {
  it("cancels a scheduled job at once and answers 409 afterwards", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 600 });
    const res = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const canceled = (await res.json()) as JobView;
    expect(canceled).toMatchObject({ status: "canceled", version: 2 });
    expect(canceled.finished_at).not.toBeNull();
    const again = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(await errorOf(again)).toMatchObject({ status: 409, code: "job_finished" });
  });

  it("answers 409 for a job that succeeded", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo" });
    await untilStatus(tenant, job.id, "succeeded");
    const res = await authed(tenant, `/v1/jobs/${job.id}/cancel`, { method: "POST" });
    expect(await errorOf(res)).toMatchObject({ status: 409, code: "job_finished" });
  });
});

describe("tenant isolation", () => {
  it("answers 404 for another tenant's job on every route, as for an id that never existed", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const job = await submit(owner, {
      type: "echo",
      input: "secret",
      callback_url: `${env.RECEIVER_URL}/ok/isolation`,
    });
    await untilStatus(owner, job.id, "succeeded");
    const { events } = (await (await authed(owner, `/v1/jobs/${job.id}/deliveries`)).json()) as {
      events: { id: string }[];
    };
    const [event] = events as [{ id: string }];
    for (const [path, method] of [
      [`/v1/jobs/${job.id}`, "GET"],
      [`/v1/jobs/${job.id}?wait=1`, "GET"],
      [`/v1/jobs/${job.id}/result`, "GET"],
      [`/v1/jobs/${job.id}/input`, "GET"],
      [`/v1/jobs/${job.id}/cancel`, "POST"],
      [`/v1/jobs/${job.id}/events`, "GET"],
      [`/v1/jobs/${job.id}/deliveries`, "GET"],
      [`/v1/jobs/${job.id}/deliveries/${event.id}/redeliver`, "POST"],
      [`/v1/jobs/${job.id}/logs`, "GET"],
    ] as const) {
      const res = await authed(other, path, { method });
      expect(await errorOf(res)).toMatchObject({ status: 404, code: "not_found" });
    }
    const listed = (await (await authed(other, "/v1/jobs")).json()) as { jobs: JobView[] };
    expect(listed.jobs).toEqual([]);
    expect((await getJob(owner, job.id)).status).toBe("succeeded");
  });
});

describe("inputs as stored (sizes count the JSON as stored, not the request's bytes)", () => {
  /** `n` × `9e20` as the client writes it: 5 bytes each that JSON stores as 22 (`900000000000000000000,`). */
  const compactNumbers = (n: number) => `[${Array(n).fill("9e20").join(",")}]`;

  it("refuses a ~1 MB request whose input is 4.4 MB as stored with 413 (200,000 × 9e20)", async () => {
    const tenant = await createTenant();
    const body = `{"type":"echo","input":${compactNumbers(200_000)}}`;
    expect(body.length).toBeLessThan(1024 * 1024);
    const error = await errorOf(await postJson(tenant, "/v1/jobs", body));
    expect(error).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(error.details?.map((d) => d.path)).toEqual(["input"]);
    expect(await countJobs(tenant.tenantId)).toBe(0);
  });

  it("refuses a batch whose inputs together outgrow 1 MiB as stored", async () => {
    const tenant = await createTenant();
    const item = `{"type":"echo","input":${compactNumbers(30_000)}}`;
    const error = await errorOf(await postJson(tenant, "/v1/jobs/batch", `{"jobs":[${item},${item}]}`));
    expect(error).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(await countJobs(tenant.tenantId)).toBe(0);
  });

  it("shows an input over 64 KiB as stored as null in every view and event, and serves it at input_url", async () => {
    const tenant = await createTenant();
    // 150 KB on the wire, 660 KB as stored: over the inline limit only once re-serialised.
    const hook = `/hooks/large-input/${crypto.randomUUID()}`;
    const body = `{"type":"echo","input":${compactNumbers(30_000)},"callback_url":"${env.RECEIVER_URL}${hook}"}`;
    expect(body.length).toBeLessThan(64 * 1024 * 3);
    const res = await postJson(tenant, "/v1/jobs", body);
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ input: null, input_url: `/v1/jobs/${job.id}/input` });
    const done = await untilStatus(tenant, job.id, "succeeded");
    expect(done).toMatchObject({ input: null, result: null, result_url: `/v1/jobs/${job.id}/result` });
    const listed = (await (await authed(tenant, "/v1/jobs")).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((j) => j.input)).toEqual([null]);
    const [callback] = await eventually(
      () => receivedOn(hook),
      (received) => received.length > 0,
    );
    expect(callback?.body.length).toBeLessThan(4096);
    expect(JSON.parse(callback?.body as string).data).toMatchObject({ input: null, input_url: job.input_url });
    const stored = await authed(tenant, job.input_url);
    expect(stored.headers.get("content-type")).toContain("application/json");
    expect(await stored.text()).toBe(JSON.stringify(Array(30_000).fill(9e20)));
  });

  it("serves a 1 MiB input from R2 and a small one from D1 at input_url, exactly as sent", async () => {
    const tenant = await createTenant();
    const large = { blob: "y".repeat(1024 * 1024 - 100) };
    const big = await submit(tenant, { type: "echo", input: large, delay_seconds: 600 });
    expect(big.input).toBeNull();
    expect(await (await authed(tenant, big.input_url)).text()).toBe(JSON.stringify(large));
    const small = await submit(tenant, { type: "echo", input: { a: [1, "b", null] }, delay_seconds: 600 });
    expect(small).toMatchObject({ input: { a: [1, "b", null] }, input_url: `/v1/jobs/${small.id}/input` });
    expect(await (await authed(tenant, small.input_url)).text()).toBe('{"a":[1,"b",null]}');
    const none = await submit(tenant, { type: "echo", delay_seconds: 600 });
    expect(await (await authed(tenant, none.input_url)).text()).toBe("null");
  });
});
