import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readmeBlock, repoRoot } from "../support/readme";

// Follows the README's "Adding a job type" in a copy of the project: its file,
// its one line, nothing else; then type-checks, lints and loads the registry.
const copy = mkdtempSync(join(tmpdir(), "edgejobs-job-type-"));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** The block's path (its first line, a `// src/…` comment) and the code after it. */
function pathAndCode(name: string): { path: string; code: string } {
  const [first = "", ...rest] = readmeBlock(name).code.split("\n");
  const path = first.match(/^\/\/ (src\/\S+\.ts)/)?.[1];
  if (!path) throw new Error(`README block ${name} does not start with the file it belongs in`);
  return { path, code: name === "job-type-line" ? rest.join("\n") : readmeBlock(name).code };
}

/** Runs a tool from the project's node_modules in the copy; returns its output if it fails. */
function run(command: string, args: string[]): string {
  const done = spawnSync(join(repoRoot, "node_modules/.bin", command), args, { cwd: copy, encoding: "utf8" });
  return done.status === 0 ? "" : `${command} ${args.join(" ")} failed:\n${done.stdout}${done.stderr}`;
}

describe("adding a job type as the README says", () => {
  it("takes its file and one line, type-checks, lints clean and is registered", async () => {
    for (const entry of ["src", "biome.json", "package.json"]) {
      cpSync(join(repoRoot, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"));
    writeFileSync(
      join(copy, "tsconfig.json"),
      JSON.stringify({ extends: join(repoRoot, "tsconfig.json"), include: [join(copy, "src")] }),
    );

    const file = pathAndCode("job-type-file");
    const line = pathAndCode("job-type-line");
    expect(line.code.trim().split("\n")).toHaveLength(1);
    writeFileSync(join(copy, file.path), file.code);
    appendFileSync(join(copy, line.path), line.code);

    expect(run("tsc", ["-p", "tsconfig.json"])).toBe("");
    // The client's types come from the registry, so the new type is also compiled where the client is
    // (Node and the browser, without the Worker's types), as `npm run typecheck` does.
    writeFileSync(
      join(copy, "tsconfig.client.json"),
      JSON.stringify({ extends: join(repoRoot, "test/e2e/tsconfig.json"), include: [join(copy, "src/client")] }),
    );
    expect(run("tsc", ["-p", "tsconfig.client.json"])).toBe("");
    expect(run("biome", ["check", "--vcs-enabled=false", "--error-on-warnings", "src/job-types"])).toBe("");
    const { jobTypes } = await import(join(copy, "src/job-types/index.ts"));
    expect(jobTypes.get("thumbnail")).toMatchObject({ name: "thumbnail", defaults: { maxAttempts: 5 } });
  }, 120_000);
});
