import { z } from "zod";
import { jobTypes } from "../../src/job-types";
import { defineJobType, JobError, type JobType, wait } from "../../src/job-types/define";

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
    action: z.enum(["retry_after", "env", "log", "log_then_wait", "log_per_attempt", "bad_level"]),
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
    }
  },
});

/** Adds the probe to the registry (idempotent). */
export function registerProbe(): void {
  (jobTypes as Map<string, JobType>).set(probe.name, probe);
}
