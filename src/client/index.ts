import type { JobStatus, JobView, SubmitJobRequest } from "../jobs/model";
import { errorFrom } from "./errors";

/**
 * The edgejobs client: `fetch` and Web Crypto only, for browsers, Node ≥ 22,
 * Deno, Bun and Workers. (Server types are imported as types only.)
 */
export type Job = JobView;
export type SubmitRequest = SubmitJobRequest;
export interface WatchEvent {
  event: "status" | "progress";
  data: Job;
}
export interface JobPage {
  jobs: Job[];
  next_cursor: string | null;
}
export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export { EdgejobsError, WebhookVerificationError } from "./errors";
export { verifyWebhook } from "./verify";

const terminal: readonly JobStatus[] = ["succeeded", "failed", "canceled"];

export class EdgejobsClient {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  submit(job: SubmitRequest, options: { idempotencyKey?: string } = {}): Promise<Job> {
    return this.#json("POST", "/v1/jobs", job, options.idempotencyKey);
  }

  async submitBatch(jobs: SubmitRequest[], options: { idempotencyKey?: string } = {}): Promise<Job[]> {
    return (await this.#json<{ jobs: Job[] }>("POST", "/v1/jobs/batch", { jobs }, options.idempotencyKey)).jobs;
  }

  get(id: string): Promise<Job> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Pages of jobs, newest first, following `next_cursor` until the last page. */
  async *list(filters: { status?: JobStatus; type?: string; limit?: number } = {}): AsyncGenerator<Job[]> {
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries({ ...filters, cursor })) {
        if (value !== undefined && value !== null) query.set(name, String(value));
      }
      const page: JobPage = await this.#json("GET", `/v1/jobs?${query}`);
      yield page.jobs;
      cursor = page.next_cursor;
    } while (cursor);
  }

  cancel(id: string): Promise<Job> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** The job's input as it was sent (parsed JSON), whatever its size: a job shows it inline only up to 64 KiB. */
  input<Input = unknown>(id: string): Promise<Input> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/input`);
  }

  /** The job's result (parsed JSON), wherever it is stored. */
  result<Result = unknown>(id: string): Promise<Result> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/result`);
  }

  /** Long-polls until the job is terminal; after `timeout` ms, answers the job as it is then. */
  async wait(id: string, options: { timeout?: number } = {}): Promise<Job> {
    const deadline = Date.now() + (options.timeout ?? 60_000);
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      const job: Job = await this.#json(
        "GET",
        `/v1/jobs/${encodeURIComponent(id)}?wait=${Math.max(1, Math.min(60, left))}`,
      );
      if (terminal.includes(job.status) || Date.now() >= deadline) return job;
    }
  }

  /** The job's live events (SSE): the current state first, then each change, until the terminal status. */
  async *watch(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    const response = await this.#request(
      "GET",
      `/v1/jobs/${encodeURIComponent(id)}/events`,
      undefined,
      undefined,
      {
        accept: "text/event-stream",
      },
      options.signal,
    );
    if (!response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end !== -1) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) yield event;
          end = buffer.indexOf("\n\n");
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined); // the stream may already be closed
    }
  }

  deliveries(id: string): Promise<{ events: unknown[]; deliveries: unknown[] }> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/deliveries`);
  }

  redeliver(id: string, eventId: string): Promise<{ event_id: string }> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(eventId)}/redeliver`);
  }

  jobTypes(): Promise<{ job_types: { name: string; description: string; input_schema: Record<string, unknown> }[] }> {
    return this.#json("GET", "/v1/job-types");
  }

  async #json<T>(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const response = await this.#request(method, path, body, idempotencyKey);
    return (await response.json()) as T;
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    idempotencyKey?: string,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const response = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
}

function parseEvent(block: string): WatchEvent | null {
  let event = "";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if ((event !== "status" && event !== "progress") || !data) return null; // comments and heartbeats
  return { event, data: JSON.parse(data) as Job };
}
