import { z } from "zod";
import { defineJobType, type Json } from "./define";

export const echo = defineJobType({
  name: "echo",
  description: "Returns its input unchanged.",
  // Any JSON (the body it comes from is JSON), passed through untouched: z.json() would
  // rebuild objects, and a `__proto__` key would not survive the rebuilding.
  input: z.custom<Json>().meta({ description: "Any JSON." }),
  defaults: { maxAttempts: 3, timeoutSeconds: 60 },
  run: async ({ input }) => input,
});
