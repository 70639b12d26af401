// Applies the D1 migrations to every local database (the control database and
// each shard) in one process: `wrangler d1 migrations apply --local` takes
// ~8 s a database here, 17 databases would take minutes. Records each applied
// migration in `d1_migrations` as wrangler does, so wrangler agrees on what is
// applied. The local state is the one `wrangler dev` uses (its --persist-to).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { getPlatformProxy, unstable_readConfig } from "wrangler";

const TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/**
 * Migrates every D1 binding of wrangler.toml under `persistTo` (wrangler
 * dev's --persist-to; default `.wrangler/state`). Returns how many
 * migrations it applied per binding.
 */
export async function migrateLocal(persistTo = ".wrangler/state") {
  const migrations = await readD1Migrations("migrations");
  // Only the databases: a config naming the Durable Objects without the Worker that exports them
  // would have workerd warn about each. The same database ids keep the same local files.
  const { compatibility_date, d1_databases } = unstable_readConfig({ config: "wrangler.toml" });
  const configPath = join(".wrangler", "migrate-local.json");
  mkdirSync(".wrangler", { recursive: true });
  writeFileSync(configPath, JSON.stringify({ name: "edgejobs-migrate", compatibility_date, d1_databases }));
  const proxy = await getPlatformProxy({ configPath, persist: { path: join(persistTo, "v3") } });
  try {
    const bindings = Object.entries(proxy.env).filter(([name]) => name === "DB" || /^SHARD_\d+$/.test(name));
    const applied = await Promise.all(
      bindings.map(async ([name, db]) => {
        await db.prepare(TABLE).run();
        const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
        const pending = migrations.filter((m) => !done.has(m.name));
        for (const m of pending) {
          await db.batch([
            ...m.queries.map((q) => db.prepare(q)),
            db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(m.name),
          ]);
        }
        return [name, pending.length];
      }),
    );
    return Object.fromEntries(applied);
  } finally {
    await proxy.dispose();
  }
}
