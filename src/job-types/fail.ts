import { z } from "zod";
import { defineJobType, JobError, NonRetryableError } from "./define";

export const fail = defineJobType({
  name: "fail",
  description:
    "Throws on its first `fail_attempts` attempts, then returns `{ attempt }`: with `code`, a JobError carrying it; " +
    "with `retryable: false`, a NonRetryableError (the job fails at once). For testing retries.",
  input: z.strictObject({
    fail_attempts: z.int().min(0).max(100),
    message: z.string().max(1000).optional(),
    code: z.string().max(100).optional(),
    retryable: z.boolean().default(true),
  }),
  defaults: { maxAttempts: 3, timeoutSeconds: 60 },
  run: async ({ input, attempt }) => {
    if (attempt <= input.fail_attempts) {
      const message = input.message ?? `failing on purpose (attempt ${attempt} of ${input.fail_attempts})`;
      if (!input.retryable) throw new NonRetryableError(message, { code: input.code });
      if (input.code !== undefined) throw new JobError(message, { code: input.code });
      throw new Error(message);
    }
    return { attempt };
  },
});
