import type { OpenAPIHonoOptions } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { DomainError } from "../jobs/errors";

/** Turns a schema failure on any part of a request into 400 validation_failed with details. */
export const validationHook: OpenAPIHonoOptions<AppEnv>["defaultHook"] = (result, c) => {
  if (result.success) return;
  const target = result.target === "json" ? "" : `${result.target}.`;
  // Hono hands a query parameter given twice (`?wait=1&wait=2`) as an array, which the schema's message would
  // describe as a type ("expected number, received NaN"): say what happened instead.
  const given = result.target === "query" ? c.req.queries() : {};
  const repeated = (name: PropertyKey | undefined) => (given[String(name)]?.length ?? 0) > 1;
  const details = result.error.issues.flatMap((issue: { path: PropertyKey[]; message: string; keys?: string[] }) => {
    if (repeated(issue.path[0])) {
      return [{ path: `${target}${String(issue.path[0])}`, message: "Given more than once: send it once." }];
    }
    const path = issue.path.map(String);
    // An unknown field is named by its own path, so a typo points at itself.
    const paths = issue.keys ? issue.keys.map((key) => [...path, key]) : [path];
    return paths.map((p) => ({ path: `${target}${p.join(".")}` || result.target, message: issue.message }));
  });
  throw new DomainError(400, "validation_failed", "The request does not match the API's schema.", details);
};
