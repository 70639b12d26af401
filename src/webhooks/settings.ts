import type { Env } from "../env";
import { limits } from "../limits";
import { standardSchedule } from "./schedule";

export interface WebhookSettings {
  schedule: readonly number[];
  timeoutMs: number;
  maxInFlightPerOrigin: number;
  allowLocal: boolean;
}

/**
 * Production uses the Standard Webhooks schedule, a 15 s timeout and 32
 * requests in flight per origin. Tests shorten them through
 * WEBHOOK_RETRY_SCHEDULE (seconds, comma-separated), WEBHOOK_TIMEOUT_MS and
 * WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN; the schedule's arithmetic is tested on the real one.
 */
export function webhookSettings(env: Env): WebhookSettings {
  const schedule = env.WEBHOOK_RETRY_SCHEDULE?.split(",").map(Number);
  return {
    schedule: schedule?.every(Number.isFinite) ? schedule : standardSchedule,
    timeoutMs: positiveOr(env.WEBHOOK_TIMEOUT_MS, limits.callbackTimeoutMs),
    maxInFlightPerOrigin: positiveOr(env.WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN, limits.maxInFlightPerOrigin),
    allowLocal: env.ALLOW_LOCAL_CALLBACKS === "true",
  };
}

function positiveOr(setting: string | undefined, fallback: number): number {
  const value = Number(setting);
  return setting !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
