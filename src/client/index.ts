import { sleep } from "../platform/sleep.ts";
import type {
  Batch,
  BatchSubmitted,
  Deliveries,
  Job,
  JobInputs,
  JobListFilters,
  JobLogs,
  JobPage,
  JobStatus,
  JobTypeInfo,
  OnComplete,
  Redelivery,
  Schedule,
  ScheduleChanges,
  ScheduleFields,
  SchedulePage,
  SubmitFields,
} from "./contract.ts";
import { errorFrom } from "./errors.ts";
import { defaultRetryPolicy, type RetryPolicy, retryDelayMs } from "./retry.ts";

/**
 * The edgejobs client: `fetch` and Web Crypto only, for browsers, Node ≥ 20,
 * Deno, Bun and Workers. Its types come from the service's zod schemas and
 * job-type registry (type-only imports, printed as plain declarations when
 * the package is built).
 */

export type {
  Batch,
  BatchSubmitted,
  CallbackEventType,
  Deliveries,
  Job,
  JobInputs,
  JobListFilters,
  JobLogs,
  JobPage,
  JobStatus,
  JobTypeInfo,
  OnComplete,
  Redelivery,
  Schedule,
  ScheduleChanges,
  ScheduleFields,
  SchedulePage,
  SubmitFields,
} from "./contract.ts";
export { EdgejobsError, WebhookVerificationError } from "./errors.ts";
export type { RetryPolicy } from "./retry.ts";
export { verifyWebhook, type WebhookEvent, type WebhookHeaders } from "./verify.ts";

/** A registered job type's name, e.g. `"echo"`. */
export type JobTypeName = keyof JobInputs;

/**
 * A submit body for one registered job type: `input` is checked against that
 * type's input at compile time. It may be left out only where the type
 * accepts null (the service stores an absent input as null).
 */
export type SubmitRequest<Type extends JobTypeName = JobTypeName> = {
  [Name in Type]: SubmitFields & { type: Name } & (null extends JobInputs[Name]
      ? { input?: JobInputs[Name] }
      : { input: JobInputs[Name] });
}[Type];

export interface WatchEvent {
  event: "status" | "progress";
  data: Job;
}

export interface ClientOptions {
  /** The service's origin, e.g. `https://jobs.example.com`. */
  baseUrl: string;
  /** An `ejk_…` API key. */
  apiKey: string;
  fetch?: typeof fetch;
  /** Retrying 429 and 503 answers (see `RetryPolicy`); default 4 requests and at most 30 s of waiting per call. */
  retry?: Partial<RetryPolicy>;
}

/** What a request may carry besides its method and path. */
interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string | undefined;
  accept?: string;
  signal?: AbortSignal | undefined;
}

const terminal: readonly JobStatus[] = ["succeeded", "failed", "canceled"];

export class EdgejobsClient {
  readonly #base: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #retry: RetryPolicy;

  /**
   * Every method throws `EdgejobsError` for an error answer, after the
   * retries `options.retry` allows for 429 and 503.
   */
  constructor(options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
  }

  /**
   * Submits a job (202) and answers it as stored. With an `idempotencyKey`, a
   * repeat within 24 h with the same body answers the original job: send one
   * to repeat safely after a network error, and so that a 503 is retried
   * (a 429 is retried either way: nothing was created).
   */
  submit(job: SubmitRequest, options: { idempotencyKey?: string } = {}): Promise<Job> {
    return this.#json("POST", "/v1/jobs", { body: job, idempotencyKey: options.idempotencyKey });
  }

  /**
   * Submits up to 100 jobs at once, all or nothing, as one batch: answers its
   * `batch_id` and the jobs. With `onComplete`, once every job is terminal the
   * service POSTs one signed `batch.completed` event there (`batches.wait`
   * polls for the same moment).
   */
  submitBatch(
    jobs: SubmitRequest[],
    options: { idempotencyKey?: string; onComplete?: OnComplete } = {},
  ): Promise<BatchSubmitted> {
    const body = options.onComplete ? { jobs, on_complete: options.onComplete } : { jobs };
    return this.#json("POST", "/v1/jobs/batch", { body, idempotencyKey: options.idempotencyKey });
  }

  /** Batches of `submitBatch`: fan-out, then fan-in. */
  readonly batches = {
    /** The batch with its counts; `EdgejobsError` 404 `not_found` for an id this key's tenant does not have. */
    get: (id: string): Promise<Batch> => this.#json("GET", `/v1/batches/${encodeURIComponent(id)}`),

    /**
     * Polls until the batch is `completed` (every job terminal), waiting
     * 0.5 s at first and half as long again each time, up to 5 s; after
     * `timeout` ms (default 60 s) answers the batch as it is then.
     */
    wait: async (id: string, options: { timeout?: number } = {}): Promise<Batch> => {
      const deadline = Date.now() + (options.timeout ?? 60_000);
      for (let delayMs = 500; ; delayMs = Math.min(delayMs * 1.5, 5_000)) {
        const batch = await this.batches.get(id);
        const left = deadline - Date.now();
        if (batch.status === "completed" || left <= 0) return batch;
        await sleep(Math.min(delayMs, left));
      }
    },
  };

