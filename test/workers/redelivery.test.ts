import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CallbackMessage } from "../../src/env";
import { standardSchedule } from "../../src/webhooks/schedule";
import { authed, createTenant, dbOf, errorOf, eventually, setTenantLimits, type TestTenant } from "./helpers";
import { deliveriesOf, deliverMessages, receivedOn, storedEvent, unique } from "./webhook-helpers";

const redeliver = (tenant: TestTenant, jobId: string, eventId: string) =>
  authed(tenant, `/v1/jobs/${jobId}/deliveries/${eventId}/redeliver`, { method: "POST" });

describe("manual redelivery", () => {
  it("has one redelivery of an event in flight at a time: of 20 concurrent requests one is queued, the rest 409", async () => {
    const tenant = await createTenant();
    const path = `/slow/500/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    const answers = await Promise.all(Array.from({ length: 20 }, () => redeliver(tenant, jobId, eventId)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(await errorOf(answers.find((r) => r.status === 409) as Response)).toMatchObject({
      code: "redelivery_in_progress",
    });
    await eventually(
      () => deliveriesOf(tenant, jobId),
      (d) => d.deliveries.length > 0,
    );
    expect(await receivedOn(path)).toHaveLength(1);
    // Its attempt is recorded: the event is free for the next one.
    expect((await redeliver(tenant, jobId, eventId)).status).toBe(202);
    await eventually(
      () => receivedOn(path),
      (r) => r.length === 2,
    );
  });

  it("neither uses nor restarts the retry schedule: the next scheduled attempt waits its own slot", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/status/500/${unique()}`);
    // The real schedule; the test plays the queue's part for scheduled attempts and keeps each retry's delay.
    const retries: MessageSendRequest<CallbackMessage>[] = [];
    const settings = {
      WEBHOOK_RETRY_SCHEDULE: undefined,
      CALLBACKS: { sendBatch: async (m: MessageSendRequest<CallbackMessage>[]) => void retries.push(...m) },
    } as unknown as Partial<typeof env>;
    await deliverMessages([{ event_id: eventId, job_id: jobId, attempt: 1, origin: env.RECEIVER_URL }], settings);
    // A manual attempt between the first scheduled one and its retry (through the real queue).
    expect((await redeliver(tenant, jobId, eventId)).status).toBe(202);
    await eventually(
      () => deliveriesOf(tenant, jobId),
      (d) => d.deliveries.length === 2,
    );
    const second = retries.shift() as MessageSendRequest<CallbackMessage>;
    expect(second.body.attempt).toBe(2);
    await deliverMessages([second.body], settings);
    // The third scheduled attempt waits the schedule's third slot (5 min), not the fourth (30 min).
    const third = retries.shift() as MessageSendRequest<CallbackMessage>;
    expect(third.body.attempt).toBe(3);
    const slot = standardSchedule[2] as number;
    expect(third.delaySeconds).toBeGreaterThanOrEqual(Math.floor(slot * 0.8) - 1);
    expect(third.delaySeconds).toBeLessThanOrEqual(Math.ceil(slot * 1.2));
    // The log numbers every attempt; the event's attempts count them all, manual ones too.
    const log = await deliveriesOf(tenant, jobId);
    expect(log.deliveries.map((d) => [d.attempt, d.trigger])).toEqual([
      [1, "scheduled"],
      [2, "manual"],
      [3, "scheduled"],
    ]);
    expect(log.events).toMatchObject([{ id: eventId, status: "pending", attempts: 3 }]);
  });

  it("frees an event whose redelivery was lost once its lease is over", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    const lease = (until: number) =>
      dbOf(eventId).prepare("UPDATE webhook_events SET redelivery_until = ? WHERE id = ?").bind(until, eventId).run();
    // As if a redelivery had been queued and its message lost.
    await lease(Date.now() + 60_000);
    expect(await errorOf(await redeliver(tenant, jobId, eventId))).toMatchObject({
      status: 409,
      code: "redelivery_in_progress",
    });
    await lease(Date.now() - 1);
    expect((await redeliver(tenant, jobId, eventId)).status).toBe(202);
  });

  it("answers 404 for an event of another job", async () => {
    const tenant = await createTenant();
    const { eventId } = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    const other = await storedEvent(tenant, `${env.RECEIVER_URL}/ok/${unique()}`);
    expect(await errorOf(await redeliver(tenant, other.jobId, eventId))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("counts each redelivery request against the key's write rate limit", async () => {
    const tenant = await createTenant();
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}/slow/1000/${unique()}`);
    await setTenantLimits(tenant, { submit_per_minute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await redeliver(tenant, jobId, eventId)).status);
    // One queued, then 409s while it is in flight, until the write budget is spent.
    expect(statuses[0]).toBe(202);
    expect(statuses.at(-1)).toBe(429);
    const limited = await redeliver(tenant, jobId, eventId);
    expect(await errorOf(limited)).toMatchObject({ status: 429, code: "rate_limited" });
  });
});
