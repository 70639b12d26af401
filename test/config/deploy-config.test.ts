import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
// @ts-expect-error: a plain ES module script without type declarations
import { createMissing, hasAdminToken, resourcesOf, withDatabaseId } from "../../scripts/deploy.mjs";
import { limits } from "../../src/limits";

const config = unstable_readConfig({ config: "wrangler.toml" });

describe("wrangler.toml, as npm run deploy reads it", () => {
  it("names every resource the deploy script creates", () => {
    expect(resourcesOf(config)).toEqual({
      queues: [
        "edgejobs-jobs-0",
        "edgejobs-jobs-1",
        "edgejobs-callbacks",
        "edgejobs-jobs-0-dlq",
        "edgejobs-jobs-1-dlq",
        "edgejobs-callbacks-dlq",
      ],
      databases: [
        { name: "edgejobs", id: expect.any(String), binding: "DB" },
        ...Array.from({ length: 32 }, (_, k) => ({
          name: `edgejobs-shard-${k}`,
          id: expect.any(String),
          binding: `SHARD_${k}`,
        })),
      ],
      buckets: ["edgejobs-blobs"],
      secrets: ["ADMIN_TOKEN"],
    });
  });

  /** What execFileSync throws when wrangler says the queue or bucket does not exist (its words on stderr). */
  const notFound = (kind: "queue" | "bucket", name: string) =>
    Object.assign(new Error(`Command failed: wrangler … ${name}`), {
      stderr:
        kind === "queue"
          ? `✘ [ERROR] Queue "${name}" does not exist. To create it, run: wrangler queues create ${name}`
          : "✘ [ERROR] A request to the Cloudflare API failed.\n  The specified bucket does not exist. [code: 10006]",
    });

  it("creates nothing, and stops with wrangler's error, when it cannot tell whether a queue exists", () => {
    const calls: string[] = [];
    const notLoggedIn = (...args: string[]) => {
      calls.push(args.join(" "));
      throw Object.assign(new Error("Command failed: wrangler queues info"), {
        stderr: "✘ [ERROR] You are not authenticated. Please run `wrangler login`.",
      });
    };
    expect(() => createMissing(resourcesOf(config), notLoggedIn)).toThrow(/queues info/);
    expect(calls).toEqual(["queues info edgejobs-jobs-0"]);
  });

  it("creates exactly the queues and bucket the account lacks, asking for each by its exact name", () => {
    // An account holding a dead-letter queue whose main queue is gone, and a bucket with a longer name:
    // looked for in a listing's text, "edgejobs-jobs-0" and "edgejobs-blobs" would be taken as there.
    const account = {
      queues: new Set(["edgejobs-jobs-0-dlq", "edgejobs-callbacks"]),
      buckets: new Set(["edgejobs-blobs-old"]),
    };
    const created: string[] = [];
    const run = (...args: string[]) => {
      const [kind, ...rest] = args;
      const name = rest.at(-1) as string;
      const held = kind === "queues" ? account.queues : account.buckets;
      const verb = kind === "queues" ? rest[0] : rest[1];
      if (verb === "info" && kind === "queues") {
        if (!held.has(name)) throw notFound("queue", name);
        return `⛅️ wrangler 4.164.0\n───\nQueue Name: ${name}\nQueue ID: 1\n`;
      }
      if (verb === "info" && !held.has(name)) throw notFound("bucket", name);
      if (verb === "create") {
        held.add(name);
        created.push(`${kind} ${name}`);
      }
      return "";
    };
    createMissing(resourcesOf(config), run);
    expect(created).toEqual([
      "queues edgejobs-jobs-0",
      "queues edgejobs-jobs-1",
      "queues edgejobs-jobs-1-dlq",
      "queues edgejobs-callbacks-dlq",
      "r2 edgejobs-blobs",
    ]);
    createMissing(resourcesOf(config), run);
    expect(created, "a second deploy creates nothing").toHaveLength(5);
  });

  it("stops, creating nothing, when wrangler's answer for a queue is about another queue", () => {
    const created: string[] = [];
    const run = (...args: string[]) => {
      if (args[1] === "create") created.push(args.join(" "));
      return `Queue Name: ${args.at(-1)}-dlq\n`;
    };
    expect(() => createMissing(resourcesOf(config), run)).toThrow(/about another queue/);
    expect(created).toEqual([]);
  });

  it("writes a database's id into wrangler.toml in place, keeping every other line and comment", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    const placeholder = (binding: string) =>
      config.d1_databases.find((d: { binding: string }) => d.binding === binding).database_id as string;
    const id = "4f8e2a1c-0000-4000-8000-000000000005";
    const patched: string = withDatabaseId(toml, placeholder("SHARD_5"), id);
    const file = join(mkdtempSync(join(tmpdir(), "edgejobs-toml-")), "wrangler.toml");
    writeFileSync(file, patched);
    const ids = (c: typeof config) =>
      Object.fromEntries(
        c.d1_databases.map((d: { binding: string; database_id: string }) => [d.binding, d.database_id]),
      );
    expect(ids(unstable_readConfig({ config: file }))).toEqual({ ...ids(config), SHARD_5: id });
    expect(patched.split("\n").filter((l) => l.includes("#"))).toEqual(toml.split("\n").filter((l) => l.includes("#")));
    expect(() => withDatabaseId(patched, placeholder("SHARD_5"), id)).toThrow(/exactly one/);
  });

  it("knows whether ADMIN_TOKEN is set, also before the Worker's first deploy, and stops on any other failure", () => {
    const answering =
      (answer: string | Error) =>
      (...args: string[]) => {
        expect(args).toEqual(["secret", "list", "--format", "json"]);
        if (answer instanceof Error) throw answer;
        return answer;
      };
    const failing = (stderr: string) => Object.assign(new Error("Command failed: wrangler secret list"), { stderr });
    expect(hasAdminToken(answering('[{"name":"ADMIN_TOKEN","type":"secret_text"}]'))).toBe(true);
    expect(hasAdminToken(answering('[{"name":"OTHER","type":"secret_text"}]'))).toBe(false);
    // wrangler 4.164's answer for a Worker never deployed (`secret put` then creates it as a draft).
    const neverDeployed = failing(
      '✘ [ERROR] Worker "edgejobs" not found.\n\nIf this is a new Worker, run `wrangler deploy` first to create it.',
    );
    expect(hasAdminToken(answering(neverDeployed))).toBe(false);
    expect(() => hasAdminToken(answering(failing("✘ [ERROR] You are not authenticated.")))).toThrow(/secret list/);
  });

  it("runs from a checkout whose path has a space in it, or is reached through a symlink (--plan prints the resources)", () => {
    const checkout = join(mkdtempSync(join(tmpdir(), "edgejobs deploy ")), "repo");
    mkdirSync(join(checkout, "scripts"), { recursive: true });
    for (const file of ["wrangler.toml", "scripts/deploy.mjs"]) copyFileSync(file, join(checkout, file));
    symlinkSync(resolve("node_modules"), join(checkout, "node_modules"));
    const printed = execFileSync(process.execPath, ["scripts/deploy.mjs", "--plan"], {
      cwd: checkout,
      encoding: "utf8",
    });
    expect(JSON.parse(printed)).toEqual(resourcesOf(config));
    // And named by a path through a symlink to it (Node runs the script by its real path).
    const linked = join(mkdtempSync(join(tmpdir(), "edgejobs-link-")), "repo");
    symlinkSync(checkout, linked);
    const throughLink = execFileSync(process.execPath, [join(linked, "scripts", "deploy.mjs"), "--plan"], {
      cwd: linked,
      encoding: "utf8",
    });
    expect(JSON.parse(throughLink)).toEqual(resourcesOf(config));
  }, 60_000); // two Node processes that load wrangler

  it("keeps every local database apart: each D1 binding has its own placeholder id and the one schema", () => {
    const ids = config.d1_databases.map((d: { database_id: string }) => d.database_id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const database of config.d1_databases) expect(database.migrations_dir).toBe("migrations");
  });

  it("sets every queue consumer setting explicitly, with a dead-letter queue for each main queue", () => {
    for (const consumer of config.queues.consumers ?? []) {
      for (const setting of ["max_batch_size", "max_batch_timeout", "max_retries", "retry_delay", "max_concurrency"]) {
        expect(consumer, `${consumer.queue}.${setting}`).toHaveProperty(setting);
      }
      if (!consumer.queue.endsWith("-dlq")) expect(consumer.dead_letter_queue).toBe(`${consumer.queue}-dlq`);
    }
  });

  it("gives every jobs queue (JOBS_<k>) a consumer with the same settings, and its dead-letter queue one", () => {
    type Consumer = { queue: string; dead_letter_queue?: string } & Record<string, unknown>;
    const consumers: Consumer[] = config.queues.consumers ?? [];
    const jobQueues = (config.queues.producers ?? []).filter((p: { binding: string }) => /^JOBS_\d+$/.test(p.binding));
    expect(jobQueues.map((p: { binding: string; queue: string }) => [p.binding, p.queue])).toEqual([
      ["JOBS_0", "edgejobs-jobs-0"],
      ["JOBS_1", "edgejobs-jobs-1"],
    ]);
    const settingsOf = (queue: string) => {
      const { queue: _, dead_letter_queue: __, ...settings } = consumers.find((c) => c.queue === queue) ?? {};
      return settings;
    };
    for (const { queue } of jobQueues) {
      expect(settingsOf(queue), queue).toEqual(settingsOf("edgejobs-jobs-0"));
      expect(settingsOf(`${queue}-dlq`), `${queue}-dlq`).toEqual(settingsOf("edgejobs-jobs-0-dlq"));
    }
    expect(settingsOf("edgejobs-jobs-0")).toHaveProperty("max_batch_size", 100);
  });

  it("gives every consumer the retries src/limits.ts counts on (Queues' maximum), so an outage is waited out", () => {
    for (const consumer of config.queues.consumers ?? []) {
      expect(consumer.max_retries, consumer.queue).toBe(limits.queueMaxRetries);
    }
  });

  it("never ships the development settings", () => {
    expect(config.vars).not.toHaveProperty("ADMIN_TOKEN");
    expect(config.vars.ALLOW_LOCAL_CALLBACKS).toBe("false");
    expect(config.vars).not.toHaveProperty("WEBHOOK_RETRY_SCHEDULE");
    expect(config.vars).not.toHaveProperty("RETRY_BASE_DELAY_SECONDS");
  });

  it("declares a migration for, and exports, every Durable Object class", () => {
    const migrated = config.migrations.flatMap((m: { new_sqlite_classes?: string[] }) => m.new_sqlite_classes ?? []);
    const index = readFileSync("src/index.ts", "utf8");
    for (const binding of config.durable_objects.bindings) {
      expect(migrated).toContain(binding.class_name);
      expect(index).toContain(`export { ${binding.class_name} }`);
    }
  });
});

describe("examples/receiver-python", () => {
  it("is valid Python", async () => {
    const { spawnSync } = await import("node:child_process");
    const run = spawnSync("python3", ["-m", "py_compile", "examples/receiver-python/receiver.py"], {
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
