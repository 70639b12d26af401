import { afterEach, describe, expect, it, vi } from "vitest";
import { type Config, parseConfig, type SettingVariables, settings } from "../../src/config";
import { limits } from "../../src/limits";
import { standardSchedule } from "../../src/webhooks/schedule";

const DAY = 86_400_000;

const quietErrors = () => vi.spyOn(console, "error").mockImplementation(() => undefined);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("parseConfig", () => {
  it("gives production's values when nothing is set", () => {
    const errors = quietErrors();
    expect(parseConfig({})).toEqual({
      retentionMs: limits.defaultRetentionDays * DAY,
      adminToken: null,
      allowLocalCallbacks: false,
      metering: false,
      retryBaseDelaySeconds: null,
      webhookRetryScheduleSeconds: standardSchedule,
      webhookTimeoutMs: limits.callbackTimeoutMs,
      webhookMaxInFlightPerOrigin: limits.maxInFlightPerOrigin,
      keyRecheckMs: limits.keyRecheckMs,
    } satisfies Config);
    expect(limits.defaultRetentionDays).toBeGreaterThanOrEqual(7);
    expect(errors).not.toHaveBeenCalled();
  });

  it("reads every setting within its bounds", () => {
    const errors = quietErrors();
    expect(
      parseConfig({
        RETENTION_DAYS: "0.5",
        ADMIN_TOKEN: "s3cret",
        ALLOW_LOCAL_CALLBACKS: "true",
        METERING: "true",
        RETRY_BASE_DELAY_SECONDS: "0",
        WEBHOOK_RETRY_SCHEDULE: "0,1,1,1",
        WEBHOOK_TIMEOUT_MS: "1500",
        WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN: "4",
        KEY_RECHECK_MS: "200",
      }),
    ).toEqual({
      retentionMs: DAY / 2,
      adminToken: "s3cret",
      allowLocalCallbacks: true,
      metering: true,
      retryBaseDelaySeconds: 0,
      webhookRetryScheduleSeconds: [0, 1, 1, 1],
      webhookTimeoutMs: 1500,
      webhookMaxInFlightPerOrigin: 4,
      keyRecheckMs: 200,
    } satisfies Config);
    expect(parseConfig({ RETENTION_DAYS: "36500" }).retentionMs).toBe(36_500 * DAY);
    expect(parseConfig({ WEBHOOK_TIMEOUT_MS: String(limits.callbackTimeoutMs) }).webhookTimeoutMs).toBe(15_000);
    expect(errors).not.toHaveBeenCalled();
  });

  // Each bad value: out of bounds, not of the setting's kind, or empty.
  const bad: Record<SettingName, string[]> = {
    RETENTION_DAYS: ["0", "-1", "", " ", "thirty", "7 days", "NaN", "Infinity", "36501", "0x10", "0b11", "0o7", "1e"],
    ADMIN_TOKEN: [""],
    ALLOW_LOCAL_CALLBACKS: ["yes", "TRUE", "1", ""],
    METERING: ["on", ""],
    RETRY_BASE_DELAY_SECONDS: ["-1", "soon", "", String(limits.retryMaxDelaySeconds + 1)],
    WEBHOOK_RETRY_SCHEDULE: ["", "0,,5", "0,5,x", "-1", "0,1,1,1,1,1,1,1,1", String(limits.maxQueueDelaySeconds + 1)],
    WEBHOOK_TIMEOUT_MS: ["0", "-5", "soon", "16000"],
    WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN: ["0", "2.5", "129", "many"],
    KEY_RECHECK_MS: ["0", "soon", "30001", "0x100"],
  };
  type SettingName = keyof SettingVariables;

  it("takes the safe value for every bad value, logging one error that names the variable but not the value", () => {
    const defaults = parseConfig({});
    for (const [variable, values] of Object.entries(bad)) {
      // The default everywhere, except that a bad RETENTION_DAYS deletes nothing.
      const safe = variable === "RETENTION_DAYS" ? { ...defaults, retentionMs: null } : defaults;
      for (const value of values) {
        const errors = quietErrors();
        const config = parseConfig({ [variable]: value });
        expect(config, `${variable}=${JSON.stringify(value)}`).toEqual(safe);
        expect(errors).toHaveBeenCalledTimes(1);
        const logged = errors.mock.calls.flat().map(String).join(" ");
        expect(logged).toContain(variable);
        if (value.length > 1) expect(logged).not.toContain(value);
        vi.restoreAllMocks();
      }
    }
  });

  it("deletes nothing while RETENTION_DAYS is bad, rather than fall back to a shorter default", () => {
    quietErrors();
    expect(parseConfig({ RETENTION_DAYS: "90 days" }).retentionMs).toBeNull();
  });

  it("parses an environment once, and freezes what it gives", () => {
    const errors = quietErrors();
    const env = { RETENTION_DAYS: "soon" };
    const config = parseConfig(env);
    expect(parseConfig(env)).toBe(config);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(Object.isFrozen(config)).toBe(true);
    expect(parseConfig({ RETENTION_DAYS: "soon" })).not.toBe(config);
  });

  it("reads every default as a valid value, and states every setting's bounds", () => {
    for (const setting of Object.values(settings)) {
      expect(setting.read(setting.default), setting.variable).not.toBeUndefined();
      expect(setting.accepts, setting.variable).not.toBe("");
      expect(setting.does, setting.variable).not.toBe("");
    }
  });
});
