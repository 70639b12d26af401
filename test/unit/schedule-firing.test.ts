import { describe, expect, it } from "vitest";
import { checkCron, latestDueAtOrBefore, nextDueAfter } from "../../src/schedules/cron";
import { decideFiring } from "../../src/schedules/firing";

const ms = (iso: string) => Date.parse(iso);
const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

/** The next `count` due times after `from`. */
function dueTimes(cron: string, timezone: string, from: string, count: number): (string | null)[] {
  const times: (string | null)[] = [];
  let after = ms(from);
  for (let i = 0; i < count; i++) {
    const next = nextDueAfter(cron, timezone, after);
    times.push(iso(next));
    if (next === null) break;
    after = next;
  }
  return times;
}

describe("next due time", () => {
  it("reads the expression in the schedule's time zone", () => {
    // 09:00 in Berlin is 08:00 UTC in winter.
    expect(dueTimes("0 9 * * *", "Europe/Berlin", "2026-12-01T00:00:00Z", 1)).toEqual(["2026-12-01T08:00:00.000Z"]);
    expect(dueTimes("0 9 * * *", "UTC", "2026-12-01T00:00:00Z", 1)).toEqual(["2026-12-01T09:00:00.000Z"]);
  });

  it("is strictly after the given time", () => {
    expect(iso(nextDueAfter("* * * * *", "UTC", ms("2026-12-01T10:00:00Z")))).toBe("2026-12-01T10:01:00.000Z");
  });

  // Europe/Berlin springs forward on 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  it("runs a fixed-time job that falls in the spring-forward gap once, at the end of the gap", () => {
    expect(dueTimes("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3)).toEqual([
      "2026-03-29T01:00:00.000Z", // 03:00 CEST: 02:30 does not exist that day
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  it("skips the times of the gap for an interval job", () => {
    expect(dueTimes("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 3)).toEqual([
      "2026-03-29T00:30:00.000Z", // 01:30 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST: 02:00 and 02:30 do not exist
      "2026-03-29T01:30:00.000Z",
    ]);
  });

  // Europe/Berlin falls back on 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC), so 02:30 occurs twice.
  it("runs a fixed-time job in the repeated autumn hour once, at its first occurrence", () => {
    expect(dueTimes("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST; not again at 02:30 CET (01:30 UTC)
      "2026-10-26T01:30:00.000Z", // 02:30 CET
    ]);
  });

  it("runs an interval job in both passes of the repeated hour", () => {
    expect(dueTimes("*/30 2 * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", 4)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET
      "2026-10-25T01:30:00.000Z", // 02:30 CET
      "2026-10-26T01:00:00.000Z",
    ]);
  });
});

describe("latest due time", () => {
  it("includes a due time exactly at the given moment", () => {
    const at = ms("2026-12-01T10:05:00Z");
    expect(latestDueAtOrBefore("* * * * *", "UTC", at)).toBe(at);
    expect(iso(latestDueAtOrBefore("* * * * *", "UTC", at + 59_999))).toBe("2026-12-01T10:05:00.000Z");
  });
});

describe("the timer's decision", () => {
  const schedule = { cron: "*/5 * * * *", timezone: "UTC", paused: false, nextRunAt: ms("2026-12-01T10:05:00Z") };

  it("waits for a due time that has not come", () => {
    expect(decideFiring(schedule, ms("2026-12-01T10:04:59Z"))).toEqual({ kind: "wait", alarmAt: schedule.nextRunAt });
  });

  it("runs a due time that has come, and names the next", () => {
    expect(decideFiring(schedule, ms("2026-12-01T10:05:00.300Z"))).toEqual({
      kind: "run",
      dueAt: schedule.nextRunAt,
      nextRunAt: ms("2026-12-01T10:10:00Z"),
    });
  });

  it("after an outage runs only the latest missed due time, once", () => {
    // Down from 10:04 to 11:02: 10:05 … 11:00 were missed; only 11:00 runs, and 11:05 is next.
    expect(decideFiring(schedule, ms("2026-12-01T11:02:00Z"))).toEqual({
      kind: "run",
      dueAt: ms("2026-12-01T11:00:00Z"),
      nextRunAt: ms("2026-12-01T11:05:00Z"),
    });
  });

  it("does nothing for a paused schedule, due or not", () => {
    expect(decideFiring({ ...schedule, paused: true }, ms("2026-12-01T11:00:00Z"))).toEqual({ kind: "idle" });
    expect(decideFiring({ ...schedule, nextRunAt: null }, ms("2026-12-01T11:00:00Z"))).toEqual({ kind: "idle" });
  });
});

describe("checking an expression and zone", () => {
  const now = ms("2026-12-01T00:00:00Z");
  const pathOf = (cron: string, timezone: string) => {
    try {
      checkCron(cron, timezone, now);
      return "ok";
    } catch (error) {
      return (error as { status: number; code: string; details: { path: string }[] }).details[0]?.path;
    }
  };

  it("accepts standard 5-field cron in an IANA zone", () => {
    expect(pathOf("*/5 * * * *", "Europe/Berlin")).toBe("ok");
    expect(pathOf("0 9 * * MON-FRI", "America/New_York")).toBe("ok");
  });

  it("names the cron field for a bad, seconds-precision or never-matching expression", () => {
    expect(pathOf("61 * * * *", "UTC")).toBe("cron");
    expect(pathOf("* * * *", "UTC")).toBe("cron");
    expect(pathOf("0 * * * * *", "UTC")).toBe("cron"); // 6 fields: seconds are not accepted
    expect(pathOf("0 0 30 2 *", "UTC")).toBe("cron"); // 30 February never comes
  });

  it("names the timezone field for a zone that is not an IANA name", () => {
    expect(pathOf("* * * * *", "Mars/Olympus")).toBe("timezone");
    expect(pathOf("* * * * *", "CEST+2")).toBe("timezone");
  });
});
