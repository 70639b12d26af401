import { describe, expect, inject, it } from "vitest";
import { fillIn, readmeBlock } from "../support/readme";
import { runBash } from "../support/shell";
import { base } from "./client";

// The README's schedule blocks, as written, against `npm run dev`: its timers'
// alarms and the local sweep (scripts/dev.mjs) stand in for production's.
const devKey = inject("devKey");
const values = { "http://localhost:8787": base, "ejk_…": devKey.apiKey };
const get = async (path: string) =>
  (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${devKey.apiKey}` } })).json();

describe("a schedule under npm run dev", () => {
  it("creates a job with schedule_id at its first due time (every minute), then pauses, changes and deletes as the README shows", async () => {
    const created = await runBash(fillIn(readmeBlock("schedule-create").code, values));
    expect(created.stderr).toBe("");
    const schedule = JSON.parse(created.stdout) as { id: string; next_run_at: string; paused: boolean };
    expect(schedule).toMatchObject({ id: expect.stringMatching(/^sch_/), paused: false, last_run_at: null });
    const due = Date.parse(schedule.next_run_at);
    expect(due - Date.now()).toBeLessThanOrEqual(60_000);

    // API.md: within 10 s of the due time.
    let jobs: { id: string; schedule_id: string; created_at: string }[] = [];
    while (jobs.length === 0 && Date.now() < due + 10_000) {
      await new Promise((r) => setTimeout(r, 500));
      jobs = ((await get(`/v1/jobs?schedule_id=${schedule.id}`)) as { jobs: typeof jobs }).jobs;
    }
    expect(jobs).toEqual([expect.objectContaining({ schedule_id: schedule.id })]);
    expect(Date.parse(jobs[0]?.created_at as string) - due).toBeLessThan(10_000);
    expect(await get(`/v1/schedules/${schedule.id}`)).toMatchObject({
      last_run_at: new Date(due).toISOString(),
      last_job_id: jobs[0]?.id,
    });

    const manage = `B=${base}\nKEY=${devKey.apiKey}\nSCH=${schedule.id}\n${readmeBlock("schedule-manage").code}`;
    const managed = await runBash(manage);
    expect(managed.stderr).toBe("");
    expect(managed.stdout).toContain('"paused":true,"next_run_at":null');
    expect(managed.stdout).toContain('"cron":"30 2 * * *"');
    expect(managed.stdout).toMatch(/\}204\s*$/); // the DELETE's status, after the list
    expect(
      (await fetch(`${base}/v1/schedules/${schedule.id}`, { headers: { authorization: `Bearer ${devKey.apiKey}` } }))
        .status,
    ).toBe(404);
  }, 100_000);
});
