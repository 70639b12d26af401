import { describe, expect, it } from "vitest";
import { z } from "zod";
import { jobTypes } from "../../src/job-types";
import { checkRegistry, defineJobType, handlerErrorCode, type JobType } from "../../src/job-types/define";
import { limits } from "../../src/limits";

const typed = (name: string, defaults: Parameters<typeof defineJobType>[0]["defaults"] = {}): JobType =>
  defineJobType({ name, description: "test", input: z.null(), defaults, run: async () => null });

describe("checking job-type definitions when the registry is built", () => {
  it("builds the registered types, each by its name", () => {
    // The built-ins at least: adding a job type needs no test edit.
    expect([...jobTypes.keys()]).toEqual(expect.arrayContaining(["echo", "sleep", "fail"]));
    for (const [name, type] of jobTypes) expect(type.name).toBe(name);
  });

  it("accepts snake- and kebab-case names and defaults at the platform's limits", () => {
    const edge = typed("resize_image-v2", {
      maxAttempts: limits.maxAttempts,
      timeoutSeconds: limits.maxTimeoutSeconds,
      retryBaseDelaySeconds: 0,
    });
    expect(checkRegistry([edge, typed("a")]).get("resize_image-v2")).toBe(edge);
  });

  it.each([
    ["a name used twice", [typed("echo"), typed("echo")], /"echo": registered twice/],
    ["an upper-case name", [typed("Resize")], /"Resize": a name is/],
    ["a name with a space", [typed("resize image")], /a name is/],
    ["an empty name", [typed("")], /a name is/],
    ["a name over 64 characters", [typed("a".repeat(65))], /a name is/],
    [
      "a timeout past the platform's limit",
      [typed("t", { timeoutSeconds: limits.maxTimeoutSeconds + 1 })],
      /timeoutSeconds 841/,
    ],
    ["a zero timeout", [typed("t", { timeoutSeconds: 0 })], /timeoutSeconds 0/],
    ["a fractional timeout", [typed("t", { timeoutSeconds: 1.5 })], /timeoutSeconds 1.5/],
    ["zero attempts", [typed("t", { maxAttempts: 0 })], /maxAttempts 0/],
    ["too many attempts", [typed("t", { maxAttempts: limits.maxAttempts + 1 })], /maxAttempts 21/],
    ["a negative retry delay", [typed("t", { retryBaseDelaySeconds: -1 })], /retryBaseDelaySeconds -1/],
    ["a retry delay past the backoff's cap", [typed("t", { retryBaseDelaySeconds: 901 })], /retryBaseDelaySeconds 901/],
  ])("refuses %s", (_, types, fault) => {
    expect(() => checkRegistry(types)).toThrow(fault);
  });

  it("names every fault at once", () => {
    const build = () => checkRegistry([typed("X", { maxAttempts: 0 }), typed("y", { timeoutSeconds: 9999 })]);
    expect(build).toThrow(/"X": a name is[\s\S]*"X": maxAttempts 0[\s\S]*"y": timeoutSeconds 9999/);
  });
});

describe("a handler's error code", () => {
  it("keeps a snake_case code and turns anything else into handler_error", () => {
    expect(handlerErrorCode("payment_declined")).toBe("payment_declined");
    expect(handlerErrorCode("e2")).toBe("e2");
    for (const bad of ["PaymentDeclined", "payment-declined", "_x", "2fast", "", "a".repeat(65), undefined, 42]) {
      expect(handlerErrorCode(bad)).toBe("handler_error");
    }
  });

  it("does not let a handler claim a code the service gives its own failures", () => {
    for (const code of [
      "timeout",
      "canceled",
      "worker_lost",
      "unknown_job_type",
      "invalid_input",
      "expired",
      "storage_unavailable",
    ]) {
      expect(handlerErrorCode(code)).toBe("handler_error");
    }
  });
});
