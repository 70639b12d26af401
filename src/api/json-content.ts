/**
 * The two shapes every route's OpenAPI definition repeats: a JSON response
 * and a required JSON request body, each described by a zod schema (the
 * contract's, src/contract/schemas.ts), which @hono/zod-openapi turns into
 * the document's entry and the route's validator at once.
 */

/** A response whose body is `schema` as JSON, with its `description` for the document. */
export const jsonResponse = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A request's required JSON body, validated by `schema` (`c.req.valid("json")`). */
export const jsonRequestBody = <T>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
