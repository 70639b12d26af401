import type { BatchTracker } from "./batches/tracker";
import type { SettingVariables } from "./config";
import type { ScheduleTimer } from "./schedules/schedule-timer";
import type { AuthenticatedKey } from "./store/api-keys";
import type { KeyCheck } from "./tenants/key-check";
import type { KeyStreams } from "./tenants/key-streams";
import type { RateLimiter } from "./tenants/rate-limiter";
import type { TenantSlots } from "./tenants/tenant-slots";
import type { JobTracker } from "./tracker/job-tracker";
import type { OriginGate } from "./webhooks/origin-gate";

/**
 * The Worker's bindings, declared once; `wrangler.toml` is their source. The
 * string variables (settings) are read only through `parseConfig` (src/config.ts).
 */
export interface Env extends SettingVariables {
  /** The control database; job records live on the shards (store/databases.ts). */
  DB: D1Database;
  /** The job shards, SHARD_0 up: as many as wrangler.toml binds. */
  [shard: `SHARD_${number}`]: D1Database | undefined;
  BLOBS: R2Bucket;
  /** The jobs queues, JOBS_0 up: as many as wrangler.toml binds (jobs/job-queues.ts). */
  [jobs: `JOBS_${number}`]: Queue<JobQueueMessage> | undefined;
  CALLBACKS: Queue<CallbackMessage>;
  JOB_TRACKER: DurableObjectNamespace<JobTracker>;
  ORIGIN_GATE: DurableObjectNamespace<OriginGate>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  TENANT_SLOTS: DurableObjectNamespace<TenantSlots>;
  BATCH_TRACKER: DurableObjectNamespace<BatchTracker>;
  SCHEDULE_TIMER: DurableObjectNamespace<ScheduleTimer>;
  KEY_STREAMS: DurableObjectNamespace<KeyStreams>;
}

/** What travels on the jobs queue: only the id (which names its shard); the tracker holds everything else. */
export interface JobMessage {
  job_id: string;
  /**
   * The job's tenant, so its tracker can take a running slot before it reads
   * the job, and find the job's row by its key (tenant, status, id). Absent
   * from messages sent before it was added: the tracker then reads the job
   * first, probing every tenant with jobs on the shard (store/jobs.ts
   * `findJob`).
   */
  tenant_id?: string;
  /**
   * Set on the one message a job's submit sends: before it, no run of the
   * job can have begun. A run of any other message (a re-send of a job that
   * looked lost, a slot hand-off, a dead letter put back, a retry) may follow
   * one whose start its tracker held and lost, which the job's report must
   * allow for (jobs/run.ts `mayFollowUnseenRun`).
   */
  first?: true;
}

/**
 * Several jobs' first messages as one queue message: submits that meet in
 * an isolate are sent together (jobs/job-packs.ts), and Queues bills each
 * message, not each job (3 operations per 64 KB). Its consumer runs every
 * job and acks it only when all of them are settled.
 */
export interface JobPack {
  jobs: JobMessage[];
}

/** A message on a jobs queue: one job's, or a pack of them. */
export type JobQueueMessage = JobMessage | JobPack;

/** What travels on the callbacks queue: the stored event to deliver. */
export interface CallbackMessage {
  event_id: string;
  /**
   * The job (or batch) the event is about: half of the event's key
   * (migration 0016). A message sent before that migration has none and
   * finds no event; the sweep sends its event again.
   */
  job_id: string;
  /** The scheduled attempt this message is for; absent for a manual redelivery. */
  attempt?: number;
  /** The callback URL's origin, so a batch is gated per origin before any event is read. */
  origin: string;
}

type WorkerEnv = Env;

// Types `env` from "cloudflare:workers" (used by tests) with these bindings.
declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("./index");
      durableNamespaces: "JobTracker" | "OriginGate" | "RateLimiter" | "TenantSlots" | "BatchTracker" | "ScheduleTimer";
    }
  }
}

// A handler's `ctx.env` is these bindings (job-types/define.ts declares it apart, for the client).
declare module "./job-types/define" {
  interface JobEnv extends WorkerEnv {}
}

/** The Hono environment of the API: bindings plus what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Set by the API-key middleware: the caller's tenant and key. */
    tenantId: string;
    apiKey: AuthenticatedKey;
    /** Set by the API-key middleware: a key check the handler's first batch must carry, or null. */
    keyCheck: KeyCheck | null;
    /** Set by the JSON-body middleware: the raw body, for idempotency hashing. */
    rawBody: string;
  };
}
