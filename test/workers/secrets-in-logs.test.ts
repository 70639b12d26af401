import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listJobDeliveries } from "../../src/store/webhook-events";
import { ADMIN, authed, call, createTenant, dbOf, eventually, postJson, submit } from "./helpers";

// The Worker runs in this isolate, so everything it logs passes through these spies.
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

describe("logs", () => {
  it("never contain an API key, a webhook secret, the admin token or a signature", async () => {
    const tenant = await createTenant();
    const rotated = (await (await authed(tenant, "/v1/webhook-secret/rotate", { method: "POST" })).json()) as {
      webhook_secret: string;
    };
    // Paths that log: failing callbacks, a failed handler, bad requests, bad credentials.
    const failing = await submit(tenant, {
      type: "fail",
      input: { fail_attempts: 9, message: "boom" },
      max_attempts: 1,
      callback_url: `${env.RECEIVER_URL}/status/500/${crypto.randomUUID()}`,
    });
    await postJson(tenant, "/v1/jobs", "{bad json");
    await call("/v1/jobs", { headers: { authorization: `Bearer ${tenant.apiKey}x` } });
    await call("/v1/keys", { headers: { authorization: "Bearer not-the-admin-token" } });
    await call("/v1/keys", { headers: ADMIN });
    const seen = await eventually(
      async () => (await listJobDeliveries(dbOf(failing.id), failing.id)).length,
      (n) => n >= 2,
    );
    expect(seen).toBeGreaterThanOrEqual(2);
    const secrets = [
      tenant.apiKey,
      tenant.webhookSecret,
      tenant.webhookSecret.slice("whsec_".length),
      rotated.webhook_secret.slice("whsec_".length),
      "test-admin-token",
      "v1,",
    ];
    const all = logged.join("\n");
    // The paths above did log: the failed callback attempts (requests are logged by Workers Logs itself).
    expect(all).toContain("callback attempt failed");
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
