import { type ChildProcess, spawn } from "node:child_process";
import { repoRoot } from "./readme";

/** What a finished shell script did. */
export interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `bash -eo pipefail` (a failing command stops it) in `cwd`
 * (the repository by default), as a reader pasting it into a terminal would.
 * Resolves when it exits; kills it after `timeoutMs`.
 */
export function runBash(script: string, options: { cwd?: string; timeoutMs?: number } = {}): Promise<ShellRun> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-eo", "pipefail", "-c", script], {
      cwd: options.cwd ?? repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 50_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running shell command (a server), in its own process group so all it started can be stopped. */
export interface Background {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** Stops the whole process group: SIGTERM, then SIGKILL to what is left after it exits (or 5 s). */
  stop: () => Promise<void>;
}

/** Starts `script` with bash in the repository, in the background. */
export function startBash(script: string): Background {
  const child = spawn("bash", ["-c", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.pid === undefined) return;
      signalGroup(child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      signalGroup(child.pid, "SIGKILL"); // whatever of the group is left (e.g. workerd under wrangler)
    },
  };
}

/** Signals process group `pgid`; a group already gone (ESRCH) is fine. */
function signalGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
