import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, base, createTenant, finished, submit, type Tenant, until } from "./client";

// Debian's Chromium (installed by .ci/run when missing), with the flags this
// machine's closed network needs.
let browser: Browser;
let tenant: Tenant;

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

beforeAll(async () => {
  tenant = await createTenant("dashboard");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(() => browser?.close());

/** A new page that records every request leaving this service. */
async function openPage(viewport?: { width: number; height: number }): Promise<{ page: Page; offsite: string[] }> {
  const page = await browser.newPage(viewport ? { viewport } : {});
  const offsite: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith("data:")) offsite.push(request.url());
  });
  return { page, offsite };
}

async function signIn(page: Page, key = tenant.apiKey) {
  await page.goto(base);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Jobs", exact: true }).waitFor();
}

/** The serious and critical accessibility violations axe-core finds on the page as it is now. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a global script.
    const axe = (window as any).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** Whether the page scrolls sideways (it must not, at phone width). */
const scrollsSideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describe("the dashboard in headless Chromium", () => {
  it("signs in, submits a sleep job from the form, shows the bar reach 100 % and the result", async () => {
    const { page, offsite } = await openPage();
    await page.goto(base);
    expect(await page.getByText("npm run dev").first().isVisible()).toBe(true); // where a key comes from
    expect(await accessibilityViolations(page)).toEqual([]);
    await signIn(page);

    await page.getByRole("link", { name: "New job" }).click();
    await page.getByLabel("Type").selectOption("sleep");
    await page.getByLabel("Input (JSON)").fill(JSON.stringify({ seconds: 2, steps: 3 }));
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Submit job" }).click();

    await page.getByRole("heading", { name: /^Job job_/ }).waitFor();
    const bar = page.locator("#job-progress");
    await page.waitForFunction(
      () => (document.querySelector("#job-progress") as HTMLProgressElement)?.value > 0,
      null,
      {
        timeout: 10_000,
      },
    );
    expect(Number(await bar.getAttribute("value"))).toBeLessThan(100); // it moved before the end…
    // …and shows whole percents though 1 of 3 steps is 33.33…
    expect(await page.locator("#job-progress-text").textContent()).toMatch(/^\d+ %$/);
    await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "succeeded", null, {
      timeout: 15_000,
    });
    expect(await bar.evaluate((el) => (el as HTMLProgressElement).value)).toBe(100); // …and reached 100 %
    expect(await page.locator("#job-result").textContent()).toContain('"slept_seconds": 2');
    expect(await page.locator("#job-progress-text").textContent()).toBe("100 %");
    await until(
      () => page.locator("#job-logs").textContent(),
      (text) => text?.includes("step 3 of 3") ?? false,
    );
    expect(await page.locator("#attempts").textContent()).toContain("Attempt 1: succeeded");
    // A job without a callback: the hint alone, no empty tables.
    expect(await page.locator("#no-deliveries").isVisible()).toBe(true);
    expect(await page.locator("#callback-tables").isVisible()).toBe(false);

    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length > 0);
    expect(await page.locator("#jobs tr").first().textContent()).toContain("sleep");
    expect(offsite).toEqual([]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it("shows a running attempt on the job's page from its start, before the job's row has it", async () => {
    const { page } = await openPage();
    await signIn(page);
    const job = await submit(tenant, { type: "sleep", input: { seconds: 3, steps: 1 }, delay_seconds: 2 });
    await page.goto(`${base}#/jobs/${job.id}`);
    await page.getByRole("heading", { name: `Job ${job.id}` }).waitFor();
    await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "running", null, {
      timeout: 15_000,
    });
    // The watch tells of the start at once; the attempts route reads the row, which has it a second later.
    await page.waitForFunction(
      () => document.querySelector("#attempts")?.textContent?.includes("Attempt 1: running"),
      null,
      { timeout: 2_500 },
    );
  });

  it("is an operator's console: counts, chart, errors in the list, attempt timeline, plain delivery errors, redeliver", async () => {
    const ops = await createTenant("console");
    // Two attempts that fail with their own messages, and a callback to a port where nothing listens.
    const failed = await submit(ops, {
      type: "fail",
      input: { fail_attempts: 2 },
      max_attempts: 2,
      callback_url: "http://127.0.0.1:9/hooks",
    });
    const ok = await submit(ops, { type: "echo", input: { hello: "console" } });
    await finished(ops, failed.id);
    await finished(ops, ok.id);
    await until(
      async () => (await (await api(ops, "/v1/failing-deliveries")).json()) as { events: unknown[] },
      (page) => page.events.length > 0,
    );

    const { page, offsite } = await openPage();
    await signIn(page, ops.apiKey);
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 2);
    const counts = await page.locator("#counts").textContent();
    expect(counts).toContain("1 succeeded");
    expect(counts).toContain("1 failed");
    expect(await page.locator("#chart svg").getAttribute("aria-label")).toContain("1 succeeded, 1 failed");
    const failedRow = page.locator("#jobs tr", { hasText: failed.id });
    expect(await failedRow.textContent()).toContain("2 / 2");
    expect(await failedRow.textContent()).toContain("handler_error: failing on purpose (attempt 2 of 2)");
    expect(await failedRow.textContent()).toMatch(/retrying|failed/); // its callback
    expect(await accessibilityViolations(page)).toEqual([]);

    // A status count filters the list.
    await page.getByRole("button", { name: /1 failed/ }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 1);
    expect(page.url()).toContain("status=failed");

    await page.getByRole("link", { name: failed.id }).click();
    await page.getByRole("heading", { name: `Job ${failed.id}` }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#attempts li").length === 2);
    const attempts = await page.locator("#attempts li").allTextContents();
    expect(attempts[0]).toContain("failing on purpose (attempt 1 of 2)");
    expect(attempts[1]).toContain("failing on purpose (attempt 2 of 2)");
    expect(await page.getByRole("button", { name: "Cancel job" }).isVisible()).toBe(false);
    await page.waitForFunction(() => document.querySelectorAll("#deliveries tr").length > 0);
    // workerd reports a refused connection as "Network connection lost.": shown in plain words.
    expect(await page.locator("#deliveries").textContent()).toContain("Connection refused or lost");
    expect(await accessibilityViolations(page)).toEqual([]);
    const before = await page.locator("#deliveries tr").count();
    await page.getByRole("button", { name: "Redeliver job.failed" }).click();
    await page.waitForFunction((n) => document.querySelectorAll("#deliveries tr").length > n, before, {
      timeout: 10_000,
    });
    expect(await page.locator("#deliveries").textContent()).toContain("manual");

    // Retry runs the failed job again as a new job that points back at it: one, however often clicked.
    await page.getByRole("button", { name: "Retry job" }).dblclick();
    await page.waitForFunction(
      (id) => !location.hash.includes(id) && location.hash.startsWith("#/jobs/job_"),
      failed.id,
    );
    await page.getByRole("link", { name: failed.id }).waitFor(); // "retry of"
    expect(await page.locator("#job-links").textContent()).toContain(`retry of: ${failed.id}`);
    const listed = (await (await api(ops, "/v1/jobs?limit=100")).json()) as { jobs: { retry_of: string | null }[] };
    expect(listed.jobs.filter((job) => job.retry_of === failed.id)).toHaveLength(1);

    await page.getByRole("link", { name: "Failing callbacks" }).click();
    await page.getByRole("heading", { name: "Failing callbacks" }).waitFor();
    const row = page.locator("#failing tr", { hasText: failed.id });
    await row.waitFor();
    expect(await row.textContent()).toContain("Connection refused or lost");
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(offsite).toEqual([]);
  });

  it("shows schedules with Pause / Resume, and a batch with its counts and its batch.completed deliveries", async () => {
    const ops = await createTenant("schedules");
    const created = await api(ops, "/v1/schedules", {
      method: "POST",
      body: JSON.stringify({ cron: "0 0 1 1 *", timezone: "Europe/Berlin", name: "new-year", job: { type: "echo" } }),
    });
    expect(created.status).toBe(201);
    const submitted = await api(ops, "/v1/jobs/batch", {
      method: "POST",
      body: JSON.stringify({
        jobs: [{ type: "echo" }, { type: "fail", input: { fail_attempts: 1 }, max_attempts: 1 }],
        on_complete: { callback_url: "http://127.0.0.1:9/batch-hooks" },
      }),
    });
    const { batch_id: batchId } = (await submitted.json()) as { batch_id: string };
    // Listed as failing once its retry is under way (the second attempt's claim, 5 s after the first).
    await until(
      async () => (await (await api(ops, "/v1/failing-deliveries")).json()) as { events: { batch_id: string }[] },
      (page) => page.events.some((e) => e.batch_id === batchId),
    );

    const { page } = await openPage();
    await signIn(page, ops.apiKey);
    await page.getByRole("link", { name: "Schedules" }).click();
    const row = page.locator("#schedules tr", { hasText: "new-year" });
    await row.waitFor();
    expect(await row.textContent()).toContain("0 0 1 1 * (Europe/Berlin)");
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Pause new-year" }).click();
    await page.getByRole("button", { name: "Resume new-year" }).waitFor();
    expect(await page.locator("#schedules tr", { hasText: "new-year" }).textContent()).toContain("paused");
    await page.getByRole("button", { name: "Resume new-year" }).click();
    await page.getByRole("button", { name: "Pause new-year" }).waitFor();

    await page.getByRole("link", { name: "Failing callbacks" }).click();
    await page.getByRole("link", { name: batchId }).click();
    await page.getByRole("heading", { name: `Batch ${batchId}` }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#batch-deliveries tr").length > 0);
    expect(await page.locator("#batch-status").textContent()).toBe("completed");
    const counts = await page.locator("#batch-counts").textContent();
    expect(counts).toContain("2 total");
    expect(counts).toContain("1 succeeded");
    expect(counts).toContain("1 failed");
    expect(await page.locator("#batch-deliveries").textContent()).toContain("Connection refused or lost");
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("link", { name: "Its jobs" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 2);
  });

  it("pages through the job list with a cursor and filters by type", async () => {
    const many = await createTenant("paging");
    const jobs = Array.from({ length: 23 }, (_, i) => ({ type: "echo", input: { i }, delay_seconds: 600 }));
    expect((await api(many, "/v1/jobs/batch", { method: "POST", body: JSON.stringify({ jobs }) })).status).toBe(202);
    const { page } = await openPage();
    await signIn(page, many.apiKey);
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 20);
    const firstPage = await page.locator("#jobs tr").first().textContent();
    await page.getByRole("button", { name: "Older" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 3);
    expect(await page.getByRole("button", { name: "Older" }).isVisible()).toBe(false);
    await page.getByRole("button", { name: "Newer" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length === 20);
    expect(await page.locator("#jobs tr").first().textContent()).toBe(firstPage);
    await page.getByLabel("Type").selectOption("sleep");
    await page.getByText("No jobs match.").waitFor();
    expect(await page.locator("#jobs tr").count()).toBe(0);
    expect(page.url()).toContain("type=sleep");
  });

  it("fits a 375 px phone screen: no page scrolls sideways and every control can be reached", async () => {
    const { page } = await openPage({ width: 375, height: 740 });
    await page.goto(base);
    expect(await scrollsSideways(page)).toBe(false);
    await signIn(page);
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length > 0);
    const jobId = (await page.locator("#jobs tr a").first().textContent()) as string;
    for (const hash of ["#/", `#/jobs/${jobId}`, "#/deliveries", "#/schedules", "#/new"]) {
      await page.goto(`${base}/${hash}`);
      await page.locator("main h1").waitFor();
      await page.waitForTimeout(500); // its data is in
      expect(await scrollsSideways(page), hash).toBe(false);
      // Each visible control, scrolled to, lies within the screen's width.
      const outside = await page.evaluate(() =>
        [...document.querySelectorAll("header a, header button, main button, main select, main input, main a")]
          .filter((control) => (control as HTMLElement).offsetParent !== null)
          .filter((control) => {
            control.scrollIntoView({ block: "center", inline: "nearest" });
            // scrollIntoView scrolls a table's own box sideways too: what cannot come into view is out of reach.
            const box = control.getBoundingClientRect();
            return box.left < 0 || box.right > window.innerWidth;
          })
          .map((control) => control.outerHTML.slice(0, 80)),
      );
      expect(outside, hash).toEqual([]);
      if (hash === "#/") {
        // The job list is a card per job, each column a labelled line across the screen, not 9 squeezed columns.
        const idCell = page.locator("#jobs tr td").first();
        expect(await idCell.evaluate((td) => td.getBoundingClientRect().width)).toBeGreaterThan(300);
        expect(await idCell.getAttribute("data-label")).toBe("Job");
      }
    }
  });

  it("renders the API reference offline at /docs, without the hosted product's buttons", async () => {
    const { page, offsite } = await openPage();
    await page.goto(`${base}/docs`);
    await page.getByText("Submit a job").first().waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Open Group - Webhooks" }).click();
    await page.getByText("job.succeeded").first().waitFor(); // the callback contract
    for (const name of [/ask ai/i, /generate mcp/i, /deploy/i, /developer tools/i, /open api client/i]) {
      expect(await page.getByRole("button", { name }).count(), String(name)).toBe(0);
      expect(await page.getByRole("link", { name }).count(), String(name)).toBe(0);
    }
    expect(await page.locator('a[href^="https://www.scalar.com"]:visible').count()).toBe(0);
    expect(offsite).toEqual([]);
  });
});
