import { z } from "@hono/zod-openapi";
import { limits } from "../limits";
import {
  createdKeyExample,
  deliveriesExample,
  jobExample,
  jobLogsExample,
  jobTypeExample,
  submitJobExample,
} from "./examples";

/**
 * The public contract (docs/API.md): request and response schemas. One
 * definition gives the routes their validation, the OpenAPI document, the
 * domain its view types (jobs/model.ts) and the client its types
 * (client/contract.ts).
 */

/** A job's statuses, in the order a job can move through them. */
export const jobStatuses = ["scheduled", "queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof jobStatuses)[number];
/** The statuses a job ends in, which never change again (API.md), in SQL's text order. */
export const terminalJobStatuses = ["canceled", "failed", "succeeded"] as const satisfies readonly JobStatus[];

/** The events a job can ask callbacks for. */
export const callbackEventTypes = ["job.succeeded", "job.failed", "job.canceled", "job.progress"] as const;
export type CallbackEventType = (typeof callbackEventTypes)[number];

/**
 * A string the service keeps as text (a D1 TEXT column, UTF-8), `min` to
 * `max` UTF-16 code units. A lone surrogate (`"\ud800"`, valid JSON) has no
 * UTF-8 form, so it would read back as U+FFFD — a callback sent to another
 * URL than the one accepted: it is refused (400) rather than changed.
 * `input` and `metadata` are kept as JSON, escapes and all, so they need no
 * such rule.
 */
const storedTextField = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine(
      // In a `u` regex a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate.
      (text) => !/\p{Cs}/u.test(text),
      "Holds a lone surrogate (an unpaired \\ud800–\\udfff), which cannot be stored as sent.",
    );

/**
 * A list's `cursor`: the previous page's `next_cursor`. Empty is the first
 * page, as absent is, so a pager can start with `cursor=` and an empty variable.
 */
const Cursor = z
  .string()
  .max(200)
  .optional()
  .transform((cursor) => cursor || undefined);

/** The query of a route that takes no parameter: any one is 400, as an unknown field is (API.md). */
export const NoQuery = z.strictObject({});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/**
 * A JSON object passed through as sent. `z.record` would rebuild it by
 * assignment, and assigning a `__proto__` key sets the prototype instead:
 * the key would vanish from what is stored (API.md: every key is kept).
 */
const JsonObject = z
  .custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
    message: "Expected an object",
  })
  .openapi({ type: "object", additionalProperties: {} });

export const SubmitJobSchema = z
  .strictObject({
    type: z.string().min(1).max(100).openapi({ example: "echo" }),
    // z.unknown() passes the client's value through untouched (it is stored as sent);
    // the job type's schema validates it and gives the handler its parsed form.
    input: z.unknown().optional().openapi({ description: "Validated against the job type's input schema." }),
    callback_url: storedTextField(1, limits.maxCallbackUrlLength).nullable().optional(),
    callback_events: z
      .array(z.enum(callbackEventTypes))
      .min(1)
      .max(callbackEventTypes.length)
      .refine((events) => new Set(events).size === events.length, "Each event may be named once.")
      .nullable()
      .optional(),
    delay_seconds: z.int().min(0).max(limits.maxDelaySeconds).optional(),
    max_attempts: z.int().min(1).max(limits.maxAttempts).optional(),
    timeout_seconds: z.int().min(1).max(limits.maxTimeoutSeconds).optional(),
    ttl_seconds: z
      .int()
      .min(1)
      .max(limits.maxTtlSeconds)
      .optional()
      .openapi({
        description:
          "If the job has not started by `run_at` + this many seconds (`expires_at`), it ends `canceled` with " +
          "error code `expired` instead of running. Once started, its attempts and retries run whatever the time.",
      }),
    metadata: JsonObject.nullable()
      .optional()
      .openapi({ type: ["object", "null"] }),
  })
  // Events without a URL would be dropped without a word.
  .refine((job) => !job.callback_events || job.callback_url, {
    path: ["callback_events"],
    message: "callback_events needs a callback_url.",
  })
  .openapi("SubmitJob", { example: submitJobExample });

/** The events a batch's `on_complete` sends: apart from `callbackEventTypes`, which a job may ask for. */
export const batchEventTypes = ["batch.completed"] as const;
export type BatchEventType = (typeof batchEventTypes)[number];

/** `on_complete` of a batch: where its `batch.completed` event goes, checked like a job's callback_url and metadata. */
export const OnCompleteSchema = z
  .strictObject({
    callback_url: storedTextField(1, limits.maxCallbackUrlLength),
    metadata: JsonObject.nullable()
      .optional()
      .openapi({ type: ["object", "null"] }),
  })
  .openapi("OnComplete");

