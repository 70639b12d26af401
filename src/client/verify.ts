import { WebhookVerificationError } from "./errors";

const encoder = new TextEncoder();
/** Standard Webhooks: reject events signed more than five minutes away from now (replays). */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * Verifies a callback per Standard Webhooks and returns the parsed event.
 * `body` must be the raw request body; `headers` a Headers or a plain object.
 * Accepts any of the `v1,` signatures (two during a secret rotation).
 */
export async function verifyWebhook<Event = unknown>(
  secret: string,
  body: string,
  headers: Headers | Record<string, string | undefined>,
  now = Date.now(),
): Promise<Event> {
  const get = (name: string) =>
    headers instanceof Headers ? headers.get(name) : (headers[name] ?? headers[name.toLowerCase()] ?? null);
  const id = get("webhook-id");
  const timestamp = get("webhook-timestamp");
  const signatures = get("webhook-signature");
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError("missing webhook headers");
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now / 1000 - seconds) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError("timestamp outside the tolerance");
  }
  const keyBytes = decodeBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signed = encoder.encode(`${id}.${timestamp}.${body}`);
  for (const candidate of signatures.split(" ")) {
    const [version, value] = candidate.split(",");
    if (version !== "v1" || !value) continue;
    // crypto.subtle.verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, decodeBase64(value), signed)) return JSON.parse(body) as Event;
  }
  throw new WebhookVerificationError("no matching signature");
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new WebhookVerificationError("malformed base64 in a secret or signature");
  }
}
