import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type JobStatus, jobStatuses } from "../../src/contract/schemas";
import type { JobRecord } from "../../src/jobs/model";
import { newId } from "../../src/platform/ids";
import { databases } from "../../src/store/databases";
import { insertJob, listJobs } from "../../src/store/jobs";
import { jobRecord } from "../support/job-record";
import { countingReads } from "./helpers";

const db = () => databases(env).shards[0] as D1Database;

/**
 * Inserts `statuses.length` jobs of a new tenant on shard 0, oldest first, job i in `statuses[i]`, of `type(i)`,
 * with `link(i)` (a batch or schedule id); their ids in that order.
 */
async function insertJobs(
  statuses: JobStatus[],
  type = (_: number) => "echo",
  link = (_: number): Partial<JobRecord> => ({}),
): Promise<{ tenantId: string; ids: string[] }> {
  const tenantId = `ten_list_${crypto.randomUUID()}`;
  const now = Date.now();
  const jobs = statuses.map((status, i) =>
    jobRecord({ id: newId.job(0), tenantId, type: type(i), status, ...link(i) }, now),
  );
  for (let i = 0; i < jobs.length; i += 50) await db().batch(jobs.slice(i, i + 50).map((job) => insertJob(db(), job)));
  return { tenantId, ids: jobs.map((job) => job.id) };
}

/** Every page of the tenant's list, `limit` at a time, each page's ids and the rows D1 read for it. */
async function everyPage(tenantId: string, limit: number, filters: { status?: JobStatus; type?: string } = {}) {
  const pages: { ids: string[] }[] = [];
  let beforeId: string | undefined;
  for (;;) {
    const jobs = await listJobs(db(), { tenantId, limit, ...filters, ...(beforeId ? { beforeId } : {}) });
    pages.push({ ids: jobs.map((job) => job.id) });
    if (jobs.length < limit) return pages;
    beforeId = jobs.at(-1)?.id;
  }
}

describe("listJobs", () => {
  it("lists a tenant's jobs of every status newest first, page by page, as one sequence", async () => {
    const statuses = Array.from({ length: 40 }, (_, i) => jobStatuses[(i * 7) % jobStatuses.length] as JobStatus);
    const { tenantId, ids } = await insertJobs(statuses, (i) => (i % 3 === 0 ? "sleep" : "echo"));
    const newestFirst = [...ids].reverse();
    expect((await everyPage(tenantId, 7)).flatMap((page) => page.ids)).toEqual(newestFirst);
    expect((await everyPage(tenantId, 100)).flatMap((page) => page.ids)).toEqual(newestFirst);
    expect((await everyPage(tenantId, 3, { status: "failed" })).flatMap((page) => page.ids)).toEqual(
      newestFirst.filter((id) => statuses[ids.indexOf(id)] === "failed"),
    );
    expect((await everyPage(tenantId, 4, { type: "sleep" })).flatMap((page) => page.ids)).toEqual(
      newestFirst.filter((id) => ids.indexOf(id) % 3 === 0),
    );
  });

  it("reads at most a page of rows per status, however many jobs the tenant holds", async () => {
    const statuses = Array.from({ length: 600 }, (_, i) => jobStatuses[i % jobStatuses.length] as JobStatus);
    const { tenantId } = await insertJobs(statuses);
    const limit = 10;
    const read = { rows: 0 };
    expect(await listJobs(countingReads(db(), read), { tenantId, limit })).toHaveLength(limit);
    // A page of each status's index entries, and the rows they point at.
    expect(read.rows).toBeLessThanOrEqual(2 * jobStatuses.length * limit);
  });

  it("reads only a batch's and a schedule's jobs for their lists with a status filter, however many jobs of that status the tenant holds", async () => {
    const statuses: JobStatus[] = Array<JobStatus>(503).fill("queued");
    const link = (i: number) => (i < 3 ? { batchId: "bat_list" } : i < 6 ? { scheduleId: "sch_list" } : {});
    const { tenantId, ids } = await insertJobs(statuses, () => "echo", link);
    for (const [filter, linked] of [
      [{ batchId: "bat_list" }, ids.slice(0, 3)],
      [{ scheduleId: "sch_list" }, ids.slice(3, 6)],
    ] as const) {
      const read = { rows: 0 };
      const jobs = await listJobs(countingReads(db(), read), { tenantId, status: "queued", limit: 10, ...filter });
      expect(jobs.map((job) => job.id)).toEqual([...linked].reverse());
      // Three index entries and their rows: the key's range of queued jobs would read all 503.
      expect(read.rows).toBeLessThanOrEqual(10);
    }
  });

  it("reads only the running jobs' index entries for status=running, however many newer jobs are queued", async () => {
    const statuses: JobStatus[] = [...Array<JobStatus>(5).fill("running"), ...Array<JobStatus>(1000).fill("queued")];
    const { tenantId, ids } = await insertJobs(statuses);
    const read = { rows: 0 };
    const running = await listJobs(countingReads(db(), read), { tenantId, status: "running", limit: 10 });
    expect(running.map((job) => job.id)).toEqual(ids.slice(0, 5).reverse());
    // Five index entries and their rows: an index without the status would walk the 1,000 queued jobs too.
    expect(read.rows).toBeLessThanOrEqual(20);
  });
});
