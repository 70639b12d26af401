import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { z as zod } from "zod";
import { errors, JobTypeSchema, NoQuery } from "../contract/schemas";
import type { AppEnv } from "../env";
import { jobTypes } from "../job-types";
import { jsonResponse } from "./json-content";
import { validationHook } from "./validation";

export const jobTypesApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "The registered job types",
  request: { query: NoQuery },
  responses: {
    200: jsonResponse(
      z.object({ job_types: z.array(JobTypeSchema) }),
      "Each type with its defaults and its input's JSON Schema.",
    ),
    401: errors[401],
  },
});

/** Built once per isolate: the registry does not change at run time. */
let described: z.infer<typeof JobTypeSchema>[] | undefined;

jobTypesApi.openapi(listRoute, (c) => {
  described ??= [...jobTypes.values()].map((type) => ({
    name: type.name,
    description: type.description,
    defaults: {
      max_attempts: type.defaults.maxAttempts,
      timeout_seconds: type.defaults.timeoutSeconds,
      retry_base_delay_seconds: type.defaults.retryBaseDelaySeconds,
    },
    input_schema: zod.toJSONSchema(type.input, { io: "input", unrepresentable: "any" }) as Record<string, unknown>,
  }));
  return c.json({ job_types: described }, 200);
});
