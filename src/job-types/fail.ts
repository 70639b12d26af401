import { z } from "zod";
import { defineJobType } from "./define";

export const fail = defineJobType({
  name: "fail",
  description: "Throws on its first `fail_attempts` attempts, then returns `{ attempt }`. For testing retries.",
  input: z.strictObject({
    fail_attempts: z.int().min(0).max(100),
    message: z.string().max(1000).optional(),
  }),
  defaults: { maxAttempts: 3, timeoutSeconds: 60 },
  run: async ({ input, attempt }) => {
    if (attempt <= input.fail_attempts) {
      throw new Error(input.message ?? `failing on purpose (attempt ${attempt} of ${input.fail_attempts})`);
    }
    return { attempt };
  },
});
