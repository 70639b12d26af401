import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base, createTenant, type Tenant } from "./client";

// Debian's Chromium (installed by .ci/run when missing), with the flags this
// machine's closed network needs.
let browser: Browser;
let tenant: Tenant;

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

describe("the dashboard in headless Chromium", () => {
  it("signs in, submits a sleep job from the form, shows the bar reach 100 % and the result", async () => {
    const page = await browser.newPage();
    const offsite: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(base)) offsite.push(request.url());
    });
    await page.goto(base);
    await page.getByLabel("API key").fill(tenant.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();

    await page.getByRole("link", { name: "New job" }).click();
    await page.getByLabel("Type").selectOption("sleep");
    await page.getByLabel("Input (JSON)").fill(JSON.stringify({ seconds: 2, steps: 4 }));
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
    await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "succeeded", null, {
      timeout: 15_000,
    });
    expect(await bar.evaluate((el) => (el as HTMLProgressElement).value)).toBe(100); // …and reached 100 %
    expect(await page.locator("#job-result").textContent()).toContain('"slept_seconds": 2');
    expect(await page.locator("#job-progress-text").textContent()).toBe("100 %");

    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs tr").length > 0);
    expect(await page.locator("#jobs tr").first().textContent()).toContain("sleep");
    expect(offsite).toEqual([]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it("renders the API reference offline at /docs", async () => {
    const page = await browser.newPage();
    const offsite: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(base)) offsite.push(request.url());
    });
    await page.goto(`${base}/docs`);
    await page.getByText("Submit a job").first().waitFor({ timeout: 20_000 });
    expect(offsite).toEqual([]);
  });
});
