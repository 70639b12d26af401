import { describe, expect, it } from "vitest";
// The console's wording module is plain browser JavaScript without DOM use: it runs in Node as it is.
// @ts-expect-error: no declarations for the dashboard's own modules.
import { deliveryOutcome, percent } from "../../public/console/words.js";
import { combineStats } from "../../src/jobs/stats";
import type { ShardStats } from "../../src/store/stats";

describe("the console's words", () => {
  it("says each recorded delivery error in plain words, keeping the original beside it", () => {
    const said = (error: string) => deliveryOutcome({ http_status: null, error });
    // What src/webhooks/post.ts records, and what workerd's fetch throws.
    expect(said("timed out after 15000 ms")).toMatch(/^Timed out/);
    expect(said("Error: Network connection lost.")).toMatch(/^Connection refused or lost/);
    expect(said("connect ECONNREFUSED 127.0.0.1:9")).toMatch(/^Connection refused:/);
    expect(said("getaddrinfo ENOTFOUND hooks.example")).toMatch(/^Name not found/);
    expect(said("TLS peer's certificate is not trusted")).toMatch(/^TLS failed/);
    expect(said("callback_url names a private address")).toMatch(/^Refused before sending/);
    // What workerd answers for a name that does not resolve, or a TLS failure, under npm run dev (new user).
    expect(said("Error: internal error; reference = pj14ri6dceeehhno3h1l908u")).toMatch(/^Network error: .*reference/);
    // Whatever letters the random reference holds (breaker: "tls" in one read "TLS failed").
    for (const reference of ["pj14tlsdceee", "dnsa9refused", "timeout0ssl1"]) {
      expect(said(`Error: internal error; reference = ${reference}`)).toMatch(/^Network error/);
    }
    expect(said("timed out after 15000 ms")).toContain("(timed out after 15000 ms)");
    expect(said("something new")).toBe("something new");
  });

  it("names HTTP answers, redirects and 410 Gone", () => {
    expect(deliveryOutcome({ http_status: 204, error: null })).toBe("Delivered (HTTP 204)");
    expect(deliveryOutcome({ http_status: 503, error: null })).toBe("HTTP 503 Service Unavailable");
    expect(deliveryOutcome({ http_status: 302, error: null })).toMatch(/redirect, which is not followed/);
    expect(deliveryOutcome({ http_status: 410, error: null })).toMatch(/Gone \(retries stopped\)/);
    expect(deliveryOutcome({ http_status: 599, error: null })).toBe("HTTP 599");
  });

  it("rounds progress to whole percents", () => {
    expect(percent(33.3333)).toBe("33 %");
    expect(percent(66.6667)).toBe("67 %");
    expect(percent(null)).toBe("0 %");
  });
});

describe("combineStats", () => {
  const zero = { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  const since = Date.UTC(2026, 10, 30, 11, 1);

  it("sums the shards and puts each minute's finishes in its own bucket, oldest first", () => {
    const shards: ShardStats[] = [
      {
        counts: { ...zero, succeeded: 3, failed: 1 },
        capped: [],
        finished: [
          { status: "succeeded", minute: since, count: 2 },
          { status: "failed", minute: since + 59 * 60_000, count: 1 },
        ],
        recentFull: [],
      },
      {
        counts: { ...zero, succeeded: 10_000 },
        capped: ["succeeded"],
        finished: [{ status: "succeeded", minute: since + 59 * 60_000, count: 4 }],
        recentFull: ["succeeded"],
      },
    ];
    const stats = combineStats(shards, since);
    expect(stats.counts).toEqual({ ...zero, succeeded: 10_003, failed: 1 });
    expect(stats.counts_capped).toEqual(["succeeded"]);
    expect(stats.per_minute).toHaveLength(60);
    expect(stats.per_minute[0]).toEqual({ minute: "2026-11-30T11:01:00.000Z", succeeded: 2, failed: 0 });
    expect(stats.per_minute[59]).toEqual({ minute: "2026-11-30T12:00:00.000Z", succeeded: 4, failed: 1 });
    expect(stats.per_minute_partial).toBe(true);
  });
});
