import type { CallbackEventType, Job } from "./contract.ts";
import { WebhookVerificationError } from "./errors.ts";

const encoder = new TextEncoder();
/** Standard Webhooks: reject events signed more than five minutes away from now (replays). */
const TOLERANCE_SECONDS = 5 * 60;

/** A job callback's body (API.md "Callbacks"). */
export interface WebhookEvent {
  type: CallbackEventType;
  /** RFC 3339 time of the event. */
  timestamp: string;
  /** The job as stored when the event was made; order events by `data.version`. */
  data: Job;
}

/** A callback's headers: a `Headers`, or a plain object such as Node's `req.headers` (names in any case). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * Verifies a callback per Standard Webhooks and returns its parsed body.
 *
 * `body` is the raw request body exactly as received: a string, or bytes
 * (`Uint8Array`, Node's `Buffer`, `ArrayBuffer`) — never a re-serialised
 * object. Accepts any `v1,` signature of the header's list (two or three
 * during a secret rotation). `now` is in Unix milliseconds.
 *
 * @throws WebhookVerificationError when a header is missing, the timestamp is
 *   more than 5 minutes from `now`, the secret is not base64, or no signature matches.
 */
export async function verifyWebhook<Event = WebhookEvent>(
  secret: string,
  body: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  now = Date.now(),
): Promise<Event> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError("missing webhook headers");
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now / 1000 - seconds) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError("timestamp outside the tolerance");
  }
  const keyBytes = decodeBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  if (!keyBytes) throw new WebhookVerificationError("the secret is not base64");
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
  const signed = concat(encoder.encode(`${id}.${timestamp}.`), bodyBytes);
  for (const candidate of signatures.split(" ")) {
    const [version, value] = candidate.split(",");
    const signature = version === "v1" && value ? decodeBase64(value) : null;
    // crypto.subtle.verify compares in constant time.
    if (signature && (await crypto.subtle.verify("HMAC", key, signature, signed))) {
      return JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(bodyBytes)) as Event;
    }
  }
  throw new WebhookVerificationError("no matching signature");
}

/** A header's value; repeated lines (an array) are joined as one space-separated list. */
function header(headers: WebhookHeaders, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && value !== undefined) return Array.isArray(value) ? value.join(" ") : value;
  }
  return null;
}

/** The bytes of a base64 text, or null when it is not base64 (another sender's signature scheme, a typo). */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  // atob throws on other characters, and on a length that leaves one lone character.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) return null;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
