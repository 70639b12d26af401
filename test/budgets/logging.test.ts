import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createTenant, dbOf, eventually, submit, type TestTenant } from "../workers/helpers";
import { registerProbe } from "../workers/probe-type";

beforeAll(registerProbe);

const JOBS = 3;

const meter = async () => (await (await call("/__metrics")).json()) as Record<string, number>;

/** Runs `JOBS` probe jobs logging `lines` lines each, one after another, and answers the operations they caused. */
async function operations(tenant: TestTenant, lines: number): Promise<Record<string, number>> {
  await call("/__metrics/reset", { method: "POST" });
  for (let i = 0; i < JOBS; i++) {
    const job = await submit(tenant, { type: "test_probe", input: { action: "log", lines } });
    await eventually(
      () => dbOf(job.id).prepare("SELECT status FROM jobs WHERE id = ?").bind(job.id).first<{ status: string }>(),
      (row) => row?.status === "succeeded",
    );
  }
  const counts = await meter();
  // The rate limiter's leases follow the clock, not the job; so do the tenant's slot releases, coalesced
  // per 5 ms (a loaded machine sends 5 to 7 of them for the same 3 jobs); operations.test.ts counts those.
  // The totals over every object (requests, storage writes) include theirs, so they go too; each
  // other object's requests stay compared one by one.
  const timed = (key: string) =>
    key.includes("RATE_LIMITER") ||
    key.includes("TENANT_SLOTS") ||
    key === "do_requests" ||
    key === "do_storage_writes";
  return Object.fromEntries(Object.entries(counts).filter(([key]) => !timed(key)));
}

describe("a job's log and the operation budgets", () => {
  it("costs one R2 write per attempt and nothing else: no D1 row, query, message or object request", async () => {
    const tenant = await createTenant();
    await operations(tenant, 0); // the isolate learns the key
    const silent = await operations(tenant, 0);
    const logging = await operations(tenant, 150);
    const { r2_class_a: silentWrites = 0, ...silentRest } = pick(silent);
    const { r2_class_a: loggingWrites = 0, ...loggingRest } = pick(logging);
    // 150 lines logged at once: the write the 100th line asks for runs after them all and carries
    // them all, so the attempt's end finds nothing left to write.
    expect((loggingWrites - silentWrites) / JOBS).toBe(1);
    expect(loggingRest).toEqual(silentRest);
    expect(env.METERING).toBe("true");
  });
});

/** The counts that are operations (not bytes), the shards' and the jobs queues' summed: which shard (and so queue) a job lands on is chance. */
function pick(counts: Record<string, number>): Record<string, number> {
  const picked: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    if (key.endsWith("bytes_put")) continue;
    const summed = key.replace(/^d1:SHARD_\d+:/, "d1:shards:").replace(/^queue:JOBS_\d+:/, "queue:jobs:");
    picked[summed] = (picked[summed] ?? 0) + n;
  }
  return picked;
}
