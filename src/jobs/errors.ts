/**
 * Typed domain errors. The API's error middleware is the only place that turns
 * them into the contract's error shape; the domain never builds responses.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 429 | 503,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const invalidApiKey = () =>
  new DomainError(401, "unauthorized", "Send a valid API key as `Authorization: Bearer <key>`.");
export const jobNotFound = () => new DomainError(404, "not_found", "No job with this id.");
export const jobFinished = (status: string) =>
  new DomainError(409, "job_finished", `The job has already finished (${status}); it cannot be canceled.`);
