import { z } from "zod";
import { defineJobType } from "./define";

export const echo = defineJobType({
  name: "echo",
  description: "Returns its input unchanged.",
  input: z.json(),
  defaults: { maxAttempts: 3, timeoutSeconds: 60 },
  run: async ({ input }) => input,
});
