import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { DomainError } from "../../jobs/errors";
import { limits } from "../../limits";
import { readAtMost } from "../../platform/streams";
import { assertJsonFaithful } from "../json-faithful";

const tooLarge = () =>
  new DomainError(413, "payload_too_large", `The request body is larger than ${limits.maxBodyBytes} bytes.`);

/**
 * Reads a JSON request body once, enforcing the content type and its charset
 * (415), the size limit (413, also for bodies without Content-Length),
 * well-formed UTF-8 JSON (400 invalid_json), and that parsing changed or
 * dropped nothing, e.g. a repeated name (400 validation_failed, see
 * assertJsonFaithful). The parsed value is left where Hono's validators read
 * it, and the raw text is kept for idempotency hashing.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  assertJsonContentType(c.req.header("content-type") ?? "");
  if (Number(c.req.header("content-length") ?? 0) > limits.maxBodyBytes) throw tooLarge();
  const text = await readText(c.req.raw);
  const parsed = parseJson(text);
  assertJsonFaithful(parsed, text);
  c.set("rawBody", text);
  c.req.bodyCache.json = Promise.resolve(parsed);
  await next();
});

/**
 * Actions that take no fields (cancel, retry, redeliver): no body, or the
 * empty JSON object `{}` many clients send. Anything else would be dropped
 * unread, so it is refused (API.md: nothing sent is silently dropped): 415
 * for a body that is not JSON, 400 `invalid_json`, or 400
 * `validation_failed` for any field.
 */
export const noFields = createMiddleware<AppEnv>(async (c, next) => {
  const text = await readText(c.req.raw);
  // JSON's whitespace only (RFC 8259 §2): String.trim would also take U+00A0, U+2028 or a BOM for none.
  if (!/^[ \t\r\n]*$/.test(text)) {
    assertJsonContentType(c.req.header("content-type") ?? "");
    const parsed = parseJson(text);
    const fields = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? Object.keys(parsed) : null;
    if (fields === null || fields.length > 0) {
      const message = "This action takes no fields: send no body, or {}.";
      const paths = fields === null || fields.length === 0 ? [""] : fields;
      throw new DomainError(
        400,
        "validation_failed",
        message,
        paths.map((path) => ({ path, message })),
      );
    }
  }
  await next();
});

/** `charset=…` in a media type, quoted or not (RFC 9110 §8.3.1: parameter names are case-insensitive). */
const charsetParameter = /;\s*charset\s*=\s*"?([^";\s]*)"?/gi;

/**
 * `application/json`, optionally with a UTF-8 charset (RFC 8259 §8.1: JSON
 * exchanged between systems is UTF-8). Another charset would be decoded as
 * UTF-8 all the same, so it is refused rather than misread.
 */
function assertJsonContentType(contentType: string): void {
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new DomainError(
      415,
      "unsupported_media_type",
      "Send the body as JSON with `content-type: application/json`.",
    );
  }
  // Every charset named, not the first only: `charset=utf-8; charset=latin1` is not UTF-8 for sure.
  for (const [, charset = ""] of contentType.matchAll(charsetParameter)) {
    if (/^utf-?8$/i.test(charset)) continue;
    throw new DomainError(
      415,
      "unsupported_media_type",
      `The charset "${charset}" is not supported: send JSON as UTF-8 (\`charset=utf-8\` or none).`,
    );
  }
}

/** `text` parsed; throws 400 `invalid_json` when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError(400, "invalid_json", "The request body is not valid JSON.");
  }
}

async function readText(request: Request): Promise<string> {
  const { bytes, truncated } = await readAtMost(request.body, limits.maxBodyBytes);
  if (truncated) throw tooLarge();
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DomainError(400, "invalid_json", "The request body is not valid UTF-8.");
  }
}
