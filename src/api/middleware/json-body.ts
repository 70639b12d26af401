import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { DomainError } from "../../jobs/errors";
import { limits } from "../../limits";
import { readAtMost } from "../../platform/streams";

const tooLarge = () =>
  new DomainError(413, "payload_too_large", `The request body is larger than ${limits.maxBodyBytes} bytes.`);

/**
 * Reads a JSON request body once, enforcing the content type (415), the size
 * limit (413, also for bodies without Content-Length) and well-formed UTF-8
 * JSON (400 invalid_json). The parsed value is left where Hono's validators
 * read it, and the raw text is kept for idempotency hashing.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const contentType = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new DomainError(
      415,
      "unsupported_media_type",
      "Send the body as JSON with `content-type: application/json`.",
    );
  }
  if (Number(c.req.header("content-length") ?? 0) > limits.maxBodyBytes) throw tooLarge();
  const text = await readText(c.req.raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DomainError(400, "invalid_json", "The request body is not valid JSON.");
  }
  if (depthOf(parsed) > limits.maxJsonDepth) {
    throw new DomainError(400, "validation_failed", `The JSON is nested deeper than ${limits.maxJsonDepth} levels.`);
  }
  c.set("rawBody", text);
  c.req.bodyCache.json = Promise.resolve(parsed);
  await next();
});

async function readText(request: Request): Promise<string> {
  const { bytes, truncated } = await readAtMost(request.body, limits.maxBodyBytes);
  if (truncated) throw tooLarge();
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DomainError(400, "invalid_json", "The request body is not valid UTF-8.");
  }
}

/** Nesting depth, walked without recursion so a hostile body cannot exhaust the stack here either. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limits.maxJsonDepth) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}
