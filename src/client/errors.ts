import { parseRetryAfter } from "../platform/retry-after.ts";

/** An error answer of the API, with the contract's stable `code` to switch on. */
export class EdgejobsError extends Error {
  override name = "EdgejobsError";
  constructor(
    /** The HTTP status, e.g. 409. */
    readonly status: number,
    /** The contract's snake_case code, e.g. `job_finished`; `http_<status>` when the body has none. */
    readonly code: string,
    message: string,
    /** Which field failed and why, on 400 `validation_failed`. */
    readonly details: { path: string; message: string }[] = [],
    /** Seconds to wait before retrying, from Retry-After (429, 503); null when absent or unreadable. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** A callback whose headers, signature or timestamp do not check out. */
export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

/** The error an unsuccessful answer stands for, its body read as the contract's error shape where it is one. */
export async function errorFrom(response: Response, now = Date.now()): Promise<EdgejobsError> {
  // A proxy's HTML error page is not the contract's shape: the status still tells what happened.
  const body = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string; details?: { path: string; message: string }[] };
  } | null;
  return new EdgejobsError(
    response.status,
    body?.error?.code ?? `http_${response.status}`,
    body?.error?.message ?? response.statusText,
    body?.error?.details ?? [],
    parseRetryAfter(response.headers.get("retry-after"), now),
  );
}
