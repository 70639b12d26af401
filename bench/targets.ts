import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startDevServer } from "../test/support/dev-server.ts";

/** A running service the benchmark drives: the product or the baseline. */
export interface Target {
  name: "product" | "baseline";
  url: string;
  pid: number;
  headers: Record<string, string>;
  webhookSecret: string;
  /** Resolves once the job is finished. */
  waitDone(id: string): Promise<void>;
  stop(): Promise<void>;
}

const json = { "content-type": "application/json" };

/** The product, started exactly as a user would: `npm run dev` on a fresh state directory. */
export async function startProduct(options: { metering?: boolean } = {}): Promise<Target> {
  const server = await startDevServer({
    env: { EDGEJOBS_DEV_SWEEP_SECONDS: "3600" },
    args: options.metering ? ["--var", "METERING:true"] : [],
  });
  const admin = { ...json, authorization: "Bearer dev-admin-token" };
  const key = (await (
    await fetch(`${server.url}/v1/keys`, { method: "POST", headers: admin, body: JSON.stringify({ name: "bench" }) })
  ).json()) as { api_key: string; tenant_id: string; webhook_secret: string };
  // The benchmark is one tenant sending far more than the default per-key rate.
  await fetch(`${server.url}/v1/tenants/${key.tenant_id}`, {
    method: "PATCH",
    headers: admin,
    body: JSON.stringify({ submit_per_minute: 1_000_000, read_per_minute: 1_000_000, max_running_jobs: 10_000 }),
  });
  const headers = { ...json, authorization: `Bearer ${key.api_key}` };
  return {
    name: "product",
    url: server.url,
    pid: server.pid,
    headers,
    webhookSecret: key.webhook_secret,
    async waitDone(id) {
      for (;;) {
        const job = (await (await fetch(`${server.url}/v1/jobs/${id}?wait=60`, { headers })).json()) as {
          status: string;
        };
        if (["succeeded", "failed", "canceled"].includes(job.status)) return;
      }
    },
    stop: () => server.stop(),
  };
}

/** The baseline Worker in bench/baseline/, under `wrangler dev` on a fresh state directory. */
export async function startBaseline(): Promise<Target> {
  const config = "bench/baseline/wrangler.toml";
  const state = mkdtempSync(join(tmpdir(), "edgejobs-baseline-"));
  const port = await freePort();
  execFileSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state], {
    stdio: "ignore",
    env: { ...process.env, CI: "1" },
  });
  const child: ChildProcess = spawn(
    "wrangler",
    ["dev", "-c", config, "--port", String(port), "--persist-to", state, "--show-interactive-dev-session=false"],
    { detached: true, stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    const up = await fetch(`${url}/v1/jobs/none`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    name: "baseline",
    url,
    pid: child.pid as number,
    headers: json,
    webhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    async waitDone(id) {
      for (;;) {
        const res = await fetch(`${url}/v1/jobs/${id}`);
        if (res.ok && ((await res.json()) as { status: string }).status === "succeeded") return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-(child.pid as number), "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
