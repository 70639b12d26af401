/** An error answer of the API, with the contract's stable `code` to switch on. */
export class EdgejobsError extends Error {
  override name = "EdgejobsError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
    /** Seconds to wait before retrying, from Retry-After (429, 503). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** A callback whose signature or timestamp does not check out. */
export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

export async function errorFrom(response: Response): Promise<EdgejobsError> {
  const retryAfter = response.headers.get("retry-after");
  const body = (await response.json().catch(() => null)) as {
    error?: { code?: string; message?: string; details?: { path: string; message: string }[] };
  } | null;
  return new EdgejobsError(
    response.status,
    body?.error?.code ?? `http_${response.status}`,
    body?.error?.message ?? response.statusText,
    body?.error?.details ?? [],
    retryAfter === null ? null : Number(retryAfter),
  );
}