export const SubmitBatchSchema = z
  .strictObject({
    jobs: z.array(SubmitJobSchema).min(1).max(limits.maxBatchJobs),
    on_complete: OnCompleteSchema.optional().openapi({
      description: "Once every job is terminal, one signed `batch.completed` event with the batch as `data`.",
    }),
  })
  .openapi("SubmitBatch");

export const Time = z.string().openapi({ format: "date-time" });

export const JobSchema = z
  .object({
    id: z.string().openapi({ example: "job_01JD7Z3Q1X0000000000000000" }),
    type: z.string(),
    status: z.enum(jobStatuses),
    input: z
      .unknown()
      .openapi({ description: "The input as sent when its JSON is ≤ 64 KiB, else null (see input_url)." }),
    input_url: z.string().openapi({ description: "`/v1/jobs/{id}/input`: the input whatever its size." }),
    progress: z.object({ percent: z.number(), message: z.string().nullable(), updated_at: Time }).nullable(),
    attempts: z.int().openapi({
      description:
        "Attempts started so far. An attempt given back because R2 was unavailable counts here but not toward " +
        "`max_attempts`, so this can exceed it.",
    }),
    max_attempts: z.int(),
    timeout_seconds: z.int(),
    result: z.unknown(),
    result_url: z.string().nullable(),
    error: z
      .object({
        code: z.string().openapi({
          description:
            "`handler_error` (the handler threw), `timeout`, `worker_lost`, `canceled`, `unknown_job_type`, " +
            "`invalid_input`, `expired` (a canceled job that did not start by its `expires_at`), " +
            "`storage_unavailable` (on a queued job: its last attempt was given back, not counted, because R2 was down), " +
            "or the handler's own snake_case code (`JobError` / `NonRetryableError`).",
        }),
        message: z.string(),
      })
      .nullable(),
    callback_url: z.string().nullable(),
    callback_events: z.array(z.enum(callbackEventTypes)).nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    created_at: Time,
    run_at: Time,
    started_at: Time.nullable(),
    finished_at: Time.nullable(),
    expires_at: Time.nullable().openapi({
      description:
        "From `ttl_seconds`: if the job has not started by then it ends `canceled` with error code `expired`.",
    }),
    retry_of: z.string().nullable().openapi({ description: "The job this one re-runs (`POST /v1/jobs/{id}/retry`)." }),
    batch_id: z.string().nullable().openapi({ description: "The batch it was submitted in." }),
    schedule_id: z.string().nullable().openapi({ description: "The schedule that created it." }),
    version: z.int(),
  })
  .openapi("Job", { example: jobExample });

export const JobListSchema = z
  .object({ jobs: z.array(JobSchema), next_cursor: z.string().nullable() })
  .openapi("JobList");

/** `POST /v1/jobs/batch`'s answer. */
export const BatchSubmittedSchema = z
  .object({ batch_id: z.string().openapi({ example: "bat_01JD7Z3Q1X0000000000000000" }), jobs: z.array(JobSchema) })
  .openapi("BatchSubmitted");

/** A batch (`GET /v1/batches/{id}`, and the `data` of its `batch.completed` event). */
export const BatchSchema = z
  .object({
    id: z.string().openapi({ example: "bat_01JD7Z3Q1X0000000000000000" }),
    status: z.enum(["running", "completed"]),
    counts: z.object({
      total: z.int(),
      succeeded: z.int(),
      failed: z.int(),
      canceled: z.int(),
      pending: z.int().openapi({ description: "Jobs not terminal yet." }),
    }),
    on_complete: z
      .object({ callback_url: z.string(), metadata: z.record(z.string(), z.unknown()).nullable() })
      .nullable(),
    created_at: Time,
    completed_at: Time.nullable(),
  })
  .openapi("Batch");

/** The body of a `batch.completed` callback (API.md "Callbacks"). */
export const BatchEventSchema = z
  .object({ type: z.enum(batchEventTypes), timestamp: Time, data: BatchSchema })
  .openapi("BatchCompletedEvent");

export const BatchIdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "bat_01JD7Z3Q1X0000000000000000" }),
});

/** `GET /v1/jobs/{id}/logs`: what the handler logged (`ctx.log`), oldest first. */
export const JobLogsSchema = z
  .object({
    logs: z.array(
      z.object({
        at: Time,
        attempt: z.int(),
        level: z.enum(["info", "warn", "error"]),
        message: z.string().openapi({ description: "At most 2 KiB (UTF-8)." }),
      }),
    ),
    truncated: z.boolean().openapi({ description: "True when lines past 500 were dropped or a line was cut." }),
  })
  .openapi("JobLogs", { example: jobLogsExample });

