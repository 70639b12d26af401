import { z } from "zod";
import { jobTypes } from "../../src/job-types";
import { defineJobType, JobError, type JobType, type Json, NonRetryableError, wait } from "../../src/job-types/define";

const oddValues = [
  "function",
  "symbol",
  "bigint",
  "cycle",
  "to_json_undefined",
  "null_prototype",
  "numeric_message",
  "throwing_message",
  "revoked_proxy",
  "undefined",
  "final_unreadable_message",
  "infinite_retry_after",
] as const;

/** A value a handler may return or throw that JSON cannot encode, or that cannot be read as text. */
function oddValue(odd: (typeof oddValues)[number]): unknown {
  switch (odd) {
    case "function":
      return () => 1;
    case "symbol":
      return Symbol("odd");
    case "bigint":
      return { n: 1n };
    case "cycle": {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      return cycle;
    }
    case "to_json_undefined":
      return { toJSON: () => undefined };
    case "null_prototype":
      return Object.create(null); // no toString: String() throws
    case "numeric_message":
      return Object.assign(new Error("x"), { message: 404 }); // as some libraries put a status there
    case "throwing_message":
      return unreadableMessage(new Error("x"));
    case "revoked_proxy": {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke(); // even `instanceof` throws on it
      return proxy;
    }
    case "undefined":
      return undefined;
    case "final_unreadable_message": // what can be read still counts: not retried, its code kept
      return unreadableMessage(new NonRetryableError("x", { code: "gone" }));
    case "infinite_retry_after":
      return new JobError("later", { code: "later", retryAfterSeconds: Number.POSITIVE_INFINITY });
  }
}

/** `error` with a `message` whose reading throws (a value that cannot be read either). */
function unreadableMessage(error: Error): Error {
  return Object.defineProperty(error, "message", {
    get() {
      throw Object.create(null);
    },
  });
}

/**
 * A job type only the tests register, for what the built-ins cannot show: a
 * handler's own retry delay, its use of `ctx.env`, and logs of every size.
 * The test isolate shares the Worker's modules, so adding it to the registry
 * makes the API accept it and the consumer run it.
 */
export const probe = defineJobType({
  name: "test_probe",
  description: "Test-only: does what `action` says.",
  input: z.strictObject({
    action: z.enum(["retry_after", "env", "log", "log_then_wait", "log_per_attempt", "bad_level", "return", "throw"]),
    /** For `return` and `throw`: which of the values JavaScript allows but JSON or `String()` cannot take. */
    odd: z.enum(oddValues).default("function"),
    lines: z.int().min(0).default(0),
    /** Each line is `attempt:line:` and `fill` repeated this many times. */
    repeat: z.int().min(1).default(10),
    fill: z.string().default("x"),
    wait_ms: z.int().min(0).default(0),
  }),
  defaults: { maxAttempts: 2, timeoutSeconds: 60 },
  run: async ({ input, attempt, jobId, env, log, signal }) => {
    const logLines = () => {
      for (let i = 1; i <= input.lines; i++)
        log(`${attempt}:${i}:${input.fill.repeat(input.repeat)}`, { level: "warn" });
    };
    switch (input.action) {
      case "retry_after":
        if (attempt === 1) throw new JobError("upstream busy", { code: "upstream_busy", retryAfterSeconds: 4 });
        return { attempt };
      case "env":
        // Typed as the Worker's bindings: a put to its bucket, found by the test.
        await env.BLOBS.put(`probe/${jobId}`, "written through ctx.env");
        return null;
      case "log":
        logLines();
        return null;
      case "log_then_wait":
        logLines();
        await wait(input.wait_ms, signal);
        return null;
      case "log_per_attempt":
        logLines();
        if (attempt === 1) throw new Error("again");
        return null;
      case "bad_level":
        log("x", { level: "debug" as "info" });
        return null;
      case "return":
        return oddValue(input.odd) as Json;
      case "throw":
        throw oddValue(input.odd);
    }
  },
});

/** Adds the probe to the registry (idempotent). */
export function registerProbe(): void {
  (jobTypes as Map<string, JobType>).set(probe.name, probe);
}
