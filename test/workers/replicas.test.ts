import { applyD1Migrations, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { sweep } from "../../src/jobs/sweep";
import { limits } from "../../src/limits";
import { shardInId } from "../../src/platform/ids";
import { metered, readMeter, resetMeter } from "../../src/platform/metering";
import { databases } from "../../src/store/databases";
import { repairReplicas } from "../../src/tenants/replica-repair";
import { rotateTenantSecret } from "../../src/tenants/webhook-secret";
import { ADMIN, at, BASE, call, createTenant, everyJobQueueAs, onEveryShard, type TestTenant } from "./helpers";

const { control, shards } = databases(env);
const later = () => Date.now() + limits.replicaWriteGraceMs + 1000;

/** A database's copy of the tenant's row and its keys' rows, every column. */
async function copyOf(db: D1Database, tenantId: string) {
  const tenant = await db.prepare("SELECT * FROM tenants WHERE id = ?").bind(tenantId).first();
  const keys = await db.prepare("SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY id").bind(tenantId).all();
  return { tenant, keys: keys.results };
}

async function expectEveryShardLikeControl(tenantId: string, dbs: readonly D1Database[] = shards) {
  const truth = await copyOf(control, tenantId);
  expect(truth.tenant).not.toBeNull();
  for (const db of dbs) expect(await copyOf(db, tenantId)).toEqual(truth);
}

const keyIdOf = async (tenant: TestTenant) =>
  (await control
    .prepare("SELECT id FROM api_keys WHERE tenant_id = ?")
    .bind(tenant.tenantId)
    .first<string>("id")) as string;

/** A submit through `on` (the test's env unless given), without an Idempotency-Key: the hot path, whose key check runs on the job's shard. */
async function submitThrough(tenant: TestTenant, on: Env = env): Promise<Response> {
  const ctx = createExecutionContext();
  const body = JSON.stringify({ type: "echo", input: {}, delay_seconds: 3600 });
  const res = await worker.fetch(
    new Request(`${BASE}/v1/jobs`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tenant.apiKey}`,
        "content-type": "application/json",
        "content-length": String(body.length),
      },
      body,
    }),
    on,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("replica repair", () => {
  it("gives shards missing a tenant and its key both within one sweep, and the key then authenticates a submit there", async () => {
    const tenant = await createTenant();
    expect((await submitThrough(tenant)).status).toBe(202); // this isolate now checks the key on the job's shard
    await onEveryShard(async (db) => {
      await db.prepare("DELETE FROM api_keys WHERE tenant_id = ?").bind(tenant.tenantId).run();
      await db.prepare("DELETE FROM tenants WHERE id = ?").bind(tenant.tenantId).run();
    });
    expect((await submitThrough(tenant)).status).toBe(401);

    await at(Date.now(), () => sweep(env));

    await expectEveryShardLikeControl(tenant.tenantId);
    expect((await submitThrough(tenant)).status).toBe(202);
  });

  it("revokes on every shard a key the control database has revoked but the shards hold live", async () => {
    const tenant = await createTenant();
    expect((await submitThrough(tenant)).status).toBe(202);
    const keyId = await keyIdOf(tenant);
    expect((await call(`/v1/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await onEveryShard((db) =>
      db
        .prepare("UPDATE api_keys SET revoked_at = NULL, replica_digest = 7, replica_updated_at = 0 WHERE id = ?")
        .bind(keyId)
        .run(),
    );
    expect((await submitThrough(tenant)).status).toBe(202);

    await at(Date.now(), () => sweep(env));

    await expectEveryShardLikeControl(tenant.tenantId);
    expect((await submitThrough(tenant)).status).toBe(401);
  });

  it("replaces an old webhook secret a shard still holds with the rotated ones", async () => {
    const tenant = await createTenant();
    const rotated = await rotateTenantSecret(env, tenant.tenantId);
    const stale = shards[3] as D1Database;
    await stale
      .prepare(
        `UPDATE tenants SET webhook_secret = ?, previous_webhook_secret = NULL, previous_secret_valid_until = NULL,
          replica_digest = 7, replica_updated_at = 0 WHERE id = ?`,
      )
      .bind(tenant.webhookSecret, tenant.tenantId)
      .run();

    await at(Date.now(), () => sweep(env));

    await expectEveryShardLikeControl(tenant.tenantId);
    const secrets = await stale
      .prepare("SELECT webhook_secret, previous_webhook_secret FROM tenants WHERE id = ?")
      .bind(tenant.tenantId)
      .first();
    expect(secrets).toEqual({ webhook_secret: rotated.webhook_secret, previous_webhook_secret: tenant.webhookSecret });
  });

  it("never makes a revoked key live again: a revocation the control database missed reaches it instead", async () => {
    const tenant = await createTenant();
    const keyId = await keyIdOf(tenant);
    expect((await call(`/v1/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    // As if the revocation reached every shard and then failed on the control database.
    await control
      .prepare("UPDATE api_keys SET revoked_at = NULL, replica_digest = 7, replica_updated_at = 0 WHERE id = ?")
      .bind(keyId)
      .run();
    const revokedOnShards = async () =>
      (
        await onEveryShard((db) =>
          db.prepare("SELECT revoked_at FROM api_keys WHERE id = ?").bind(keyId).first<number>("revoked_at"),
        )
      ).every((revokedAt) => revokedAt !== null);

    await at(Date.now(), () => sweep(env)); // the revocation is recent: it may still be on its way
    expect(await revokedOnShards()).toBe(true);

    await at(later(), () => sweep(env)); // it failed: the control database takes it…
    await at(later(), () => sweep(env)); // …and every shard its row
    expect(await revokedOnShards()).toBe(true);
    await expectEveryShardLikeControl(tenant.tenantId);
    expect((await call(`/v1/keys/${keyId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
  });

  it("never copies an old secret over a rotation that reaches a shard while the repair runs, and converges after it", async () => {
    const tenant = await createTenant();
    const stale = shards[3] as D1Database;
    await stale
      .prepare("UPDATE tenants SET submit_per_minute = 5, replica_digest = 7, replica_updated_at = 0 WHERE id = ?")
      .bind(tenant.tenantId)
      .run();
    // The repair has read the control database's row; before its copy reaches the shard, a rotation does.
    let rotated = null as { webhook_secret: string } | null;
    const racing = new Proxy(stale, {
      get(target, property) {
        if (property !== "batch") return Reflect.get(target, property, target);
        return async (statements: D1PreparedStatement[]) => {
          rotated ??= await rotateTenantSecret(env, tenant.tenantId);
          return target.batch(statements);
        };
      },
    });

    await repairReplicas({ ...env, SHARD_3: racing } as { DB: D1Database }, Date.now());

    expect(rotated).not.toBeNull();
    const secret = () =>
      stale
        .prepare("SELECT webhook_secret FROM tenants WHERE id = ?")
        .bind(tenant.tenantId)
        .first<string>("webhook_secret");
    expect(await secret()).toBe(rotated?.webhook_secret);
    await at(Date.now(), () => sweep(env));
    expect(await secret()).toBe(rotated?.webhook_secret);

    await at(later(), () => sweep(env));
    await expectEveryShardLikeControl(tenant.tenantId);
  });

  it("fills a shard added at the end (the last one) within one sweep, and a key then authenticates a submit placed on it", async () => {
    await applyD1Migrations(env.SPARE_SHARD, env.TEST_MIGRATIONS);
    // wrangler.toml binds all 32 shards the ids can name, so the deployment grown by its last shard is
    // the test's with that shard bound to an empty database.
    const last = databases(env).shards.length - 1;
    const grown = {
      ...env,
      [`SHARD_${last}`]: env.SPARE_SHARD,
      ...everyJobQueueAs({ send: async () => undefined, sendBatch: async () => undefined }),
    };
    const tenants = [await createTenant(), await createTenant()];
    vi.spyOn(Math, "random").mockReturnValue((last + 0.5) / (last + 1)); // a new job goes to the new shard
    const [tenant] = tenants as [TestTenant];
    expect((await submitThrough(tenant, grown as unknown as Env)).status).toBe(202);
    expect((await submitThrough(tenant, grown as unknown as Env)).status).toBe(401);

    await at(Date.now(), () => sweep(grown as unknown as Env));

    for (const { tenantId } of tenants) await expectEveryShardLikeControl(tenantId, [env.SPARE_SHARD]);
    const res = await submitThrough(tenant, grown as unknown as Env);
    expect(res.status).toBe(202);
    expect(shardInId(((await res.json()) as { id: string }).id)).toBe(last);
  });

  it("lets the rest of the sweep run, and logs the repair's and the schedules' errors, while the control database is down", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const downControl = new Proxy(control, {
      get: (target, property) =>
        property === "prepare" || property === "batch"
          ? () => {
              throw new Error("D1_ERROR: Network connection lost.");
            }
          : Reflect.get(target, property),
    });

    await expect(sweep({ ...env, DB: downControl })).resolves.toEqual({
      jobs: expect.any(Number),
      events: expect.any(Number),
    });

    const logged = errors.mock.calls.map((call) => String(call[0]));
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.stringContaining("replica repair failed"),
        expect.stringContaining("waking overdue schedules failed"),
      ]),
    );
  });

  it("keeps within its statement budget when every shard holds revocations the control database missed, and makes them all", async () => {
    const tenant = await createTenant();
    await at(later(), () => sweep(env));
    // 150 keys (two pages) on every database, then revoked on every shard as if the control database's write failed.
    const ids = Array.from({ length: 150 }, (_, i) => `key_bulk_${String(i).padStart(3, "0")}`);
    const insert = (db: D1Database) =>
      db.batch(
        ids.map((id) =>
          db
            .prepare(
              "INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at, replica_digest) VALUES (?, ?, 'bulk', ?, 1, 5)",
            )
            .bind(id, tenant.tenantId, `hash_${id}`),
        ),
      );
    await Promise.all([control, ...shards].map(insert));
    await onEveryShard((db) =>
      db
        .prepare("UPDATE api_keys SET revoked_at = 123, replica_digest = 7, replica_updated_at = 0 WHERE name = 'bulk'")
        .run(),
    );
    const counted = metered({ ...env, METERING: "true" });
    resetMeter();

    await at(later(), () => repairReplicas(counted, Date.now()));

    const statements = Object.entries(readMeter())
      .filter(([name]) => name.endsWith(":statements"))
      .reduce((sum, [, n]) => sum + n, 0);
    // The budget src/limits.ts counts on: 4 statements a page, a fingerprint and a cursor per database.
    expect(statements).toBeLessThanOrEqual(limits.replicaRepairPages * 4 + 2 * (shards.length + 1));
    const live = async () =>
      (await control
        .prepare("SELECT COUNT(*) AS n FROM api_keys WHERE name = 'bulk' AND revoked_at IS NULL")
        .first<number>("n")) as number;
    expect(await live()).toBe(0);
    expect(await control.prepare("SELECT DISTINCT revoked_at FROM api_keys WHERE name = 'bulk'").all()).toMatchObject({
      results: [{ revoked_at: 123 }],
    });
    for (let i = 0; i < 3; i++) await at(later(), () => sweep(env));
    await expectEveryShardLikeControl(tenant.tenantId);
  });

  it("costs one query per database when no copy differs", async () => {
    await createTenant();
    await at(later(), () => sweep(env));
    await at(later(), () => sweep(env));
    const counted = metered({ ...env, METERING: "true" });
    resetMeter();

    const repaired = await repairReplicas(counted, Date.now());

    expect(repaired).toEqual({ shards: 0, rows: 0, revoked: 0 });
    const trips = Object.entries(readMeter()).filter(([name]) => name.endsWith(":round_trips"));
    expect(Object.fromEntries(trips)).toEqual(
      Object.fromEntries(["DB", ...shards.map((_, k) => `SHARD_${k}`)].map((name) => [`d1:${name}:round_trips`, 1])),
    );
  });
});