export const JobIdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "job_01JD7Z3Q1X0000000000000000" }),
});

export const GetJobQuery = z.strictObject({
  wait: z.coerce.number().int().min(1).max(limits.maxWaitSeconds).optional().openapi({
    description: "Long polling: hold the request until the job is terminal or this many seconds pass.",
  }),
});

export const ListJobsQuery = z.strictObject({
  status: z.enum(jobStatuses).optional(),
  type: z.string().min(1).max(100).optional(),
  batch_id: z.string().min(1).max(100).optional(),
  schedule_id: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(limits.listPageMax).default(limits.listPageDefault),
  cursor: Cursor,
});

export const IdempotencyHeaders = z.object({
  "idempotency-key": z.string().min(1).max(limits.maxIdempotencyKeyLength).optional().openapi({
    description: "Repeat a request safely for 24 h: the same key and body answer the original job(s).",
  }),
});

export const CreateKeySchema = z
  .strictObject({
    name: storedTextField(1, 100).openapi({ example: "acme-prod" }),
    tenant_id: z.string().min(1).max(100).optional().openapi({ description: "Add the key to this existing tenant." }),
  })
  .openapi("CreateKey");

export const CreatedKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    tenant_id: z.string(),
    api_key: z.string().openapi({ description: "Shown only once." }),
    webhook_secret: z.string(),
    created_at: Time,
  })
  .openapi("CreatedKey", { example: createdKeyExample });

export const JobTypeSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    defaults: z.object({
      max_attempts: z.int(),
      timeout_seconds: z.int(),
      retry_base_delay_seconds: z.number().openapi({
        description: "The first retry's delay in seconds before jitter; each next one doubles, up to 15 min.",
      }),
    }),
    input_schema: z.record(z.string(), z.unknown()),
  })
  .openapi("JobType", { example: jobTypeExample });

/** A job's webhook events and every delivery attempt (`GET /v1/jobs/{id}/deliveries`). */
export const DeliveriesSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        status: z.enum(["pending", "delivered", "failed"]),
        attempts: z.int(),
        created_at: Time,
        next_attempt_at: Time.nullable(),
      }),
    ),
    deliveries: z.array(
      z.object({
        event_id: z.string(),
        event_type: z.string(),
        attempt: z.int(),
        trigger: z.enum(["scheduled", "manual"]),
        attempted_at: Time,
        duration_ms: z.int(),
        http_status: z.int().nullable(),
        error: z.string().nullable(),
        response_body: z.string().nullable().openapi({ description: "The first KiB of the answer." }),
        next_attempt_at: Time.nullable(),
      }),
    ),
  })
  .openapi("Deliveries", { example: deliveriesExample });

export const RedeliverySchema = z
  .object({ event_id: z.string(), type: z.string(), status: z.string() })
  .openapi("Redelivery");

/** Shared error responses, named once for every route's OpenAPI entry. */
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

export const errors = {
  400: errorResponse("The request is invalid (see `error.code` and `error.details`)."),
  401: errorResponse("Missing or unknown credentials."),
  404: errorResponse("No such resource for this tenant."),
  409: errorResponse("The request conflicts with the resource's state."),
  413: errorResponse("The request body is larger than 1 MiB."),
  415: errorResponse("The request body is not JSON."),
  429: errorResponse("Rate limited; see the Retry-After header."),
  503: errorResponse("The route is not available (admin token unset)."),
} as const;

/** `GET /v1/stats` (console): counts per status and finished jobs per minute over the last hour. */
export const StatsSchema = z
  .object({
    counts: z.object(Object.fromEntries(jobStatuses.map((s) => [s, z.int()])) as Record<JobStatus, z.ZodInt>).openapi({
      example: { scheduled: 0, queued: 3, running: 2, succeeded: 1840, failed: 12, canceled: 4 },
    }),
    counts_capped: z.array(z.enum(jobStatuses)).openapi({
      description: `Statuses whose count is a lower bound: a shard holds ${limits.statsCountCap} or more of them.`,
      example: [],
    }),
    per_minute: z.array(z.object({ minute: Time, succeeded: z.int(), failed: z.int() })).openapi({
      description: "60 entries, oldest first; the last is the current minute. `minute` is the minute's start.",
      example: [{ minute: "2026-11-30T12:00:00.000Z", succeeded: 31, failed: 1 }],
    }),
    per_minute_partial: z.boolean().openapi({
      description: `True when a shard finished more than ${limits.statsRecentScan} jobs of a status within the hour: its oldest minutes undercount.`,
    }),
  })
  .openapi("Stats");

