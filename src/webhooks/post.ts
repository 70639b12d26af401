import { limits } from "../limits";
import { clock } from "../platform/clock";
import { readAtMost } from "../platform/streams";

export interface PostResult {
  httpStatus: number | null;
  error: string | null;
  /** From sending the request to the end of reading the answer (ms). */
  durationMs: number;
  /** The first bytes of the answer (≤ 1 KiB), as many as came within the body's own time bound. */
  responseBody: string | null;
  retryAfter: string | null;
}

/**
 * One callback request: redirects are not followed (a 3xx is a failed
 * attempt), and `timeoutMs` bounds the wait for the status line, which alone
 * decides the attempt. The answer's body is bounded on its own (first KiB,
 * `limits.callbackBodyReadMs`): a body that is huge, endless or slow to come
 * is cut and logged as far as it came, and never turns a 2xx into a failure.
 */
export async function postCallback(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const started = clock.now();
  // Not AbortSignal.timeout: a signal given to fetch also governs the body, and the body has a bound of its own.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json; charset=utf-8", "user-agent": "edgejobs-webhooks/1" },
      body,
      redirect: "manual",
      signal: abort.signal,
    });
  } catch (error) {
    const reason = abort.signal.aborted ? `timed out after ${timeoutMs} ms` : String(error).slice(0, 200);
    return { httpStatus: null, error: reason, durationMs: clock.now() - started, responseBody: null, retryAfter: null };
  } finally {
    clearTimeout(timer);
  }
  return {
    httpStatus: response.status,
    error: null,
    responseBody: await readAnswer(response),
    durationMs: clock.now() - started,
    retryAfter: response.headers.get("retry-after"),
  };
}

/** The answer's first KiB, as much as arrives within `limits.callbackBodyReadMs`. */
async function readAnswer(response: Response): Promise<string> {
  try {
    const { bytes } = await readAtMost(
      response.body,
      limits.maxCallbackResponseBytes,
      AbortSignal.timeout(limits.callbackBodyReadMs),
    );
    return new TextDecoder().decode(bytes);
  } catch (error) {
    // The status line already decided the attempt; a body that breaks off only leaves the log without it.
    console.warn("callback answer body unreadable", { status: response.status, error: String(error).slice(0, 200) });
    return "";
  }
}
