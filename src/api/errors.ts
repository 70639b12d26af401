import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";
import { DomainError, type ErrorDetail } from "../jobs/errors";

/** The contract's error shape (API.md "Errors"); the only place that renders it. */
export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } };
}

export function errorResponse(status: ContentfulStatusCode, code: string, message: string, details?: ErrorDetail[]) {
  return Response.json(errorBody(code, message, details), { status });
}

const httpCodes: Record<number, string> = {
  400: "bad_request",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof DomainError) {
    const response = errorResponse(error.status, error.code, error.message, error.details);
    if (error.retryAfterSeconds !== undefined) response.headers.set("retry-after", String(error.retryAfterSeconds));
    return response;
  }
  if (error instanceof HTTPException && error.status < 500) {
    return errorResponse(error.status, httpCodes[error.status] ?? "bad_request", error.message || "Bad request.");
  }
  if (isStorageOutage(error)) {
    console.error("storage unavailable", { method: c.req.method, path: c.req.path, error: String(error) });
    const response = errorResponse(503, "service_unavailable", "Storage is unavailable; retry shortly.");
    response.headers.set("retry-after", "5");
    return response;
  }
  // Never echo internals or request data: a 500 is a bug and is logged as one.
  console.error("unhandled error", { method: c.req.method, path: c.req.path, error: String(error) });
  return errorResponse(500, "internal_error", "Something went wrong on our side.");
};

/**
 * D1 reports an outage as an error whose message starts with D1_ (e.g.
 * "D1_ERROR: Network connection lost."); such a failure is not a bug here,
 * so the client is told to retry (with its Idempotency-Key) instead.
 */
function isStorageOutage(error: Error): boolean {
  return /^D1_|Network connection lost/.test(error.message);
}
