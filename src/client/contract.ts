import type { z } from "zod";
import type {
  BatchSchema,
  BatchSubmittedSchema,
  CreateScheduleSchema,
  DeliveriesSchema,
  JobListSchema,
  JobLogsSchema,
  JobSchema,
  JobTypeSchema,
  ListJobsQuery,
  OnCompleteSchema,
  RedeliverySchema,
  ScheduleListSchema,
  ScheduleSchema,
  SubmitJobSchema,
  UpdateScheduleSchema,
} from "../contract/schemas.ts";
import type { JobInputs as RegisteredInputs } from "../job-types/index.ts";

/*
 * The client's view of the contract, derived from the zod schemas the routes
 * validate with and the OpenAPI document is generated from: one definition.
 * `npm run build:client` prints each alias below expanded to plain types, so
 * the published declarations need neither zod nor the server's sources.
 */

/** `GET /v1/jobs`'s filters and page size; the client follows the cursor itself. */
export type JobListFilters = Partial<Omit<z.output<typeof ListJobsQuery>, "cursor">>;

/** A job as the API answers it (API.md "Jobs"). Times are RFC 3339 strings. */
export type Job = z.output<typeof JobSchema>;

/** `scheduled` · `queued` · `running` · `succeeded` · `failed` · `canceled`. */
export type JobStatus = z.output<typeof JobSchema>["status"];

/** One page of `GET /v1/jobs`: newest first, `next_cursor` null on the last page. */
export type JobPage = z.output<typeof JobListSchema>;

/** `GET /v1/jobs/{id}/logs`: the lines the handler logged, oldest first; `truncated` when lines were dropped or cut. */
export type JobLogs = z.output<typeof JobLogsSchema>;

/** A registered job type as `GET /v1/job-types` describes it, with its input's JSON Schema. */
export type JobTypeInfo = z.output<typeof JobTypeSchema>;

/** `GET /v1/jobs/{id}/deliveries`: the job's webhook events and every delivery attempt. */
export type Deliveries = z.output<typeof DeliveriesSchema>;

/** `POST /v1/jobs/{id}/deliveries/{event_id}/redeliver`'s answer: the attempt is queued. */
export type Redelivery = z.output<typeof RedeliverySchema>;

/** The event names a job can ask callbacks for. */
export type CallbackEventType = NonNullable<z.input<typeof SubmitJobSchema>["callback_events"]>[number];

/** Any JSON value (what `echo` accepts). */
export type { Json } from "../jobs/model.ts";

/** Each registered job type's name and the input it accepts. */
export type JobInputs = RegisteredInputs;

/** The fields of a submit body other than `type` and `input` (API.md `POST /v1/jobs`). */
export type SubmitFields = Omit<z.input<typeof SubmitJobSchema>, "type" | "input">;

/** A batch (`GET /v1/batches/{id}`, and the `data` of its `batch.completed` callback). */
export type Batch = z.output<typeof BatchSchema>;

/** `POST /v1/jobs/batch`'s answer: the batch's id and its jobs. */
export type BatchSubmitted = z.output<typeof BatchSubmittedSchema>;

/** A batch's `on_complete`: where its signed `batch.completed` callback goes, with the caller's metadata. */
export type OnComplete = z.input<typeof OnCompleteSchema>;

/** A schedule as the API answers it (API.md "Schedules"). Times are RFC 3339 strings. */
export type Schedule = z.output<typeof ScheduleSchema>;

/** One page of `GET /v1/schedules`: newest first, `next_cursor` null on the last page. */
export type SchedulePage = z.output<typeof ScheduleListSchema>;

/** `POST /v1/schedules`'s body: `cron` and `job` required; `timezone` defaults to UTC. */
export type ScheduleFields = z.input<typeof CreateScheduleSchema>;

/** `PATCH /v1/schedules/{id}`'s body: any of `cron`, `timezone`, `job`, `paused`, `name`. */
export type ScheduleChanges = z.input<typeof UpdateScheduleSchema>;
