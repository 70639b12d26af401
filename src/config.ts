import { limits } from "./limits";
import { standardSchedule } from "./webhooks/schedule";

/**
 * Every setting the Worker reads from its environment, parsed in one place.
 *
 * A setting is a string variable: a `[vars]` entry of wrangler.toml, a
 * Worker secret, or a binding that `npm run dev`, `npm run bench` or the
 * tests add. Each has a default (what it means unset), bounds, and a scope:
 * - "production": set by whoever deploys;
 * - "development": set only by `npm run dev`, `npm run bench` and the tests;
 *   a deployed Worker keeps the default;
 * - "test": test-only overrides that shorten production's timings so tests
 *   run in seconds; never set where the Worker is deployed.
 *
 * One rule for a bad value (out of bounds, or not of its kind), whatever the
 * setting: it is never guessed at. An error naming the variable (never its
 * value: some are secrets) is logged once per environment, and the setting
 * takes its safe value, the one that loses no data and opens nothing: its
 * default, except for RETENTION_DAYS, where it is to delete no job until the
 * value is fixed (the default of 7 days could delete jobs meant to be kept
 * for 30).
 *
 * The README's settings table is generated from `settings` and checked
 * against it by test/config/settings.test.ts. To add a setting: a field of
 * `Config`, its entry in `settings`, and the README row the test prints.
 */
export interface Config {
  /**
   * How long a finished job (with its R2 objects, webhook events and delivery
   * attempts) is kept after it finishes, in ms (RETENTION_DAYS × 86,400,000).
   * Null while RETENTION_DAYS is invalid: then no job expires.
   */
  readonly retentionMs: number | null;
  /** The bearer token of the admin routes (ADMIN_TOKEN); null keeps them closed (503). */
  readonly adminToken: string | null;
  /** Whether `http://` and loopback callback URLs are allowed (local development only). */
  readonly allowLocalCallbacks: boolean;
  /** Whether billable operations are counted (`npm run bench`; src/platform/metering.ts). */
  readonly metering: boolean;
  /** Test-only: the first retry delay of every job, in seconds; null: each job type's own. */
  readonly retryBaseDelaySeconds: number | null;
  /** The delay before each webhook attempt, first included, in seconds (test-only override). */
  readonly webhookRetryScheduleSeconds: readonly number[];
  /** A callback request's timeout for its status line and headers, in ms (test-only override). */
  readonly webhookTimeoutMs: number;
  /** Callback requests in flight at once to one origin (test-only override). */
  readonly webhookMaxInFlightPerOrigin: number;
  /** How often an open stream re-reads its API key, in ms (test-only override). */
  readonly keyRecheckMs: number;
}

/** How one setting is read: its variable, where it is set, its default and bounds. */
export interface Setting<T> {
  /** The environment variable. */
  readonly variable: string;
  /** Who sets it: whoever deploys, or only `npm run dev`, `npm run bench` and the tests (see above). */
  readonly scope: "production" | "development" | "test";
  /** What the setting does, for the README. */
  readonly does: string;
  /** The values accepted (kind and bounds), for the README and the error a bad value logs. */
  readonly accepts: string;
  /** The variable's text when it is unset; undefined where unset has its own meaning (`read(undefined)`). */
  readonly default: string | undefined;
  /** The value of a text; undefined when the text is out of bounds or not of the setting's kind. */
  readonly read: (text: string | undefined) => T | undefined;
  /** What a bad value gives instead of the default, and what that means (for the README and the log). */
  readonly whenBad?: { readonly value: T; readonly means: string };
}

const DAY_MS = 86_400_000;

/**
 * A decimal number as a person writes one (`7`, `0.5`, `-1`, `1e3`): not
 * "", "1e", "Infinity", nor `Number`'s hexadecimal, octal or binary forms
 * ("0x10" is not 16 days).
 */
const decimal = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** A number, from a text that is one in decimal (`decimal`), within `min`…`max`. */
function numberIn(min: number, max: number, { integer = false, aboveMin = false } = {}) {
  return (text: string | undefined): number | undefined => {
    if (text === undefined || !decimal.test(text)) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max || (aboveMin && value === min)) return undefined;
    return integer && !Number.isInteger(value) ? undefined : value;
  };
}

function flag(text: string | undefined): boolean | undefined {
  return text === "true" ? true : text === "false" ? false : undefined;
}

/** `read`, where an unset variable means null. */
function orNullWhenUnset<T>(read: (text: string) => T | undefined) {
  return (text: string | undefined): T | null | undefined => (text === undefined ? null : read(text));
}

const secondsOfDelay = numberIn(0, limits.retryMaxDelaySeconds);
/** Up to 100 years: longer is forever in practice, and the cut-off it gives stays a finite number of ms. */
const retentionDays = numberIn(0, 36_500, { aboveMin: true });

