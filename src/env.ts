import type { AuthenticatedKey } from "./store/api-keys";
import type { KeyCheck } from "./tenants/key-check";
import type { RateLimiter } from "./tenants/rate-limiter";
import type { TenantSlots } from "./tenants/tenant-slots";
import type { JobTracker } from "./tracker/job-tracker";
import type { OriginGate } from "./webhooks/origin-gate";

/** The Worker's bindings, declared once; `wrangler.toml` is their source. */
export interface Env {
  DB: D1Database;
  BLOBS: R2Bucket;
  JOBS: Queue<JobMessage>;
  CALLBACKS: Queue<CallbackMessage>;
  JOB_TRACKER: DurableObjectNamespace<JobTracker>;
  ORIGIN_GATE: DurableObjectNamespace<OriginGate>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  TENANT_SLOTS: DurableObjectNamespace<TenantSlots>;
  /** Worker secret; admin routes answer 503 while it is unset. */
  ADMIN_TOKEN?: string;
  /** "true" only under `npm run bench`: counts billable operations (src/platform/metering.ts). */
  METERING?: string;
  /** Days finished jobs are kept: a positive number, fractions allowed (default 30). */
  RETENTION_DAYS?: string;
  /** "true" only under `npm run dev` and tests: allows http:// and loopback callbacks. */
  ALLOW_LOCAL_CALLBACKS?: string;
  /** Test-only override of the first retry delay (seconds); production uses the job type's. */
  RETRY_BASE_DELAY_SECONDS?: string;
  /** Test-only: the webhook retry schedule in seconds, comma-separated (default: Standard Webhooks'). */
  WEBHOOK_RETRY_SCHEDULE?: string;
  /** Test-only: the callback request timeout in ms (default 15 000). */
  WEBHOOK_TIMEOUT_MS?: string;
  /** Test-only: how often an open stream re-checks its API key, in ms (default 30 000). */
  KEY_RECHECK_MS?: string;
  /** Test-only: callback requests in flight per origin (default 32). */
  WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN?: string;
}

/** What travels on the jobs queue: only the id; the tracker holds everything else. */
export interface JobMessage {
  job_id: string;
  /**
   * The job's tenant, so its tracker can take a running slot before it reads
   * the job. Absent from messages sent before it was added: the tracker then
   * reads the job first.
   */
  tenant_id?: string;
}

/** What travels on the callbacks queue: the stored event to deliver. */
export interface CallbackMessage {
  event_id: string;
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
      durableNamespaces: "JobTracker" | "OriginGate" | "RateLimiter" | "TenantSlots";
    }
  }
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
