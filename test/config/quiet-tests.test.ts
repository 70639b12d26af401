import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/readme";

describe("npm test's output", () => {
  it("is the tests and a summary: no log lines from passing tests, no tool warnings", () => {
    // The first test makes the Worker log "storage unavailable" (console.error)
    // and passes; the second loads standardwebhooks, whose source maps vite
    // would warn about.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")));
    const run = spawnSync(
      join(repoRoot, "node_modules/.bin/vitest"),
      [
        "run",
        "--project",
        "workers",
        "test/workers/failures.test.ts",
        "test/workers/callbacks.test.ts",
        "-t",
        "answers 503 with Retry-After|posts one signed job.succeeded event",
      ],
      { cwd: repoRoot, encoding: "utf8", env: { ...env, NO_COLOR: "1" } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(output).toMatch(/Tests +2 passed/);
    const summary = /^ *(RUN|✓|↓|Test Files|Tests|Start at|Duration|Isolate|at least) /;
    expect(output.split("\n").filter((line) => line.trim() && !summary.test(line))).toEqual([]);
  }, 120_000);
});