/** `GET /v1/jobs/{id}/attempts` (console): each attempt's outcome and error. */
export const JobAttemptsSchema = z
  .object({
    attempts: z.array(
      z.object({
        attempt: z.int().openapi({ example: 1 }),
        status: z.enum(["running", "succeeded", "failed", "canceled"]),
        ended_at: Time.nullable(),
        error: z
          .object({ code: z.string(), message: z.string() })
          .nullable()
          .openapi({ example: { code: "handler_error", message: "image host answered 502" } }),
      }),
    ),
  })
  .openapi("JobAttempts");

export const FailingDeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(limits.listPageMax).default(limits.listPageDefault),
  cursor: Cursor,
});

/** `GET /v1/failing-deliveries` (console): the tenant's failing callbacks across jobs, newest first. */
export const FailingDeliveriesSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.string().openapi({ example: "evt_01JD7Z3Q1X0000000000000003" }),
        job_id: z.string().nullable().openapi({ example: "job_01JD7Z3Q1X0000000000000003" }),
        batch_id: z.string().nullable().openapi({
          description: "Set instead of `job_id` for a batch's `batch.completed` event.",
          example: null,
        }),
        type: z.string().openapi({ example: "job.succeeded" }),
        status: z.enum(["pending", "failed"]),
        attempts: z.int().openapi({
          description:
            "Attempts recorded so far, manual ones too, as the job's deliveries count them; " +
            "one in flight, or one cut off before it was recorded, is not counted.",
        }),
        callback_url: z.string().openapi({ example: "https://client.example/hooks/jobs" }),
        created_at: Time,
        next_attempt_at: Time.nullable(),
        last_attempt: z
          .object({
            attempted_at: Time,
            http_status: z.int().nullable().openapi({ example: 503 }),
            error: z.string().nullable().openapi({ description: "A network error, when no status came back." }),
            response_body: z.string().nullable(),
          })
          .nullable(),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("FailingDeliveries");

/**
 * A schedule's job: a submit body without `delay_seconds` (a run's job is
 * due at the schedule's time). Refined rather than `.omit`ted, which zod
 * refuses on a refined object; so every submit field added later applies.
 */
export const ScheduleJobSchema = SubmitJobSchema.refine((job) => job.delay_seconds === undefined, {
  path: ["delay_seconds"],
  message: "A schedule's job runs at its due time: delay_seconds is not accepted.",
}).openapi("ScheduleJob", { description: "A submit body (see SubmitJob) without `delay_seconds`." });

const scheduleFields = {
  cron: z
    .string()
    .min(1)
    .max(200)
    .openapi({
      example: "*/5 * * * *",
      description:
        "Standard 5-field cron (minute hour day-of-month month day-of-week), minute precision; croner's " +
        "extensions too (`L`, `W`, `#`, `?`, nicknames such as `@daily`).",
    }),
  timezone: z.string().min(1).max(100).openapi({
    example: "Europe/Berlin",
    description: "The IANA time zone the expression is read in; daylight-saving changes follow it.",
  }),
  job: ScheduleJobSchema,
  name: storedTextField(1, 200).nullable(),
  paused: z.boolean().openapi({ description: "A paused schedule creates no job until resumed." }),
};

export const CreateScheduleSchema = z
  .strictObject({
    cron: scheduleFields.cron,
    timezone: scheduleFields.timezone.default("UTC"),
    job: scheduleFields.job,
    name: scheduleFields.name.optional(),
    paused: scheduleFields.paused.default(false),
  })
  .openapi("CreateSchedule");

export const UpdateScheduleSchema = z
  .strictObject({
    cron: scheduleFields.cron.optional(),
    timezone: scheduleFields.timezone.optional(),
    job: scheduleFields.job.optional(),
    name: scheduleFields.name.optional(),
    paused: scheduleFields.paused.optional(),
  })
  .openapi("UpdateSchedule");

export const ScheduleSchema = z
  .object({
    id: z.string().openapi({ example: "sch_01JD7Z3Q1X0000000000000000" }),
    name: z.string().nullable(),
    cron: z.string(),
    timezone: z.string(),
    job: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The submit body each due time creates a job from." }),
    paused: z.boolean(),
    next_run_at: Time.nullable().openapi({ description: "The next due time; null while paused." }),
    last_run_at: Time.nullable().openapi({ description: "The due time of the latest run." }),
    last_job_id: z.string().nullable().openapi({ description: "The job the latest run created." }),
    created_at: Time,
  })
  .openapi("Schedule");

export const ScheduleListSchema = z
  .object({ schedules: z.array(ScheduleSchema), next_cursor: z.string().nullable() })
  .openapi("ScheduleList");

export const ScheduleIdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "sch_01JD7Z3Q1X0000000000000000" }),
});

export const ListSchedulesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(limits.listPageMax).default(limits.listPageDefault),
  cursor: Cursor,
});
