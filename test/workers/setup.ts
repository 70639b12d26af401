import { env } from "cloudflare:workers";
import { everyDatabase } from "../../src/store/databases";

// Storage is isolated per test file; every file starts from the migrated schema, on every database.
// There are 33 (wrangler.toml), so each takes all the migrations in one batch, in order, with the
// d1_migrations rows `applyD1Migrations` would write: one round trip a database rather than two
// and one per migration, for the same schema (a fresh database has none of them applied).
const schema = `CREATE TABLE IF NOT EXISTS d1_migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;
await Promise.all(
  everyDatabase(env).map((db) =>
    db.batch([
      db.prepare(schema),
      ...env.TEST_MIGRATIONS.flatMap((migration) => [
        ...migration.queries.map((query) => db.prepare(query)),
        db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name),
      ]),
    ]),
  ),
);
