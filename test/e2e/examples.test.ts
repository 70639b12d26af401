import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../support/dev-server";
import { fillIn, readmeBlock, repoRoot } from "../support/readme";
import { runBash, startBash } from "../support/shell";
import { base } from "./client";

// Each receiver is started as the README's "Receiving callbacks" says, with
// the secret `npm run dev` printed, and verifies a real callback sent by the
// README's own curl command.
const devKey = inject("devKey");
const hasPython = spawnSync("python3", ["--version"]).status === 0;

/** Polls `check` every 100 ms until it is true; throws `what`, with the receiver's output, after `ms`. */
async function until(check: () => boolean | Promise<boolean>, what: () => string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the README's command `block` with `secret`; checks it verifies a real callback and refuses a forged one. */
async function receivesCallbacks(block: string) {
  const port = String(await freePort());
  const receiver = startBash(fillIn(readmeBlock(block).code, { "whsec_…": devKey.webhookSecret, "8000": port }));
  try {
    const url = `http://127.0.0.1:${port}`;
    const listening = () =>
      fetch(`${url}/hooks/jobs`, { method: "POST", body: "{}" }).then(
        (r) => r.status === 400,
        () => false,
      );
    await until(listening, () => `${block} did not start:\n${receiver.output()}`, 45_000);
    await until(
      () => /refused a callback: .+/.test(receiver.output()), // and says why
      () => `${block} did not say why it refused a callback:\n${receiver.output()}`,
    );

    const callbackJob = fillIn(readmeBlock("callback-job").code, {
      "http://localhost:8787": base,
      "ejk_…": devKey.apiKey,
      "8000": port,
    });
    const sent = await runBash(callbackJob);
    expect(sent.stderr).toBe("");
    const { id } = JSON.parse(sent.stdout) as { id: string };
    const line = `job.succeeded ${id} {"hello":"receiver"}`;
    await until(
      () => receiver.output().includes(line),
      () => `${block} did not print "${line}":\n${receiver.output()}`,
    );

    // A batch's batch.completed (no version: it is sent once) is verified and handled too.
    const batch = await fetch(`${base}/v1/jobs/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${devKey.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ jobs: [{ type: "echo" }], on_complete: { callback_url: `${url}/hooks/jobs` } }),
    });
    const { batch_id } = (await batch.json()) as { batch_id: string };
    const batchLine = `batch.completed ${batch_id} {"total":1,"succeeded":1,"failed":0,"canceled":0,"pending":0}`;
    await until(
      () => receiver.output().includes(batchLine),
      () => `${block} did not print "${batchLine}":\n${receiver.output()}`,
    );
  } finally {
    await receiver.stop();
  }
}

/** Starts the README's command `block` with no secret; expects it to stop at once and say why. */
async function refusesToStartWithoutSecret(block: string) {
  const receiver = startBash(fillIn(readmeBlock(block).code, { "whsec_…": "", "8000": String(await freePort()) }));
  try {
    const code = await Promise.race([receiver.exited, new Promise((r) => setTimeout(() => r("running"), 20_000))]);
    expect(code).not.toBe(0);
    expect(code).not.toBe("running");
    expect(receiver.output()).toContain("EDGEJOBS_WEBHOOK_SECRET must be the tenant's whsec_");
    // A setup mistake is told in one line, not with a stack trace.
    expect(receiver.output()).not.toMatch(/^\s+at |Traceback/m);
  } finally {
    await receiver.stop();
  }
}

describe("examples/receiver-ts", () => {
  it("is the README's complete receiver, as written", () => {
    const file = readFileSync(join(repoRoot, "examples/receiver-ts/receiver.ts"), "utf8");
    expect(readmeBlock("receiver-ts").code).toBe(file);
  });

  it("on Node: verifies a real callback, as the README starts it", () => receivesCallbacks("receiver-node"));

  it("on Node: refuses to start without its secret", () => refusesToStartWithoutSecret("receiver-node"));

  it(
    "on Workers (wrangler dev): verifies a real callback, as the README starts it",
    () => receivesCallbacks("receiver-worker"),
    90_000,
  );

  it("on Workers (wrangler dev): fails at start without its secret", async () => {
    const port = String(await freePort());
    const receiver = startBash(fillIn(readmeBlock("receiver-worker").code, { "whsec_…": "", "8000": port }));
    try {
      await until(
        () => receiver.output().includes("EDGEJOBS_WEBHOOK_SECRET must be the tenant's whsec_"),
        () => `wrangler dev did not report the missing secret:\n${receiver.output()}`,
        45_000,
      );
    } finally {
      await receiver.stop();
    }
  }, 90_000);
});

const pythonSuite = hasPython ? "examples/receiver-python" : "examples/receiver-python (skipped: no python3 on PATH)";
describe.skipIf(!hasPython)(pythonSuite, () => {
  it("verifies a real callback, as the README starts it", () => receivesCallbacks("receiver-python"));

  it("refuses to start without its secret", () => refusesToStartWithoutSecret("receiver-python"));
});
