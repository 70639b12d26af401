import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/readme";

/** The relative link targets of a Markdown file, without their #fragment. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target as string);
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith("#")).map((t) => t.split("#")[0] as string);
}

describe("the README's links", () => {
  for (const file of ["README.md", "examples/README.md", "docs/API.md"]) {
    it(`${file} links only files inside the repository`, () => {
      const path = join(repoRoot, file);
      const links = relativeLinks(readFileSync(path, "utf8"));
      for (const link of links) {
        const target = join(dirname(path), link);
        expect(relative(repoRoot, target).startsWith(".."), `${file} links ${link}, outside the repository`).toBe(
          false,
        );
        expect(existsSync(target), `${file} links ${link}, which does not exist`).toBe(true);
      }
      if (file === "README.md") expect(links).toContain("docs/API.md");
    });
  }
});
