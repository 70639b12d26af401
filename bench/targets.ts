import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateLocal } from "../scripts/migrate-local.mjs";
import { freePort, startDevServer } from "../test/support/dev-server.ts";

/** A running service the benchmark drives: the product, the baseline, the shape's floor or the baseline with extra operations. */
export interface Target {
  name: "product" | "baseline" | "floor" | "op-costs";
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
export async function startProduct(
  options: { metering?: boolean; vars?: Record<string, string> } = {},
): Promise<Target> {
  const vars = { ...options.vars, ...(options.metering ? { METERING: "true" } : {}) };
  const server = await startDevServer({
    env: { EDGEJOBS_DEV_SWEEP_SECONDS: "3600" },
    args: Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  });
  return productTarget(server.url, server.pid, () => server.stop());
}

/**
 * The product behind the model check's slowed databases (bench/model/): its
 * own config, started with the same local-only settings `npm run dev` uses.
 */
export async function startModel(options: { config: string; vars: Record<string, string> }) {
  // Its databases are the product's (same ids), migrated in one process as `npm run dev` does.
  const server = await startWranglerDev(options.config, "model", (state) => migrateLocal(state), "/healthz", {
    ADMIN_TOKEN: "dev-admin-token",
    ALLOW_LOCAL_CALLBACKS: "true",
    ...options.vars,
  });
  return productTarget(server.url, server.pid, server.stop);
}

/** A bench tenant on a running product: one key, limits far above the bench's rates. */
async function productTarget(url: string, pid: number, stop: () => Promise<void>): Promise<Target> {
  const admin = { ...json, authorization: "Bearer dev-admin-token" };
  const key = (await (
    await fetch(`${url}/v1/keys`, { method: "POST", headers: admin, body: JSON.stringify({ name: "bench" }) })
  ).json()) as { api_key: string; tenant_id: string; webhook_secret: string };
  // The benchmark is one tenant sending far more than the default per-key rate.
  await fetch(`${url}/v1/tenants/${key.tenant_id}`, {
    method: "PATCH",
    headers: admin,
    body: JSON.stringify({ submit_per_minute: 1_000_000, read_per_minute: 1_000_000, max_running_jobs: 10_000 }),
  });
  const headers = { ...json, authorization: `Bearer ${key.api_key}` };
  return {
    name: "product",
    url,
    pid,
    headers,
    webhookSecret: key.webhook_secret,
    async waitDone(id) {
      for (;;) {
        const job = (await (await fetch(`${url}/v1/jobs/${id}?wait=60`, { headers })).json()) as {
          status: string;
        };
        if (["succeeded", "failed", "canceled"].includes(job.status)) return;
      }
    },
    stop,
  };
}

/**
 * A hand-written Worker under `wrangler dev` on a fresh state directory: the
 * baseline (bench/baseline/), the shape's floor (bench/floor/) or the
 * baseline with extra operations (bench/op-costs/, as `vars` ask), which
 * share the submit and poll.
 */
export async function startHandWritten(
  name: "baseline" | "floor" | "op-costs",
  vars: Record<string, string> = {},
): Promise<Target> {
  const config = `bench/${name}/wrangler.toml`;
  const migrate = async (state: string) => {
    execFileSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state], {
      stdio: "ignore",
      env: { ...process.env, CI: "1" },
    });
  };
  const { url, pid, stop } = await startWranglerDev(config, name, migrate, "/v1/jobs/none", vars);
  return {
    name,
    url,
    pid,
    headers: json,
    webhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    async waitDone(id) {
      for (;;) {
        const res = await fetch(`${url}/v1/jobs/${id}`);
        if (res.ok && ((await res.json()) as { status: string }).status === "succeeded") return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop,
  };
}

/**
 * `wrangler dev` of a config on a fresh state directory, `migrate`d first;
 * resolves once `probe` answers at all, throws if it does not within 60 s.
 * Its output goes to bench/results/<name>.log.
 */
async function startWranglerDev(
  config: string,
  name: string,
  migrate: (state: string) => Promise<unknown>,
  probe: string,
  vars: Record<string, string>,
) {
  const state = mkdtempSync(join(tmpdir(), "edgejobs-bench-"));
  const port = await freePort();
  await migrate(state);
  mkdirSync("bench/results", { recursive: true });
  const logFile = `bench/results/${name}.log`;
  const log = openSync(logFile, "w");
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const child: ChildProcess = spawn(
    "wrangler",
    [
      "dev",
      "-c",
      config,
      "--port",
      String(port),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      ...varArgs,
    ],
    // Its output goes to bench/results/, to look into a run afterwards.
    { detached: true, stdio: ["ignore", log, log] },
  );
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 240 && !up; i++) {
    up = await fetch(`${url}${probe}`).then(
      () => true,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 250));
  }
  if (!up) {
    process.kill(-(child.pid as number), "SIGTERM");
    throw new Error(`${config} did not answer in 60 s: see ${logFile}`);
  }
  return {
    url,
    pid: child.pid as number,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-(child.pid as number), "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
