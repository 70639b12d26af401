import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DevServer {
  url: string;
  /** The process group leader: `npm`, whose tree holds wrangler and workerd. */
  pid: number;
  /** The state directory, to start another server on the same state after this one dies. */
  state: string;
  /** The ready API key and webhook secret that `npm run dev` printed once it was up. */
  readyKey: { apiKey: string; webhookSecret: string };
  /** Everything the server printed so far (stdout and stderr). */
  output: () => string;
  /** Stops the server; `crash` kills it without letting it finish anything. */
  stop: (how?: "graceful" | "crash") => Promise<void>;
}

export interface DevServerOptions {
  env?: Record<string, string>;
  /** Reuse a state directory (and port) from an earlier server. */
  state?: string;
  port?: number;
  /** More arguments for `wrangler dev`. */
  args?: string[];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts `npm run dev` exactly as the README says, on a free port and a fresh
 * state directory, and waits until /healthz answers and it has printed its
 * ready API key. Throws (with the server's output) if it exits or is not ready
 * within 120 s: a fresh state migrates 33 databases first, and on a loaded
 * machine (the rest of `npm test` beside it) that took a start past 60 s.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const state = options.state ?? mkdtempSync(join(tmpdir(), "edgejobs-dev-"));
  const child: ChildProcess = spawn(
    "npm",
    ["run", "dev", "--", "--port", String(port), "--persist-to", state, ...(options.args ?? [])],
    {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  let readyKey: DevServer["readyKey"] | undefined;
  while (!readyKey) {
    if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${output}`);
    const printed = output.match(/API key: +(ejk_\S+)\n +webhook secret: +(whsec_\S+)/);
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy && printed) readyKey = { apiKey: printed[1] as string, webhookSecret: printed[2] as string };
    else if (Date.now() > deadline) throw new Error(`npm run dev was not ready in 120 s:\n${output}`);
    else await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    state,
    readyKey,
    output: () => output,
    pid: child.pid as number,
    stop: async (how = "graceful") => {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, how === "crash" ? "SIGKILL" : "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    },
  };
}
