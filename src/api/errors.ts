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
  // Never echo internals or request data: a 500 is a bug and is logged as one.
  console.error("unhandled error", { method: c.req.method, path: c.req.path, error: String(error) });
  return errorResponse(500, "internal_error", "Something went wrong on our side.");
};
