import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signPayload, webhookHeaders } from "../../src/webhooks/sign";

describe("signing per Standard Webhooks", () => {
  it("reproduces the spec's known-answer vector", async () => {
    // From the Standard Webhooks reference libraries' test suite.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const signature = await signPayload(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("matches what the standardwebhooks package signs", async () => {
    const secret = newWebhookSecret();
    const date = new Date(1_700_000_000_000);
    const expected = new Webhook(secret).sign("evt_1", date, '{"a":1}');
    expect(await signPayload(secret, "evt_1", 1_700_000_000, '{"a":1}')).toBe(expected);
  });

  it("makes secrets of 32 random bytes with the whsec_ prefix", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(secret.slice(6))).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it("produces headers that verify with standardwebhooks and svix, one signature per secret", async () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const body = '{"type":"job.succeeded"}';
    const headers = await webhookHeaders([current, previous], "evt_2", Math.floor(Date.now() / 1000), body);
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [current, previous]) {
      expect(new Webhook(secret).verify(body, headers)).toEqual({ type: "job.succeeded" });
      expect(new SvixWebhook(secret).verify(body, headers)).toEqual({ type: "job.succeeded" });
    }
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });
});
