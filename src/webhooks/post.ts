import { limits } from "../limits";
import { clock } from "../platform/clock";
import { readAtMost } from "../platform/streams";

export interface PostResult {
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  /** The first bytes of the answer (≤ 1 KiB). */
  responseBody: string | null;
  retryAfter: string | null;
}

/**
 * One callback request: redirects are not followed (a 3xx is a failed
 * attempt), the whole exchange is cut at `timeoutMs`, and only the first
 * KiB of the answer is read, so a huge or endless body costs nothing.
 */
export async function postCallback(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const started = clock.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json; charset=utf-8", "user-agent": "edgejobs-webhooks/1" },
      body,
      redirect: "manual",
      signal,
    });
    const { bytes } = await readAtMost(response.body, limits.maxCallbackResponseBytes);
    return {
      httpStatus: response.status,
      error: null,
      durationMs: clock.now() - started,
      responseBody: new TextDecoder().decode(bytes),
      retryAfter: response.headers.get("retry-after"),
    };
  } catch (error) {
    const reason = signal.aborted ? `timed out after ${timeoutMs} ms` : String(error).slice(0, 200);
    return { httpStatus: null, error: reason, durationMs: clock.now() - started, responseBody: null, retryAfter: null };
  }
}
