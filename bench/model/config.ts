// The product's settings the benchmark needs, read from wrangler.toml and
// src/limits.ts (so they follow the product), and the model check's config.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { limits } from "../../src/limits.ts";

const PRODUCT_CONFIG = "wrangler.toml";
const MODEL_CONFIG = "bench/results/model.wrangler.toml";

const product = () => readFileSync(PRODUCT_CONFIG, "utf8");

/** The D1 bindings of wrangler.toml, in order: each `binding = …` inside a `[[d1_databases]]` table. */
export function d1Bindings(toml = product()): string[] {
  return toml
    .split(/^(?=\[)/m)
    .filter((table) => table.startsWith("[[d1_databases]]"))
    .map((table) => /^binding\s*=\s*"([^"]+)"/m.exec(table)?.[1])
    .filter((binding): binding is string => binding !== undefined);
}

/** A setting of a queue consumer in wrangler.toml (e.g. the callbacks queue's max_batch_size). */
export function consumerSetting(queue: string, setting: string, toml = product()): number {
  const table = toml
    .split(/^(?=\[)/m)
    .find((t) => t.startsWith("[[queues.consumers]]") && new RegExp(`^queue\\s*=\\s*"${queue}"`, "m").test(t));
  const value = table && new RegExp(`^${setting}\\s*=\\s*(\\d+)`, "m").exec(table)?.[1];
  if (!value) throw new Error(`${PRODUCT_CONFIG}: no ${setting} for the consumer of ${queue}`);
  return Number(value);
}

/** The retention window in days: wrangler.toml's RETENTION_DAYS, else the product's default. */
export function retentionDays(toml = product()): number {
  const days = Number(/^RETENTION_DAYS\s*=\s*"([^"]+)"/m.exec(toml)?.[1]);
  return Number.isFinite(days) && days > 0 ? days : limits.defaultRetentionDays;
}

export { limits };

/**
 * Writes the model check's config: the product's wrangler.toml with
 * bench/model/entry.ts as its main module, paths made relative to where the
 * copy lives, and the gate's Durable Object added. Returns its path.
 */
export function writeModelConfig(): string {
  const relocate: [RegExp, string][] = [
    [/^main\s*=\s*"src\/index\.ts"/m, 'main = "../model/entry.ts"'],
    [/^directory\s*=\s*"public"/m, 'directory = "../../public"'],
    [/^migrations_dir\s*=\s*"migrations"/gm, 'migrations_dir = "../../migrations"'],
  ];
  let toml = product();
  for (const [pattern, replacement] of relocate) {
    if (!pattern.test(toml))
      throw new Error(`${PRODUCT_CONFIG} no longer matches ${pattern}: update bench/model/config.ts`);
    toml = toml.replace(pattern, replacement);
  }
  toml += `
# Added by bench/model/config.ts: one gate per emulated database.
[[durable_objects.bindings]]
name = "D1_GATE"
class_name = "D1Gate"

[[migrations]]
tag = "bench-model-gate"
new_sqlite_classes = ["D1Gate"]
`;
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(MODEL_CONFIG, toml);
  return MODEL_CONFIG;
}