  /** The job; `EdgejobsError` 404 `not_found` for an id this key's tenant does not have. */
  get(id: string): Promise<Job> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /**
   * Pages of jobs, newest first (`batch_id`: a batch's jobs, `schedule_id`: a
   * schedule's), following `next_cursor` until the last page.
   */
  async *list(filters: JobListFilters & { type?: JobTypeName } = {}): AsyncGenerator<Job[]> {
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

  /** Cancels a scheduled, queued or running job and answers it; 409 `job_finished` once it is terminal. */
  cancel(id: string): Promise<Job> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /**
   * Runs a failed or canceled job again as a new job (202) and answers the
   * new job, whose `retry_of` is `id`; 409 `job_not_retryable` for any other
   * status. With an `idempotencyKey`, repeating the call for the same job
   * answers the same new job (and a 503 is retried).
   */
  retry(id: string, options: { idempotencyKey?: string } = {}): Promise<Job> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/retry`, { idempotencyKey: options.idempotencyKey });
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
    const response = await this.#request("GET", `/v1/jobs/${encodeURIComponent(id)}/events`, {
      accept: "text/event-stream",
      signal: options.signal,
    });
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

  /** The lines the job's handler logged (`ctx.log`), oldest first: at most 500 over all attempts. */
  logs(id: string): Promise<JobLogs> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/logs`);
  }

  /** The job's callback events and every delivery attempt, with status codes, errors and response bodies. */
  deliveries(id: string): Promise<Deliveries> {
    return this.#json("GET", `/v1/jobs/${encodeURIComponent(id)}/deliveries`);
  }

  /** Sends a callback event again now (same `webhook-id`); 409 `redelivery_in_progress` while one is in flight. */
  redeliver(id: string, eventId: string): Promise<Redelivery> {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(eventId)}/redeliver`);
  }

  /**
   * Schedules: recurring jobs from a 5-field cron expression in an IANA time
   * zone. Each due time creates one job (`schedule_id` set) within 10 s.
   */
  readonly schedules = {
    /**
     * Creates a schedule (201); 409 `schedule_limit` past 1,000 per tenant.
     * With `idempotencyKey`, a repeat within 24 h answers the same schedule.
     */
    create: (schedule: ScheduleFields, options: { idempotencyKey?: string } = {}): Promise<Schedule> =>
      this.#json("POST", "/v1/schedules", { body: schedule, idempotencyKey: options.idempotencyKey }),
    /** The schedule; `EdgejobsError` 404 for an id this key's tenant does not have. */
    get: (id: string): Promise<Schedule> => this.#json("GET", `/v1/schedules/${encodeURIComponent(id)}`),
    /** Pages of schedules, newest first, following `next_cursor` until the last page. */
    list: (options: { limit?: number } = {}): AsyncGenerator<Schedule[]> => this.#schedulePages(options.limit),
    /** Changes any of cron, timezone, job, paused and name; a change of timing recomputes `next_run_at`. */
    update: (id: string, changes: ScheduleChanges): Promise<Schedule> =>
      this.#json("PATCH", `/v1/schedules/${encodeURIComponent(id)}`, { body: changes }),
    /** Deletes the schedule: no job from then on. */
    delete: async (id: string): Promise<void> => {
      await this.#request("DELETE", `/v1/schedules/${encodeURIComponent(id)}`);
    },
    /** Pauses the schedule: it creates no job until resumed. */
    pause: (id: string): Promise<Schedule> => this.schedules.update(id, { paused: true }),
    /** Resumes the schedule from its next due time after now (missed times are not caught up). */
    resume: (id: string): Promise<Schedule> => this.schedules.update(id, { paused: false }),
  };

  async *#schedulePages(limit: number | undefined): AsyncGenerator<Schedule[]> {
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      const page: SchedulePage = await this.#json("GET", `/v1/schedules?${query}`);
      yield page.schedules;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** The registered job types with their defaults and input JSON Schema. */
  jobTypes(): Promise<{ job_types: JobTypeInfo[] }> {
    return this.#json("GET", "/v1/job-types");
  }

  async #json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#request(method, path, options);
    return (await response.json()) as T;
  }

  /** Sends one request, again after a 429 or 503 while the retry policy allows (see `retryDelayMs`). */
  async #request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}` };
    if (options.accept) headers.accept = options.accept;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      const response = await this.#fetch(`${this.#base}${path}`, { method, headers, body, signal: options.signal });
      if (response.ok) return response;
      const error = await errorFrom(response);
      const delayMs = retryDelayMs(
        {
          method,
          idempotencyKey: Boolean(options.idempotencyKey),
          status: error.status,
          retryAfter: error.retryAfter,
          attempt,
          waitedMs,
        },
        this.#retry,
      );
      if (delayMs === null) throw error;
      await sleep(delayMs, options.signal);
      waitedMs += delayMs;
    }
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
