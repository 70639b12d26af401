import type { LogLevel } from "../job-types/define";
import { limits } from "../limits";
import { getText, listLogObjects, putLogObject } from "../store/blobs";

/** One line of a job's log as `GET /v1/jobs/{id}/logs` serves it; `at` is RFC 3339. */
export interface LogLine {
  at: string;
  attempt: number;
  level: LogLevel;
  message: string;
}

const levels: ReadonlySet<string> = new Set<LogLevel>(["info", "warn", "error"]);

/**
 * The log of one running attempt (`ctx.log`). Lines are buffered in the
 * consumer and written to R2 as one object per attempt — after every
 * `limits.logFlushLines` new lines, every heartbeat interval while lines wait,
 * and at `close()` — so a job that logs nothing costs nothing and none costs
 * a D1 row. The job's budget (`limits.maxLogLines` over all its attempts) is
 * applied when writing: earlier attempts' line counts are read once, from
 * their objects' metadata, on the first write of an attempt after the first.
 */
export class AttemptLog {
  readonly #bucket: R2Bucket;
  readonly #jobId: string;
  readonly #attempt: number;
  readonly #lines: LogLine[] = [];
  #truncated = false;
  #error: { code: string; message: string } | null = null;
  /** Lines (and the truncated flag and error) as the attempt's object last stored them. */
  #stored = { lines: 0, truncated: false, error: false };
  #earlierLines: Promise<number> | null = null;
  /** The writes, one after another, so the last one written holds every line. */
  #writing: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #writeTried = false;

  constructor(bucket: R2Bucket, jobId: string, attempt: number) {
    this.#bucket = bucket;
    this.#jobId = jobId;
    this.#attempt = attempt;
  }

  /** `ctx.log`: keeps the line (cut to `limits.maxLogLineBytes`). Throws a TypeError for an unknown level. */
  log(message: string, options: { level?: LogLevel } = {}): void {
    const level = options.level ?? "info";
    if (!levels.has(level)) throw new TypeError(`log level must be "info", "warn" or "error", not ${String(level)}`);
    // A handler that ignored its abort signal logs after its attempt ended: the log was written whole then.
    if (this.#closed) return;
    if (this.#lines.length >= limits.maxLogLines) {
      this.#truncated = true;
      return;
    }
    const { text, cut } = cutToBytes(String(message), limits.maxLogLineBytes);
    if (cut) this.#truncated = true;
    this.#lines.push({ at: new Date().toISOString(), attempt: this.#attempt, level, message: text });
    this.#timer ??= setInterval(() => this.#writeInBackground(), limits.heartbeatIntervalSeconds * 1000);
    if (this.#lines.length - this.#stored.lines >= limits.logFlushLines) this.#writeInBackground();
  }

  /**
   * Keeps the attempt's error with its log (the job's row keeps only the
   * latest attempt's), so each attempt's error can be shown. The next write
   * (`close()`) stores it, even when nothing was logged: a failed attempt
   * costs one R2 write, a successful one that logs nothing still none. The
   * message is cut to fit R2's custom metadata (`limits.attemptErrorMetadataBytes`).
   */
  recordFailure(error: { code: string; message: string }): void {
    this.#error = { code: error.code, message: cutToBytes(error.message, limits.attemptErrorMetadataBytes).text };
  }

  /**
   * Whether the attempt may have left a log object in R2: a write was tried
   * (one that failed may still have landed). Final once `close()` settled.
   */
  get mayHaveWritten(): boolean {
    return this.#writeTried;
  }

  /**
   * Stops the periodic writes and writes what is not stored yet (nothing when
   * nothing was logged). Rejects if that write fails: those lines are lost.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#write();
  }

  #writeInBackground(): void {
    this.#write().catch((error) => {
      // The next write (at the latest `close()`) stores these lines again, whole.
      console.warn("job log write failed", { jobId: this.#jobId, attempt: this.#attempt, error: String(error) });
    });
  }

  /** Queues a write of every line so far; its failure goes to the caller, not to the writes after it. */
  #write(): Promise<void> {
    const write = this.#writing.then(() => this.#writeNow());
    this.#writing = Promise.allSettled([write]);
    return write;
  }

  async #writeNow(): Promise<void> {
    const error = this.#error;
    const unchanged = this.#lines.length === this.#stored.lines && this.#truncated === this.#stored.truncated;
    if (unchanged && (error !== null) === this.#stored.error) return;
    const room = Math.max(0, limits.maxLogLines - (await this.#earlier()));
    const lines = this.#lines.length;
    const truncated = this.#truncated;
    const kept = this.#lines.slice(0, room);
    const info = { attempt: this.#attempt, lines: kept.length, truncated: truncated || kept.length < lines, error };
    this.#writeTried = true;
    await putLogObject(this.#bucket, this.#jobId, info, kept.map((line) => `${JSON.stringify(line)}\n`).join(""));
    this.#stored = { lines, truncated, error: error !== null };
  }

  #earlier(): Promise<number> {
    if (this.#attempt === 1) return Promise.resolve(0);
    this.#earlierLines ??= listLogObjects(this.#bucket, this.#jobId).then((objects) =>
      objects.filter((o) => o.attempt < this.#attempt).reduce((sum, o) => sum + o.lines, 0),
    );
    return this.#earlierLines;
  }
}

/**
 * The job's log, oldest first: its attempts' objects in attempt order, at
 * most `limits.maxLogLines` lines; `truncated` when a line was cut or dropped.
 */
export async function readJobLog(bucket: R2Bucket, jobId: string): Promise<{ logs: LogLine[]; truncated: boolean }> {
  const objects = await listLogObjects(bucket, jobId);
  const texts = await Promise.all(objects.map((object) => getText(bucket, object.key)));
  const lines = texts.flatMap((text) =>
    (text ?? "")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as LogLine),
  );
  const truncated = objects.some((object) => object.truncated) || lines.length > limits.maxLogLines;
  return { logs: lines.slice(0, limits.maxLogLines), truncated };
}

/** `text` cut to at most `maxBytes` of UTF-8, at a character boundary. */
function cutToBytes(text: string, maxBytes: number): { text: string; cut: boolean } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= maxBytes) return { text, cut: false };
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), cut: true };
}
