import type { Env } from "../env";
import { limits } from "../limits";
import { standardSchedule } from "./schedule";

export interface WebhookSettings {
  schedule: readonly number[];
  timeoutMs: number;
  allowLocal: boolean;
}

/**
 * Production uses the Standard Webhooks schedule and a 15 s timeout. Tests
 * shorten both through WEBHOOK_RETRY_SCHEDULE (seconds, comma-separated) and
 * WEBHOOK_TIMEOUT_MS; the schedule's arithmetic is tested on the real one.
 */
export function webhookSettings(env: Env): WebhookSettings {
  const schedule = env.WEBHOOK_RETRY_SCHEDULE?.split(",").map(Number);
  const timeoutMs = Number(env.WEBHOOK_TIMEOUT_MS);
  return {
    schedule: schedule?.every(Number.isFinite) ? schedule : standardSchedule,
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : limits.callbackTimeoutMs,
    allowLocal: env.ALLOW_LOCAL_CALLBACKS === "true",
  };
}
