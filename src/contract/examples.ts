/**
 * Example values for the OpenAPI document (/docs shows them as sample
 * requests and answers): one consistent story — an `echo` job that succeeded
 * and whose callback was delivered on its second attempt.
 */

const jobId = "job_01JDA3XG5T8W2R4M6Q9V0B1C3D";
const eventId = "evt_01JDA3XH2K7N5P3S1T9W8X6Y3D";

export const submitJobExample = {
  type: "echo",
  input: { hello: "world" },
  callback_url: "https://client.example/hooks/jobs",
  callback_events: ["job.succeeded", "job.failed", "job.canceled"],
  max_attempts: 3,
  metadata: { order: "A-17" },
};

export const jobExample = {
  id: jobId,
  type: "echo",
  status: "succeeded",
  input: { hello: "world" },
  input_url: `/v1/jobs/${jobId}/input`,
  progress: { percent: 100, message: "done", updated_at: "2026-11-30T12:00:01.250Z" },
  attempts: 1,
  max_attempts: 3,
  timeout_seconds: 300,
  result: { hello: "world" },
  result_url: `/v1/jobs/${jobId}/result`,
  error: null,
  callback_url: "https://client.example/hooks/jobs",
  callback_events: ["job.succeeded", "job.failed", "job.canceled"],
  metadata: { order: "A-17" },
  created_at: "2026-11-30T12:00:00.000Z",
  run_at: "2026-11-30T12:00:00.000Z",
  started_at: "2026-11-30T12:00:00.120Z",
  finished_at: "2026-11-30T12:00:01.300Z",
  expires_at: null,
  retry_of: null,
  batch_id: null,
  schedule_id: null,
  version: 4,
};

export const jobLogsExample = {
  logs: [{ at: "2026-11-30T12:00:00.500Z", attempt: 1, level: "info", message: "step 1 of 5" }],
  truncated: false,
};

export const deliveriesExample = {
  events: [
    {
      id: eventId,
      type: "job.succeeded",
      status: "delivered",
      attempts: 2,
      created_at: "2026-11-30T12:00:01.300Z",
      next_attempt_at: null,
    },
  ],
  deliveries: [
    {
      event_id: eventId,
      event_type: "job.succeeded",
      attempt: 1,
      trigger: "scheduled",
      attempted_at: "2026-11-30T12:00:01.310Z",
      duration_ms: 15000,
      http_status: null,
      error: "timed out after 15000 ms",
      response_body: null,
      next_attempt_at: "2026-11-30T12:00:21.310Z",
    },
    {
      event_id: eventId,
      event_type: "job.succeeded",
      attempt: 2,
      trigger: "scheduled",
      attempted_at: "2026-11-30T12:00:21.400Z",
      duration_ms: 84,
      http_status: 204,
      error: null,
      response_body: "",
      next_attempt_at: null,
    },
  ],
};

export const createdKeyExample = {
  id: "key_01JDA3W9ZP4Q6R8S0T2V4W6X8Y",
  name: "acme-prod",
  tenant_id: "ten_01JDA3W9ZN2M4P6Q8R0S2T4V6W",
  api_key: "ejk_3q9ZxT0bQm7YfW2kLr8sVn4pHc6uJd1a",
  webhook_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  created_at: "2026-11-30T11:58:00.000Z",
};

export const jobTypeExample = {
  name: "sleep",
  description: "Sleeps `seconds` in `steps` equal steps, reporting progress and logging `step k of n` after each.",
  defaults: { max_attempts: 1, timeout_seconds: 840, retry_base_delay_seconds: 2 },
  input_schema: {
    type: "object",
    properties: { seconds: { type: "number", minimum: 0, maximum: 900 }, steps: { type: "integer", default: 1 } },
    required: ["seconds"],
  },
};