/** Every setting, by the `Config` field it fills. */
export const settings = {
  retentionMs: {
    variable: "RETENTION_DAYS",
    scope: "production",
    does:
      "Days a finished job, its R2 objects, webhook events and delivery attempts are kept after it finishes " +
      "(longer while its callback is still being retried); within the hour after (or as long again, if shorter), " +
      "a new job of its tenant takes over its row or the sweep deletes it.",
    accepts: "a number of days > 0, at most 36,500, fractions too (0.5 is 12 h)",
    default: String(limits.defaultRetentionDays),
    read: (text) => {
      const days = retentionDays(text);
      return days === undefined ? undefined : days * DAY_MS;
    },
    whenBad: { value: null, means: "no job is deleted until it is fixed" },
  },
  adminToken: {
    variable: "ADMIN_TOKEN",
    scope: "production",
    does: "A Worker secret: the bearer token of the admin routes; unset, they answer 503.",
    accepts: "a non-empty string",
    default: undefined,
    read: orNullWhenUnset((text) => (text === "" ? undefined : text)),
    whenBad: { value: null, means: "the admin routes stay closed" },
  },
  allowLocalCallbacks: {
    variable: "ALLOW_LOCAL_CALLBACKS",
    scope: "development",
    does: "Allows `http://` and loopback callback URLs (`npm run dev` and the tests).",
    accepts: '"true" or "false"',
    default: "false",
    read: flag,
  },
  metering: {
    variable: "METERING",
    scope: "development",
    does: "Counts billable operations for `npm run bench` (`GET /__metrics`).",
    accepts: '"true" or "false"',
    default: "false",
    read: flag,
  },
  retryBaseDelaySeconds: {
    variable: "RETRY_BASE_DELAY_SECONDS",
    scope: "test",
    does: "The first retry delay of every job, in seconds; unset, each job type's own.",
    accepts: `a number of seconds from 0 to ${limits.retryMaxDelaySeconds}`,
    default: undefined,
    read: orNullWhenUnset(secondsOfDelay),
  },
  webhookRetryScheduleSeconds: {
    variable: "WEBHOOK_RETRY_SCHEDULE",
    scope: "test",
    does: "The delay before each webhook attempt, the first included, in seconds (default: Standard Webhooks').",
    accepts: `1 to ${standardSchedule.length} comma-separated numbers of seconds from 0 to ${limits.maxQueueDelaySeconds}`,
    default: standardSchedule.join(","),
    read: (text) => {
      const delays = text?.split(",").map(numberIn(0, limits.maxQueueDelaySeconds));
      if (delays === undefined || delays.length > standardSchedule.length) return undefined;
      return delays.every((delay): delay is number => delay !== undefined) ? delays : undefined;
    },
  },
  webhookTimeoutMs: {
    variable: "WEBHOOK_TIMEOUT_MS",
    scope: "test",
    does: "A callback request's timeout for its status line and headers, in ms.",
    accepts: `a number of ms > 0, at most ${limits.callbackTimeoutMs} (API.md: a 2xx within 15 s)`,
    default: String(limits.callbackTimeoutMs),
    read: numberIn(0, limits.callbackTimeoutMs, { aboveMin: true }),
  },
  webhookMaxInFlightPerOrigin: {
    variable: "WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN",
    scope: "test",
    does: "Callback requests in flight at once to one origin.",
    accepts: `an integer from 1 to ${limits.maxInFlightPerOrigin}`,
    default: String(limits.maxInFlightPerOrigin),
    read: numberIn(1, limits.maxInFlightPerOrigin, { integer: true }),
  },
  keyRecheckMs: {
    variable: "KEY_RECHECK_MS",
    scope: "test",
    does: "How often an open stream (SSE, WebSocket, long poll) re-reads its API key, in ms: the backstop should its key's KeyStreams object, which ends it at once, be unreachable.",
    accepts: `a number of ms > 0, at most ${limits.keyRecheckMs} (API.md: a revoked key's streams end within 60 s)`,
    default: String(limits.keyRecheckMs),
    read: numberIn(0, limits.keyRecheckMs, { aboveMin: true }),
  },
} as const satisfies { readonly [K in keyof Config]: Setting<Config[K]> };

/** The name of a setting's variable. */
export type SettingVariable = (typeof settings)[keyof Config]["variable"];

/** The variables settings are read from, as the Worker's environment holds them (src/env.ts). */
export type SettingVariables = { readonly [V in SettingVariable]?: string };

const parsed = new WeakMap<object, Config>();

/**
 * The settings of `env`, parsed once per environment object (the Worker's
 * `env` lives as long as its isolate) and frozen. A bad value logs one error
 * naming its variable and takes its safe value (see above); nothing throws.
 */
export function parseConfig(env: SettingVariables): Config {
  const known = parsed.get(env);
  if (known) return known;
  const entries = Object.entries(settings).map(([field, setting]) => [
    field,
    readSetting(setting as Setting<unknown>, env[setting.variable]),
  ]);
  const config = Object.freeze(Object.fromEntries(entries)) as Config;
  parsed.set(env, config);
  return config;
}

function readSetting<T>(setting: Setting<T>, text: string | undefined): T {
  const value = setting.read(text ?? setting.default);
  if (value !== undefined) return value;
  const means = setting.whenBad?.means ?? `the default (${setting.default ?? "unset"}) applies`;
  console.error(`${setting.variable} is not ${setting.accepts}; ${means}`);
  if (setting.whenBad) return setting.whenBad.value;
  const fallback = setting.read(setting.default);
  if (fallback === undefined) throw new Error(`${setting.variable}'s default does not read as a valid value`);
  return fallback;
}

/**
 * How long past `retentionMs` an expired job waits for a new job of its
 * tenant to take over its row before the sweep deletes it, in ms:
 * `limits.reuseWindowMs` (1 h), or the retention time when that is shorter,
 * so a short retention (a test's, the bench's) is not stretched by an hour.
 */
export function reuseWindowMs(retentionMs: number): number {
  return Math.min(limits.reuseWindowMs, retentionMs);
}

/**
 * How long an Idempotency-Key is remembered, in ms: 24 h (API.md), or the
 * retention time when that is shorter (`RETENTION_DAYS` below 1), so a key
 * never outlives the jobs a replay answers with.
 */
export function idempotencyWindowMs(retentionMs: Config["retentionMs"]): number {
  return Math.min(limits.idempotencyWindowMs, retentionMs ?? limits.idempotencyWindowMs);
}
