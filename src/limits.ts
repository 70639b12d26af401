/**
 * Every tunable and platform limit in one place. The README's
 * "Guarantees and limits" section mirrors this file.
 */
export const limits = {
  /**
   * Request bodies above this answer 413 (API.md), and so does an input whose
   * JSON as stored (re-serialised: `9e20` becomes 21 digits) is larger, or a
   * request's inputs together: nothing stored outgrows what was accepted.
   */
  maxBodyBytes: 1024 * 1024,
  /** Results and inputs whose JSON is larger live in R2, not D1 (API.md: result ≤ 64 KiB inline). */
  maxInlineJsonBytes: 64 * 1024,
  /** `metadata` as JSON (API.md). */
  maxMetadataBytes: 4 * 1024,
  /**
   * A job's error message and progress message, in UTF-16 code units. With the
   * inline input and result (≤ 64 KiB each) and metadata they bound a job row
   * and a stored webhook event far below D1's 2 MB per value.
   */
  maxErrorMessageChars: 1000,
  maxProgressMessageChars: 1000,
  /**
   * A job's log (`ctx.log`, API.md `GET /v1/jobs/{id}/logs`): at most this
   * many lines over all its attempts, each message at most this many UTF-8
   * bytes; beyond them lines are dropped or cut and the log says `truncated`.
   * A full log is under 1.1 MiB: one R2 object per attempt, read whole.
   */
  maxLogLines: 500,
  maxLogLineBytes: 2 * 1024,
  /**
   * A running attempt writes its log object again after this many new lines,
   * and otherwise every heartbeat interval while lines are waiting: a long
   * attempt's lines survive a crash, and a chatty one costs one R2 write per
   * 100 lines at most (its last write is at its end).
   */
  logFlushLines: 100,
  /** Jobs in one `POST /v1/jobs/batch`; also the Queue `sendBatch` limit. */
  maxBatchJobs: 100,
  /** API.md: Idempotency-Key ≤ 255 chars, remembered 24 h. */
  maxIdempotencyKeyLength: 255,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
  /** `delay_seconds`: 30 days. Queues delay at most 24 h, so longer waits use the tracker's alarm. */
  maxDelaySeconds: 30 * 24 * 60 * 60,
  maxQueueDelaySeconds: 24 * 60 * 60,
  /**
   * Jobs in one packed queue message (jobs/job-packs.ts). A job's message is
   * under 200 bytes, so a pack stays far below the 64 KB that Queues bills
   * as one operation (developers.cloudflare.com/queues/platform/pricing,
   * read 2026-11-29) and 100 packs below `sendBatch`'s 256 KB. A consumer
   * batch of `max_batch_size` (100) messages can then carry 1,000 jobs,
   * which its invocation runs at once.
   */
  jobsPerPack: 10,
  /**
   * The longest a submit's jobs wait for other submits' to share their
   * queue messages (jobs/job-packs.ts): only while other submits are being
   * stored in the same isolate, so an idle service waits for nothing.
   */
  packLingerMs: 20,
  /**
   * How long a submit being stored counts as coming (jobs/job-packs.ts):
   * a request canceled meanwhile never says it will not come, and without
   * this bound every later submit of its isolate would wait `packLingerMs`.
   */
  packPlaceForgetMs: 1_000,
  /**
   * `ttl_seconds` (API.md: 1 s – 30 days, like `delay_seconds`): a job not
   * started by `run_at` + ttl ends `expired`, by its tracker's alarm.
   */
  maxTtlSeconds: 30 * 24 * 60 * 60,
  maxAttempts: 20,
  /** A consumer run is cut at 15 min of wall clock; 14 min leaves room to record the outcome. */
  maxTimeoutSeconds: 14 * 60,
  /** `?wait=` for long polling. */
  maxWaitSeconds: 60,
  /**
   * An open stream (SSE, WebSocket, long poll) re-reads its API key this
   * often and ends once it is revoked: the backstop behind the key's
   * KeyStreams object, which ends it at once. API.md promises the end within
   * 60 s, and half of that leaves room for a slow read. One indexed D1 read
   * per open stream per interval.
   */
  keyRecheckMs: 30_000,
  listPageDefault: 20,
  listPageMax: 100,
  maxCallbackUrlLength: 2048,
  /** Retry backoff: about 2 s before the second attempt, doubling, capped at 15 min, ±20 % jitter. */
  retryBaseDelaySeconds: 2,
  retryMaxDelaySeconds: 15 * 60,
  retryJitter: 0.2,
  /**
   * A running attempt is taken on trust this long after it starts (most jobs
   * finish sooner and never cost a check); after that the sweep asks its
   * tracker whether the attempt still heartbeats.
   */
  attemptLeaseSeconds: 30,
  /** A running attempt tells its tracker it is alive this often (an RPC, no write); shorter jobs send none. */
  heartbeatIntervalSeconds: 10,
  /**
   * An attempt's first heartbeat comes this long (ms) after it begins, and
   * has its tracker store the start: until then the tracker holds it in
   * memory, and D1 (lists, counts, a job's GET) still shows the job waiting.
   * An attempt that ends sooner never has its start stored apart from its
   * end: one D1 row written a job less. A second is well past what a quick
   * job takes (the bench's `echo` ends within milliseconds) and well within
   * what a watcher notices.
   */
  startStoredAfterMs: 1000,
  /**
   * An attempt not heard from for this long is lost (two missed heartbeats and
   * a margin); a tracker that has not heard from it at all (just restarted)
   * waits this long for a heartbeat before reclaiming. BullMQ notices a stalled
   * job within 30 s.
   */
  attemptSilenceSeconds: 25,
  /**
   * An attempt's read of its input or write of its result (R2) that fails is
   * tried again after each of these delays (ms): 7 s, within the attempt's
   * lease (before its handler) or while its heartbeats go on (after it);
   * if the last try fails too, the attempt is given back, not counted
   * (lifecycle.ts `decideOutcome`), and runs again `infraRetryMaxDelaySeconds` later.
   */
  storeRetryDelaysMs: [1000, 2000, 4000],
  /**
   * A consumer whose `begin` failed asks once more after each of these delays
   * (ms), through a new stub, with the same start token (jobs/run.ts): a
   * start the tracker stored though its answer was lost (the object reset by
   * a deploy just after the write, or D1's answer lost) is then the caller's
   * again instead of being reclaimed later as a lost worker. At once: a reset
   * object answers a new stub at once, and a D1 still failing is an outage,
   * for the queue's growing delays (each delay here holds every failing
   * message of the batch).
   */
  startRetryDelaysMs: [0],
  /** Random bytes in a consumer's start token: it only needs to differ from the other begin calls of one job. */
  startTokenBytes: 9,
  /**
   * A consumer that cannot reach the job's tracker with an attempt's outcome
   * (the object reset by a deploy, overloaded) tries again after each of
   * these delays (ms): 15 s in all, within `attemptSilenceSeconds`, so the
   * tracker is told before it could take the silent attempt for lost.
   */
  outcomeReportRetryDelaysMs: [1000, 2000, 4000, 8000],
  /**
   * A queued job whose message has not started it by run_at + this is
   * re-enqueued; a duplicate message is harmless (`begin()` answers skip).
   */
  enqueueGraceSeconds: 30,
  /**
   * A pending callback event overdue by this long, with no attempt claimed
   * meanwhile, lost its message and is sent again: longer than one attempt
   * (the 15 s request timeout plus recording it), so an attempt in flight is
   * not doubled.
   */
  callbackLostAfterSeconds: 30,
  /**
   * A job consumer starts no callback's first attempt later than this after
   * the event was stored (its group's tickets carry callbacks in turn:
   * webhooks/first-attempt.ts); the rest go through the callbacks queue,
   * whose attempts are claimed. So the last such attempt ends, at the 15 s
   * timeout plus 1 s of body, by 26 s, before the sweep sends a pending
   * event again at `callbackLostAfterSeconds` (30 s): never twice.
   */
  firstAttemptCarryMs: 10_000,
  /** Per-tenant defaults (a tenant's row may override each): API requests per key per minute… */
  defaultSubmitPerMinute: 6000,
  defaultReadPerMinute: 12000,
  /**
   * A Worker isolate leases rate-limit tokens to spend without a Durable
   * Object request: at most this share of a minute's budget (1 %: ~0.01 DO
   * requests per API request while the bucket is full, and a key's object
   * then carries ~100,000 requests/s); less as the bucket empties and more
   * isolates hold leases, down to 1 (one DO request per API request, ~1,000
   * requests/s per key, only near the limit).
   */
  rateLeaseMaxShare: 0.01,
  /**
   * A lease is spent for this long at most; its holder reports what it spent
   * on its next lease, and a lease not reported within twice this is
   * reclaimed as unused (its isolate went idle), so idle isolates strand no
   * tokens for longer than that.
   */
  rateLeaseMs: 2_000,
  /**
   * Unreported leases of a bucket hold at most this share of a minute's
   * budget beyond the token each holder spent at once; the limiter admits
   * against them rather than refuse below the limit, so a key may pass its
   * limit by this much (taken from the next moments' refill). Past it every
   * lease is 1 token: one DO request per API request.
   */
  rateLeaseUnreportedShare: 0.1,
  /**
   * A job consumer gives back the slots of jobs that end within this many ms
   * of each other in one request to their tenant's slots object (which takes
   * ~1,000 requests/s): under load a fraction of a request per job.
   */
  slotReleaseCoalesceMs: 5,
  /** …and jobs running at once; the rest wait, oldest first. */
  defaultMaxRunningJobs: 50,
  /**
   * A running slot handed to a waiting job is kept for it this long (twice
   * `enqueueGraceSeconds`): its message may be lost, and the sweep re-enqueues
   * a queued job a grace after its last change; unclaimed by then, it goes to
   * the next waiter.
   */
  slotReservationSeconds: 60,
  /**
   * A tenant's slots ask the trackers of jobs that have held a slot longer
   * than `attemptLeaseSeconds` whether they still run (a release lost to a
   * crash would hold it forever): only while an acquire is refused, at most
   * this often per tenant and this many jobs at a time, those confirmed least
   * recently first.
   */
  slotAuditIntervalSeconds: 30,
  slotAuditBatch: 100,
  /**
   * A tenant's slots store each request's changes as one journal row (rows
   * written are billed, $1 per million, deletes too), and every this many rows
   * one snapshot of all its entries instead, over the last one, so a restart
   * replays at most this many rows. The ring's rows are overwritten, never
   * deleted: a snapshot adds ~1/50 row per request.
   */
  slotJournalRows: 50,
  /**
   * Entries per snapshot (or journal) row: ~65 bytes of JSON each (job id,
   * state, time), ~650 KB a row, under the 2 MB a Durable Object's SQLite
   * value may hold (developers.cloudflare.com/durable-objects/platform/limits,
   * read 2026-11-30).
   */
  slotSnapshotChunkEntries: 10_000,
  /** JSON nesting deeper than this is refused before any validation walks it. */
  maxJsonDepth: 64,
  /**
   * RETENTION_DAYS unset (src/config.ts): a week of job records, as Cloudflare
   * Workflows keeps by default on the paid plan; longer costs D1 storage
   * (bytes per job × jobs per second × the window, against 10 GB per database).
   */
  defaultRetentionDays: 7,
  /**
   * How long past its retention time an expired job's row waits for a new
   * job of its tenant to take it over (store/jobs.ts `reuseExpiredJob`)
   * before the sweep deletes it (ms; the retention time itself when that is
   * shorter: src/config.ts `reuseWindowMs`). A sweep every minute that
   * deleted each job as soon as it expired would leave a new job only the
   * jobs that expired since the last sweep to take over; with an hour, a
   * tenant that submits at least as fast as its jobs expire has one waiting,
   * so its jobs' deletes cost nothing.
   */
  reuseWindowMs: 60 * 60 * 1000,
  /**
   * A new job looks at this many of its tenant's oldest succeeded jobs for
   * one to take over (rows read, on the key's range). Jobs that cannot be
   * taken over (they logged, or kept an R2 object) and stand first wait for
   * the sweep's delete; the few read keep a submit's cost flat.
   */
  reuseCandidates: 4,
  /**
   * Expired jobs one retention round deletes, with their webhook events and
   * delivery attempts, in one D1 transaction of set-based deletes (two round
   * trips: a read of the jobs, then the deletes). A round rewrites a few
   * thousand rows and index entries, milliseconds of D1's single thread, so
   * live queries wait little behind it; idempotency keys go by the same count.
   */
  retentionChunk: 1000,
  /**
   * A sweep starts retention rounds, one after another, until nothing has
   * expired or this much wall-clock time has passed: well under both the
   * minute until the next sweep (so sweeps do not overlap) and a Cron
   * Trigger's 15 min wall-time limit (developers.cloudflare.com/workers/platform/limits,
   * read 2026-11-30). Shared by every database a sweep purges.
   */
  retentionSweepMs: 20_000,
  /**
   * A Worker invocation may make 1,000 D1 queries on the paid plan; past them
   * every later D1 call of the invocation fails
   * (developers.cloudflare.com/d1/platform/limits, read 2026-11-30). One cron
   * invocation runs the sweep, then retention, and stays under it.
   */
  d1QueriesPerInvocation: 1000,
  /**
   * …or until it has run this many D1 statements (counting each statement
   * of a batch): what one cron invocation's `d1QueriesPerInvocation` (1,000)
   * leaves after the sweep before it, with a margin. The sweep's worst case
   * with 32 shards and the control database: 7 statements a shard (stranded
   * jobs, overdue events, their postponement's four — giving held events rows
   * of their own (two), one update for `pending` events, one for `sending`
   * ones: store/overdue-events.ts `postponeEvents` — stalled batches) and the
   * control database's overdue schedules, 225; replica repair's 33
   * fingerprints, 64 pages (`replicaRepairPages`) of 4 (a control page, the
   * shard's page, a copy and a delete; a page that also revokes keys in the
   * control database, a fifth statement, counts as two) and a cursor per
   * shard, 321. That is 546; retention takes statements from this budget
   * before it runs them, so all databases together never overrun it:
   * 546 + 450 = 996, under 1,000. More shards cost 7 statements each here, a
   * fingerprint and a cursor in repair, and a list each from this budget (a
   * job round's deletes take up to 4, `jobRoundMaxStatements` less its list,
   * until they have run).
   */
  retentionSweepMaxStatements: 450,
  /** R2 deletes at most 1,000 keys per request (R2 Workers API, `delete(keys)`). */
  r2MaxKeysPerDelete: 1000,
  /** Jobs the cron sweep recovers per run (each is one Durable Object request). */
  sweepBatch: 100,
  /** A callback request's timeout (API.md: a 2xx within 15 s). */
  callbackTimeoutMs: 15_000,
  /** Jitter on the webhook retry schedule (src/webhooks/schedule.ts). */
  webhookRetryJitter: 0.2,
  /** Bytes of a receiver's answer that are read and logged; the rest is never downloaded. */
  maxCallbackResponseBytes: 1024,
  /**
   * How long that KiB may take to arrive once the status line is in. The
   * status alone decides an attempt (Standard Webhooks; Svix and Stripe look
   * at the status only), so a body slower than this is cut, never a failure.
   */
  callbackBodyReadMs: 1_000,
  /**
   * Callback attempts of one batch that end within this many ms are recorded
   * in one D1 batch: each is recorded as it ends, so its retry counts from
   * its own end, not from a slow sibling's.
   */
  callbackRecordCoalesceMs: 5,
  /**
   * Requests in flight at once to one callback origin, so one slow receiver
   * cannot hold every consumer. A Worker invocation keeps at most 6
   * connections open (developers.cloudflare.com/workers/platform/limits,
   * "Simultaneous open connections", read 2026-11-29), so one origin is sent
   * to by up to 128 / 6 ≈ 21 invocations at once: 20 callbacks consumers of
   * 6 events each, or job consumers' first attempts — about 1,200 callbacks/s
   * to a receiver answering in 100 ms. A dead receiver holds at most 128.
   */
  maxInFlightPerOrigin: 128,
  /**
   * Connections one Worker invocation keeps open at once; further `fetch`es
   * wait for one to close (developers.cloudflare.com/workers/platform/limits,
   * "Simultaneous open connections", read 2026-11-29). A job consumer sends
   * its callbacks' first attempts this many at a time, so each attempt's
   * duration and timeout count from when it is sent.
   */
  connectionsPerInvocation: 6,
  /**
   * The job consumer that finishes a job makes its callback's first attempt
   * itself (no queue message, no claim: webhooks/first-attempt.ts), but only
   * to an origin not found slow within the last `slowOriginMemoryMs`: found
   * slow when `lateRequestsForSlowOrigin` requests of one consumer's group
   * took longer than this (all of a smaller group's), or one of its slots
   * was held longer than `hungOriginMs` (a request that does not come back).
   * A slow receiver's callbacks go through the callbacks queue, so it cannot
   * keep job consumers waiting.
   */
  quickOriginMs: 1_000,
  /**
   * Requests of one consumer's group that must run past `quickOriginMs`
   * before the group stops and the origin counts as slow (fewer when the
   * group is smaller): one straggler (a receiver's pause, a busy isolate) is
   * not a slow origin, while a slow or hung one makes the first round of 6
   * late together, so a group sends at most one round to it (a hung one:
   * one 15 s timeout).
   */
  lateRequestsForSlowOrigin: 3,
  hungOriginMs: 5_000,
  slowOriginMemoryMs: 60_000,
  /** A callback that finds its origin busy waits this long (plus jitter) and tries again, without using an attempt. */
  originBusyDelaySeconds: 1,
  /** The previous webhook secret keeps signing this long after a rotation (API.md). */
  previousSecretValidMs: 24 * 60 * 60 * 1000,
  /**
   * Secrets valid at once: the current one and two rotated out within their
   * window (API.md: after two rotations within 24 h, three signatures; a
   * fourth is refused with 409 rotation_limit).
   */
  maxValidWebhookSecrets: 3,
  /**
   * A manual redelivery holds its event for this long at most (API.md: one
   * in flight per event): long enough for the queue, a few busy-origin
   * bounces and the request's timeout; a lost one frees the event after it.
   */
  redeliveryLeaseMs: 2 * 60 * 1000,
  /**
   * D1 binds at most 100 values per statement ("Maximum bound parameters per
   * query", developers.cloudflare.com/d1/platform/limits, read 2026-11-29).
   * src/store/sql.ts refuses a statement above it where it is written, rather
   * than D1's "too many SQL variables" when its batch runs.
   */
  d1MaxBoundParameters: 100,
  /**
   * D1 runs a compound SELECT of at most 5 terms: a sixth `UNION ALL` arm is
   * "too many terms in compound SELECT" (SQLite's SQLITE_LIMIT_COMPOUND_SELECT,
   * lowered from its default of 500). Not on D1's limits page; measured in
   * workerd under wrangler 4.164.0, 2026-11-30. A compound nested as one
   * term of another counts apart, so src/store/sql.ts `unionAll` nests.
   */
  d1MaxCompoundSelectTerms: 5,
  /**
   * An infrastructure failure (D1 overloaded or down, a tracker or origin gate
   * unreachable) is back-pressure, not a job's failure: the message waits and
   * is retried, 5 s (the old fixed `retry_delay`) doubling to 10 min, with
   * `retryJitter` so an outage's backlog does not come back in lockstep.
   */
  infraRetryBaseDelaySeconds: 5,
  infraRetryMaxDelaySeconds: 10 * 60,
  /**
   * Retries per message: Queues' maximum (0–100, developers.cloudflare.com/queues/platform/limits,
   * read 2026-11-29); wrangler.toml's main consumers set it. With the backoff above a message
   * waits about 16 h before it is dead-lettered, and the dead-letter consumers put it back on
   * its queue `infraRetryMaxDelaySeconds` later: an outage of any length only delays.
   */
  queueMaxRetries: 100,
  /**
   * The console's counts (GET /v1/stats) read at most this many jobs per
   * status and shard (a range of the jobs' key, tenant and status): a tenant
   * with more shows a lower bound ("10,000+") instead of a scan of all its jobs.
   */
  statsCountCap: 10_000,
  /**
   * The console's chart of the last hour (GET /v1/stats) reads the newest
   * this many succeeded and failed jobs per shard (the jobs' key, newest
   * first) and keeps those finished within the hour: a bounded read however
   * many jobs the tenant has; past 16 × this many finishes an hour per status
   * the chart's oldest minutes undercount, and the answer says so.
   */
  statsRecentScan: 2_000,
  /**
   * A failed attempt's error is kept in its log object's R2 custom metadata,
   * whose keys and values may total 2,048 bytes
   * (developers.cloudflare.com/r2/platform/limits, read 2026-11-30): the
   * message is cut to this many bytes of UTF-8 to leave room for the rest.
   */
  attemptErrorMetadataBytes: 1_500,
  /**
   * A batch still running whose jobs have all been terminal this long lost a
   * job's report to its BatchTracker (reported right after the job is stored,
   * so within ms), and the sweep has its tracker reconcile it against the
   * jobs' rows. As long as a lost callback's grace: the sweep runs every minute anyway.
   */
  batchReportGraceSeconds: 30,
  /**
   * Schedules per tenant (API.md "Schedules"): the creation that would pass it
   * answers 409 `schedule_limit`. They live in the control database and the
   * backstop sweep reads them, so the number stays small.
   */
  maxSchedulesPerTenant: 1000,
  /**
   * A schedule whose next due time is this far past without a run is
   * overdue: its timer's alarm was lost (a Durable Object alarm fires at its
   * time, retried by the platform), and the minute's sweep wakes the timer.
   * A few seconds, so the sweep never races an alarm that is merely firing.
   */
  scheduleOverdueSeconds: 5,
  /**
   * A schedule's job body as JSON: it is stored in the schedule's row and
   * shown in every read of it, so a page of 100 schedules stays a few MiB
   * (a submit's 1 MiB input would make it 100 MiB). A larger input belongs
   * in R2 or your own store, named by the input.
   */
  maxScheduleJobBytes: 64 * 1024,
  /** Overdue schedules the sweep wakes per run (each is one Durable Object request). */
  scheduleSweepBatch: 100,
  /**
   * Replica repair (tenants/replica-repair.ts): a shard's copy of a tenant or
   * key row written this recently is left alone, since the write that changed
   * it may still be on its way to the control database (each step of a
   * replicated write is one D1 batch, which D1 ends within 30 s: "Maximum
   * SQL query duration", developers.cloudflare.com/d1/platform/limits, read
   * 2026-11-30). A copy left behind by a write that failed is mended this
   * long after it.
   */
  replicaWriteGraceMs: 5 * 60 * 1000,
  /**
   * Rows of one table compared per page, and copied in one statement: a
   * page of tenants as JSON is ~30 KB, under D1's 100 KB per statement.
   */
  replicaRepairPageRows: 100,
  /**
   * Pages a sweep compares, over every shard whose copy differs (each costs
   * one read of the shard, and a write when it differs, two pages' worth when
   * it also revokes keys in the control database; the control
   * database's pages are read once per sweep): at most 6,400 rows and about
   * 290 D1 statements a sweep, only while a copy differs. A full pass over a
   * shard is two pages when there are under 100 tenants and 100 keys, so
   * even every shard at once (an upgrade; wrangler.toml's 32 shards take 64)
   * is mended in one sweep; a new shard with up to 6,400 of them too.
   */
  replicaRepairPages: 64,
} as const;
