import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { startDevServer } from "../support/dev-server";
import { fillIn, readmeBlock } from "../support/readme";
import { runBash } from "../support/shell";
import { base } from "./client";

// The README's blocks run as written, with the values a reader fills in: the
// base URL (this server's) and the key that `npm run dev` printed.
const devKey = inject("devKey");
const values = { "http://localhost:8787": base, "ejk_…": devKey.apiKey };

/** The commands of a shell block, comments and blank lines left out. */
const commands = (code: string) =>
  code
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);

describe("the README's quick start", () => {
  it("is `npm install` then `npm run dev`, which this test suite starts as it is written", () => {
    // The e2e setup runs `npm run dev` (test/support/dev-server.ts); CI runs `npm ci` first.
    expect(commands(readmeBlock("quick-start").code)).toEqual(["npm install", "npm run dev"]);
  });

  it("runs a first job with the key npm run dev printed", async () => {
    const run = await runBash(fillIn(readmeBlock("first-job").code, values));
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "succeeded", result: { hello: "world" } });
  });
});

describe("the README's walk-through with curl", () => {
  it("runs as written, then the watching block with its variables", async () => {
    const script = `${fillIn(readmeBlock("walk-through").code, values)}\n${fillIn(readmeBlock("watching").code, values)}`;
    const run = await runBash(script, { cwd: mkdtempSync(join(tmpdir(), "edgejobs-readme-")) });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/"api_key":"ejk_[^"]+","webhook_secret":"whsec_/);
    expect(out).toMatch(/^HTTP\/1\.1 202 /m);
    expect(out).toMatch(/^location: \/v1\/jobs\/job_\w+\r?$/im);
    expect(out).toContain('{"slept_seconds":5,"steps":5}');
    expect(out).toContain('"code":"job_finished"');
    expect(out).toContain('"job_types":[');
    expect(out).toMatch(/event: status\nid: \d+\ndata: \{"id":"job_\w+","type":"sleep","status":"succeeded"/m);
  });
});

describe("the README's batch block", () => {
  it("runs as written: two jobs as one batch, completed with their counts", async () => {
    const run = await runBash(fillIn(readmeBlock("batch").code, values));
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toMatchObject({
      id: expect.stringMatching(/^bat_/),
      status: "completed",
      counts: { total: 2, succeeded: 1, failed: 1, canceled: 0, pending: 0 },
      on_complete: { callback_url: "https://client.example/hooks/batches", metadata: { report: "R-7" } },
    });
  });
});

describe("npm run dev's ready key", () => {
  it("is printed with the dashboard and docs URLs, kept in the local state, reused, and replaced once revoked", async () => {
    const state = mkdtempSync(join(tmpdir(), "edgejobs-dev-"));
    let server = await startDevServer({ state });
    const port = Number(new URL(server.url).port);
    try {
      const first = server.readyKey;
      const printed = fillIn(readmeBlock("ready-output").code, {
        "http://localhost:8787": `http://localhost:${port}`,
        "ejk_…": first.apiKey,
        "whsec_…": first.webhookSecret,
        ".wrangler/state/edgejobs-dev-key.json": join(state, "edgejobs-dev-key.json"),
      });
      for (const line of printed.trim().split("\n")) expect(server.output()).toContain(line);
      for (const path of ["/", "/docs", "/openapi.json"])
        expect((await fetch(`${server.url}${path}`)).status).toBe(200);
      const kept = JSON.parse(readFileSync(join(state, "edgejobs-dev-key.json"), "utf8"));
      expect(kept).toMatchObject({ api_key: first.apiKey, webhook_secret: first.webhookSecret });
      const jobs = await fetch(`${server.url}/v1/jobs`, { headers: { authorization: `Bearer ${first.apiKey}` } });
      expect(jobs.status).toBe(200);

      await server.stop();
      server = await startDevServer({ state, port });
      expect(server.readyKey).toEqual(first);

      const revoked = await fetch(`${server.url}/v1/keys/${kept.id}`, {
        method: "DELETE",
        headers: { authorization: "Bearer dev-admin-token" },
      });
      expect(revoked.ok).toBe(true);
      await server.stop();
      server = await startDevServer({ state, port });
      expect(server.readyKey.apiKey).not.toBe(first.apiKey);
      const again = await fetch(`${server.url}/v1/jobs`, {
        headers: { authorization: `Bearer ${server.readyKey.apiKey}` },
      });
      expect(again.status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 180_000);
});
