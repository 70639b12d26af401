import { Cron } from "croner";
import { DomainError } from "../jobs/errors";

/**
 * Cron arithmetic, by croner (no home-made parser). An expression is
 * standard 5-field cron (minute, hour, day of month, month, day of week;
 * croner's `L`, `W`, `#` and nicknames such as `@daily` are accepted too);
 * a seconds field is refused. Times are Unix ms; `timezone` is an IANA name.
 *
 * Daylight saving follows Vixie cron, as croner implements it with
 * `fixedTimeRule: "no-wildcard"`: a job at a fixed time of day (no `*` or
 * step in its minute and hour fields, e.g. `30 2 * * *`) whose time falls in
 * a spring-forward gap runs at the first time after the gap, that day, and
 * runs once, at the first occurrence, when an autumn time occurs twice; an
 * interval job (a `*` or a step in its minute or hour field) skips the times
 * of a gap and runs in both passes of a repeated hour, as its interval says.
 */
function cronOf(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, mode: "5-part", fixedTimeRule: "no-wildcard" });
}

/**
 * Checks an expression and zone as a request field would be: throws 400
 * `validation_failed` naming `cron` or `timezone` (under `prefix`) when the
 * zone is not an IANA name, the expression is not 5-field cron, or it never
 * matches a time after `now` (e.g. `0 0 30 2 *`).
 */
export function checkCron(expression: string, timezone: string, now: number, prefix = ""): void {
  if (!isTimeZone(timezone)) {
    throw invalid(`${prefix}timezone`, `"${timezone}" is not an IANA time zone name (e.g. "Europe/Berlin").`);
  }
  let cron: Cron;
  try {
    cron = cronOf(expression, timezone);
  } catch (error) {
    throw invalid(`${prefix}cron`, `Not a 5-field cron expression: ${(error as Error).message}`);
  }
  if (cron.nextRun(new Date(now)) === null)
    throw invalid(`${prefix}cron`, "The expression never matches a future time.");
}

/** The first due time strictly after `after`, or null when there is none. */
export function nextDueAfter(expression: string, timezone: string, after: number): number | null {
  return cronOf(expression, timezone).nextRun(new Date(after))?.getTime() ?? null;
}

/** The latest due time at or before `at`, or null when there is none. */
export function latestDueAtOrBefore(expression: string, timezone: string, at: number): number | null {
  // previousRuns answers times strictly before its start; due times are whole minutes.
  const [latest] = cronOf(expression, timezone).previousRuns(1, new Date(at + 1));
  return latest?.getTime() ?? null;
}

function isTimeZone(name: string): boolean {
  // Intl (workerd's, Node 22's) also takes UTC offsets such as "+05:00", which are no IANA
  // names: every IANA name starts with a letter ("UTC", "Etc/GMT+5", "America/Sao_Paulo").
  if (!/^[A-Za-z]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

function invalid(path: string, message: string): DomainError {
  return new DomainError(400, "validation_failed", message, [{ path, message }]);
}
