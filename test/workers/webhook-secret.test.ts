import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { authed, createTenant, errorOf, eventually, onEveryDatabase, submit, type TestTenant } from "./helpers";
import { type Received, receivedOn, unique } from "./webhook-helpers";

const rotate = (tenant: TestTenant) => authed(tenant, "/v1/webhook-secret/rotate", { method: "POST" });

async function rotated(tenant: TestTenant): Promise<{ webhook_secret: string; previous_valid_until: string }> {
  const res = await rotate(tenant);
  expect(res.status).toBe(200);
  return res.json();
}

/** Submits a job calling back to a fresh path and returns the request the receiver got. */
async function callback(tenant: TestTenant): Promise<Received> {
  const path = `/ok/${unique()}`;
  await submit(tenant, { type: "echo", callback_url: `${env.RECEIVER_URL}${path}` });
  const [request] = await eventually(
    () => receivedOn(path),
    (r) => r.length > 0,
  );
  return request as Received;
}

/** Whether both official libraries accept the request with this secret. */
function verifies(secret: string, request: Received): boolean {
  try {
    new Webhook(secret).verify(request.body, request.headers);
    new SvixWebhook(secret).verify(request.body, request.headers);
    return true;
  } catch {
    return false;
  }
}

describe("webhook secret rotation", () => {
  it("keeps every rotated-out secret verifying until its own previous_valid_until: three after two rotations", async () => {
    const tenant = await createTenant();
    const s0 = tenant.webhookSecret;
    const first = await rotated(tenant);
    const second = await rotated(tenant);
    // The first answer promised S0 until then; the second one must not take that back.
    expect(Date.parse(first.previous_valid_until)).toBeGreaterThan(Date.now() + 86_000_000);
    const request = await callback(tenant);
    expect(request.headers["webhook-signature"]?.split(" ")).toHaveLength(3);
    for (const secret of [s0, first.webhook_secret, second.webhook_secret])
      expect(verifies(secret, request)).toBe(true);
  });

  it("refuses a rotation that would make a fourth valid secret with 409 rotation_limit, until the oldest lapses", async () => {
    const tenant = await createTenant();
    const s0 = tenant.webhookSecret;
    const s1 = (await rotated(tenant)).webhook_secret;
    const s2 = (await rotated(tenant)).webhook_secret;
    const refused = await rotate(tenant);
    expect(await errorOf(refused)).toMatchObject({ status: 409, code: "rotation_limit" });
    // Nothing changed: the same three secrets sign.
    const stillThree = await callback(tenant);
    for (const secret of [s0, s1, s2]) expect(verifies(secret, stillThree)).toBe(true);
    // Once S0's 24 h are over, a rotation goes through and S0 no longer signs.
    await onEveryDatabase((db) =>
      db
        .prepare("UPDATE tenants SET older_secret_valid_until = ? WHERE id = ?")
        .bind(Date.now() - 1, tenant.tenantId)
        .run(),
    );
    const s3 = (await rotated(tenant)).webhook_secret;
    const later = await callback(tenant);
    expect(later.headers["webhook-signature"]?.split(" ")).toHaveLength(3);
    expect(verifies(s0, later)).toBe(false);
    for (const secret of [s1, s2, s3]) expect(verifies(secret, later)).toBe(true);
  });

  it("lets only two of many concurrent rotations through", async () => {
    const tenant = await createTenant();
    const answers = await Promise.all(Array.from({ length: 6 }, () => rotate(tenant)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 409, 409, 409, 409]);
  });
});
