import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { everyDatabase } from "../../src/store/databases";

// Storage is isolated per test file; every file starts from the migrated schema, on every database.
await Promise.all(everyDatabase(env).map((db) => applyD1Migrations(db, env.TEST_MIGRATIONS)));
