import type { D1Migration } from "cloudflare:test";

// Bindings only the workers test project adds (see vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      RECEIVER_URL: string;
      OTHER_RECEIVER_URL: string;
      SPARE_SHARD: D1Database;
    }
  }
}
