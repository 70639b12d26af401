import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** A fenced code block of README.md that a test runs or checks. */
export interface ReadmeBlock {
  /** The name in its marker, a line `<!-- test: NAME -->` just before the fence. */
  name: string;
  /** The fence's info string: `sh`, `ts`, … */
  lang: string;
  code: string;
}

/**
 * The marked code blocks of README.md, by name. Throws when a marker is not
 * followed by a fenced block, or a name is used twice.
 */
export function readmeBlocks(text = readFileSync(join(repoRoot, "README.md"), "utf8")): Map<string, ReadmeBlock> {
  const blocks = new Map<string, ReadmeBlock>();
  const marker = /^<!-- test: ([\w-]+) -->\n```(\w*)\n([\s\S]*?)\n```/gm;
  for (const [, name, lang, code] of text.matchAll(marker)) {
    if (name === undefined || code === undefined) continue;
    if (blocks.has(name)) throw new Error(`README.md marks two blocks "${name}"`);
    blocks.set(name, { name, lang: lang ?? "", code: `${code}\n` });
  }
  const markers = text.match(/^<!-- test: [\w-]+ -->$/gm) ?? [];
  if (markers.length !== blocks.size) throw new Error("README.md has a test marker not followed by a fenced block");
  return blocks;
}

/** The README block named `name`; throws if it is gone, so the test that runs it fails. */
export function readmeBlock(name: string): ReadmeBlock {
  const block = readmeBlocks().get(name);
  if (!block) throw new Error(`README.md has no block marked <!-- test: ${name} -->`);
  return block;
}

/**
 * `code` with each placeholder the README asks the reader to replace (a key
 * in `values`, e.g. `ejk_…` or the base URL) replaced by its value. Throws if
 * a `…` is left outside a comment, i.e. the block needs a value not given.
 */
export function fillIn(code: string, values: Record<string, string>): string {
  let filled = code;
  for (const [placeholder, value] of Object.entries(values)) filled = filled.replaceAll(placeholder, value);
  const left = filled.split("\n").filter((line) => line.replace(/(^|\s)#.*$/, "").includes("…"));
  if (left.length > 0) throw new Error(`README block still has placeholders:\n${left.join("\n")}`);
  return filled;
}
