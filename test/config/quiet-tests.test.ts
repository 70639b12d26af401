import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/readme";

describe("npm test's output", () => {
  it("leaves out the log lines of a passing test that provokes them on purpose", () => {
    // This test makes the Worker log "storage unavailable" (console.error) and passes.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")));
    const run = spawnSync(
      join(repoRoot, "node_modules/.bin/vitest"),
      ["run", "--project", "workers", "test/workers/failures.test.ts", "-t", "answers 503 with Retry-After"],
      { cwd: repoRoot, encoding: "utf8", env: { ...env, NO_COLOR: "1" } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(output).toMatch(/Tests +1 passed/);
    expect(output).not.toContain("storage unavailable");
  }, 120_000);
});
