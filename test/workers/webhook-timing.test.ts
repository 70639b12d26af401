import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTenant, eventually, type TestTenant } from "./helpers";
import { type Deliveries, deliveriesOf, deliverMessages, receivedOn, storedEvent, unique } from "./webhook-helpers";

/** The first attempt's log row of the stored event's job, with its end and next attempt as Unix ms. */
async function firstAttempt(tenant: TestTenant, jobId: string) {
  const log: Deliveries = await deliveriesOf(tenant, jobId);
  const row = log.deliveries[0];
  if (!row) throw new Error(`no attempt logged for ${jobId}`);
  const attemptedAt = Date.parse(row.attempted_at);
  return {
    ...row,
    attemptedAt,
    endedAt: attemptedAt + row.duration_ms,
    nextAttemptAt: row.next_attempt_at === null ? null : Date.parse(row.next_attempt_at),
  };
}

// The test env's schedule is 0, 1, 1, 1 s and its timeout 1.5 s (vitest.config.ts).
describe("callback attempt timing (each attempt on its own clock)", () => {
  it("times a failed attempt's retry from its own end, not from a slow request's in the same batch", async () => {
    const tenant = await createTenant();
    const slowPath = `/slow/1400/${unique()}`;
    const flakyPath = `/flaky/1/${unique()}`;
    const slow = await storedEvent(tenant, `${env.RECEIVER_URL}${slowPath}`);
    const flaky = await storedEvent(tenant, `${env.RECEIVER_URL}${flakyPath}`);
    await deliverMessages([
      { event_id: slow.eventId, job_id: slow.jobId, attempt: 1, origin: env.RECEIVER_URL },
      { event_id: flaky.eventId, job_id: flaky.jobId, attempt: 1, origin: env.RECEIVER_URL },
    ]);
    const first = await firstAttempt(tenant, flaky.jobId);
    expect(first.http_status).toBe(500);
    // One scheduled second after the flaky attempt, not after the slow one's 1.4 s.
    expect((first.nextAttemptAt ?? 0) - first.attemptedAt).toBeGreaterThanOrEqual(900);
    expect((first.nextAttemptAt ?? 0) - first.attemptedAt).toBeLessThan(1400);
    // And the retry really comes then: its message was queued when the attempt ended.
    const [request1, request2] = await eventually(
      () => receivedOn(flakyPath),
      (r) => r.length >= 2,
    );
    const gap = (request2?.receivedAt ?? 0) - (request1?.receivedAt ?? 0);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(2000);
  });

  it("caps a 503's Retry-After and reads a Retry-After date from the attempt's own end", async () => {
    const tenant = await createTenant();
    const slow = await storedEvent(tenant, `${env.RECEIVER_URL}/slow/4000/${unique()}`);
    const capped = await storedEvent(tenant, `${env.RECEIVER_URL}/unavailable/3600/${unique()}`);
    const dated = await storedEvent(tenant, `${env.RECEIVER_URL}/retry-at/7/${unique()}`);
    // A 5 s second slot, as in production, and a timeout the slow receiver stays within.
    await deliverMessages(
      [slow, capped, dated].map((e) => ({
        event_id: e.eventId,
        job_id: e.jobId,
        attempt: 1,
        origin: env.RECEIVER_URL,
      })),
      { WEBHOOK_RETRY_SCHEDULE: "0,5", WEBHOOK_TIMEOUT_MS: "6000" },
    );
    const cappedAttempt = await firstAttempt(tenant, capped.jobId);
    expect(cappedAttempt.http_status).toBe(503);
    // Asked 3600 s; twice the scheduled 5 s is 10 s, counted from this attempt's end.
    expect((cappedAttempt.nextAttemptAt ?? 0) - cappedAttempt.endedAt).toBeGreaterThanOrEqual(9900);
    expect((cappedAttempt.nextAttemptAt ?? 0) - cappedAttempt.endedAt).toBeLessThanOrEqual(10_100);
    const datedAttempt = await firstAttempt(tenant, dated.jobId);
    expect(datedAttempt.http_status).toBe(503);
    // The date was 6–7 s ahead (whole seconds) when the attempt ended: honoured, beyond the schedule's 4–6 s.
    expect((datedAttempt.nextAttemptAt ?? 0) - datedAttempt.endedAt).toBeGreaterThanOrEqual(5900);
    expect((datedAttempt.nextAttemptAt ?? 0) - datedAttempt.endedAt).toBeLessThanOrEqual(7100);
  });

  it("counts a 2xx whose body trickles in as delivered, reading the body within its own bound", async () => {
    const tenant = await createTenant();
    const path = `/trickle/5000/${unique()}`;
    const { eventId, jobId } = await storedEvent(tenant, `${env.RECEIVER_URL}${path}`);
    const started = Date.now();
    await deliverMessages([{ event_id: eventId, job_id: jobId, attempt: 1, origin: env.RECEIVER_URL }]);
    expect(Date.now() - started).toBeLessThan(3500);
    const log = await deliveriesOf(tenant, jobId);
    expect(log.events).toMatchObject([{ id: eventId, status: "delivered", next_attempt_at: null }]);
    expect(log.deliveries).toMatchObject([{ attempt: 1, http_status: 200, error: null, response_body: "received" }]);
    // Past when a retry would have come (1 s): still the one request.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await receivedOn(path)).toHaveLength(1);
  });
});
