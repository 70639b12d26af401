import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { purgeExpired } from "../../src/jobs/retention";
import { authed, createTenant, eventually, postJson, submit, untilStatus } from "./helpers";

const DAY = 86_400_000;
const age = (table: string, column: string, where: string, id: string, byMs: number) =>
  env.DB.prepare(`UPDATE ${table} SET ${column} = ${column} - ? WHERE ${where} = ?`).bind(byMs, id).run();

describe("retention", () => {
  it("deletes finished jobs after the retention period, with their R2 objects and delivery logs", async () => {
    const tenant = await createTenant();
    const old = await submit(tenant, {
      type: "echo",
      input: { big: "o".repeat(70 * 1024) },
      callback_url: `${env.RECEIVER_URL}/ok/${crypto.randomUUID()}`,
    });
    const recent = await submit(tenant, { type: "echo", input: "recent" });
    const waiting = await submit(tenant, { type: "echo", delay_seconds: 3600 });
    await untilStatus(tenant, old.id, "succeeded");
    await untilStatus(tenant, recent.id, "succeeded");
    await eventually(
      () =>
        env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?")
          .bind(old.id)
          .first<{ n: number }>(),
      (r) => (r?.n ?? 0) > 0,
    );
    expect((await env.BLOBS.list({ prefix: "inputs/" })).objects.map((o) => o.key)).toContain(`inputs/${old.id}.json`);
    await age("jobs", "finished_at", "id", old.id, 31 * DAY);
    await age("jobs", "created_at", "id", waiting.id, 60 * DAY);

    await worker.scheduled(createScheduledController(), env);

    expect((await authed(tenant, `/v1/jobs/${old.id}`)).status).toBe(404);
    expect((await authed(tenant, `/v1/jobs/${recent.id}`)).status).toBe(200);
    expect((await authed(tenant, `/v1/jobs/${waiting.id}`)).status).toBe(200);
    expect((await env.BLOBS.list({ prefix: `inputs/${old.id}` })).objects).toEqual([]);
    expect((await env.BLOBS.list({ prefix: `results/${old.id}/` })).objects).toEqual([]);
    for (const table of ["webhook_events", "webhook_deliveries"]) {
      const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE job_id = ?`)
        .bind(old.id)
        .first<{ n: number }>();
      expect(row?.n, table).toBe(0);
    }
  });

  it("follows a configured period, and forgets idempotency keys after their 24 h", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo" });
    await untilStatus(tenant, job.id, "succeeded");
    await postJson(tenant, "/v1/jobs", { type: "echo", delay_seconds: 60 }, { "idempotency-key": "old-key" });
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = created_at - ? WHERE tenant_id = ?")
      .bind(DAY + 1, tenant.tenantId)
      .run();
    await new Promise((r) => setTimeout(r, 20));
    const purged = await purgeExpired(env, Date.now(), 10);
    expect(purged.jobs).toBeGreaterThanOrEqual(1);
    expect(purged.keys).toBeGreaterThanOrEqual(1);
    expect((await authed(tenant, `/v1/jobs/${job.id}`)).status).toBe(404);
    const keys = await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(keys?.n).toBe(0);
  });
});
