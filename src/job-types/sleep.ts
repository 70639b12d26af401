import { z } from "zod";
import { defineJobType, wait } from "./define";

export const sleep = defineJobType({
  name: "sleep",
  description: "Sleeps `seconds` in `steps` equal steps, reporting progress and logging `step k of n` after each.",
  input: z.strictObject({
    seconds: z.number().min(0).max(900),
    steps: z.int().min(1).max(100).default(1),
  }),
  defaults: { maxAttempts: 1, timeoutSeconds: 840 },
  run: async ({ input, signal, progress, log }) => {
    const stepMs = (input.seconds * 1000) / input.steps;
    for (let step = 1; step <= input.steps; step++) {
      await wait(stepMs, signal);
      log(`step ${step} of ${input.steps}`);
      await progress((step / input.steps) * 100, `step ${step} of ${input.steps}`);
    }
    return { slept_seconds: input.seconds, steps: input.steps };
  },
});
