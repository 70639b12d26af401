import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin } from "vitest/config";

// standardwebhooks ships source maps naming sources it does not ship, and vite
// says so on every run of the workers project: not ours to fix, and noise.
// (Vitest replaces a config's customLogger, so this wraps the resolved one.)
const quietMissingSourcemaps: Plugin = {
  name: "edgejobs:quiet-missing-sourcemaps",
  configResolved(config) {
    const warnOnce = config.logger.warnOnce;
    config.logger.warnOnce = (message, options) => {
      if (!message.includes("points to missing source files")) warnOnce(message, options);
    };
  },
};

// Pure modules in Node, the Worker in workerd with real bindings (and again
// metered, for the operation budgets), and black-box tests against `npm run dev`.
export default defineConfig({
  test: {
    // Logs of behaviour the tests provoke on purpose (the Worker's console.error
    // on a simulated outage, …) are printed only for a test that fails.
    silent: "passed-only",
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/config/**/*.test.ts"], environment: "node" },
      },
      workersProject("workers", "test/workers/**/*.test.ts"),
      // Per-job operation budgets: the same Worker with its bindings metered
      // (src/platform/metering.ts), so a change that adds a query or a row fails.
      // A callback timeout far above the slow receiver's 1.2 s, so load never turns it into a retry.
      workersProject("budgets", "test/budgets/**/*.test.ts", { METERING: "true", WEBHOOK_TIMEOUT_MS: "10000" }),
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/dev-server-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

/** A project that runs the Worker in workerd with real bindings, `bindings` added to the test ones. */
function workersProject(name: string, include: string, bindings: Record<string, string> = {}) {
  return {
    plugins: [
      quietMissingSourcemaps,
      cloudflareTest(async ({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: "test-admin-token",
            ALLOW_LOCAL_CALLBACKS: "true",
            RETRY_BASE_DELAY_SECONDS: "1",
            TEST_MIGRATIONS: await readD1Migrations("./migrations"),
            RECEIVER_URL: `http://127.0.0.1:${inject("receiverPort")}`,
            OTHER_RECEIVER_URL: `http://127.0.0.1:${inject("otherReceiverPort")}`,
            // A short webhook schedule (4 attempts, 1 s apart) and timeout; the real
            // schedule's arithmetic is unit-tested.
            WEBHOOK_RETRY_SCHEDULE: "0,1,1,1",
            WEBHOOK_TIMEOUT_MS: "1500",
            // Below the local queue's batch of 10, so the per-origin bound shows.
            WEBHOOK_MAX_IN_FLIGHT_PER_ORIGIN: "4",
            ...bindings,
          },
          // An unmigrated database beside the shards: a test binds it as the last shard, as if just added.
          d1Databases: { SPARE_SHARD: "edgejobs-spare-shard" },
        },
      })),
    ],
    test: {
      name,
      include: [include],
      setupFiles: ["test/workers/setup.ts"],
      globalSetup: ["test/support/receiver-setup.ts"],
      testTimeout: 20_000,
    },
  };
}
