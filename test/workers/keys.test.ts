import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { ADMIN, authed, call, createTenant, errorOf, onEveryShard, submit } from "./helpers";

describe("key management (admin)", () => {
  it("lists keys without ever showing a key or its hash", async () => {
    const tenant = await createTenant("listed");
    const res = await call(`/v1/keys?tenant_id=${tenant.tenantId}`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const body = await res.text();
    const { keys } = JSON.parse(body) as { keys: { name: string; tenant_id: string; revoked_at: string | null }[] };
    expect(keys).toMatchObject([{ name: "listed", tenant_id: tenant.tenantId, revoked_at: null }]);
    expect(body).not.toContain(tenant.apiKey);
    expect(body).not.toContain("key_hash");
    const row = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .first<{ key_hash: string }>();
    expect(body).not.toContain(row?.key_hash);
    // What is stored is the key's SHA-256, nothing reversible.
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tenant.apiKey)));
    expect(row?.key_hash).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  });

  it("revokes a key, which answers 401 from the next request on", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 60 });
    const { keys } = (await (await call(`/v1/keys?tenant_id=${tenant.tenantId}`, { headers: ADMIN })).json()) as {
      keys: { id: string }[];
    };
    const revoked = await call(`/v1/keys/${keys[0]?.id}`, { method: "DELETE", headers: ADMIN });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
    expect(await errorOf(await authed(tenant, `/v1/jobs/${job.id}`))).toMatchObject({
      status: 401,
      code: "unauthorized",
    });
    expect(await errorOf(await call("/v1/keys/key_nope", { method: "DELETE", headers: ADMIN }))).toMatchObject({
      status: 404,
    });
  });

  it("answers 401 at once on the paths that check a remembered key in their own batch, and writes nothing", async () => {
    const tenant = await createTenant();
    const job = await submit(tenant, { type: "echo", delay_seconds: 60 });
    expect((await authed(tenant, `/v1/jobs/${job.id}`)).status).toBe(200); // this isolate now knows the key
    const { keys } = (await (await call(`/v1/keys?tenant_id=${tenant.tenantId}`, { headers: ADMIN })).json()) as {
      keys: { id: string }[];
    };
    expect((await call(`/v1/keys/${keys[0]?.id}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const post = (body: unknown) =>
      authed(tenant, "/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const res of [
      await authed(tenant, `/v1/jobs/${job.id}`),
      await authed(tenant, `/v1/jobs/${job.id}?wait=5`),
      await authed(tenant, "/v1/jobs/not-a-job-id"),
      await post({ type: "echo", input: "after revocation" }),
      await post({ type: "no-such-type" }),
    ]) {
      expect(await errorOf(res)).toMatchObject({ status: 401, code: "unauthorized" });
    }
    const stored = await onEveryShard((db) =>
      db.prepare("SELECT id FROM jobs WHERE tenant_id = ?").bind(tenant.tenantId).all(),
    );
    expect(stored.flatMap((r) => r.results)).toHaveLength(1);
  });

  it("answers 401 to a wrong admin token and 503 while ADMIN_TOKEN is unset", async () => {
    expect(
      await errorOf(await call("/v1/keys", { headers: { authorization: "Bearer test-admin-tokeN" } })),
    ).toMatchObject({
      status: 401,
    });
    expect(await errorOf(await call("/v1/keys"))).toMatchObject({ status: 401 });
    const unset = await app.fetch(new Request("http://edgejobs.test/v1/keys", { headers: ADMIN }), {
      ...env,
      ADMIN_TOKEN: undefined,
    });
    expect(await errorOf(unset)).toMatchObject({ status: 503, code: "admin_disabled" });
    const empty = await app.fetch(
      new Request("http://edgejobs.test/v1/keys", { headers: { authorization: "Bearer " } }),
      {
        ...env,
        ADMIN_TOKEN: "",
      },
    );
    expect(await errorOf(empty)).toMatchObject({ status: 503 });
  });

  it("does not let an API key do admin work", async () => {
    const tenant = await createTenant();
    expect(await errorOf(await authed(tenant, "/v1/keys"))).toMatchObject({ status: 401 });
    const patch = await authed(tenant, `/v1/tenants/${tenant.tenantId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max_running_jobs: 1000 }),
    });
    expect(await errorOf(patch)).toMatchObject({ status: 401 });
  });
});
