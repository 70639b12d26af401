#!/usr/bin/env node
// `npm run deploy`: makes sure every resource wrangler.toml names exists on
// the Cloudflare account (creating what is missing), applies the D1
// migrations, sets ADMIN_TOKEN if it is not set (printing it once), and
// deploys. Safe to run again: each step checks before it acts.
// `node scripts/deploy.mjs --plan` prints the steps without any network.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { unstable_readConfig } from "wrangler";

const CONFIG = "wrangler.toml";
/** wrangler.toml's placeholder ids: all zeros but the last digits, which keep local databases apart. */
const isPlaceholder = (id) => id.startsWith("00000000-0000-0000-0000-0000000");

/** Every resource the Worker needs, read from wrangler.toml. */
export function resourcesOf(config) {
  const queues = new Set();
  for (const p of config.queues.producers ?? []) queues.add(p.queue);
  for (const c of config.queues.consumers ?? []) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
  return {
    queues: [...queues],
    databases: config.d1_databases.map((d) => ({ name: d.database_name, id: d.database_id, binding: d.binding })),
    buckets: config.r2_buckets.map((b) => b.bucket_name),
    secrets: ["ADMIN_TOKEN"],
  };
}

const wrangler = (...args) => execFileSync("wrangler", args, { encoding: "utf8", stdio: ["pipe", "pipe", "inherit"] });

/**
 * What wrangler `args` printed, or null when it failed saying what it looked
 * for is not there (`missing`, matched against its stderr and message). Any
 * other failure (not logged in, no network) is thrown as it came: the deploy
 * stops rather than act on a guess. `run(...args)` runs wrangler and throws
 * if it exits non-zero, with wrangler's words in the error's `stderr`.
 */
function unlessMissing(run, args, missing) {
  try {
    return run(...args);
  } catch (error) {
    if (missing.test(`${error.stderr ?? ""}${error.message}`)) return null;
    throw error;
  }
}

/**
 * Creates each queue and bucket of `resources` the account lacks, asking
 * for each by its exact name (`wrangler queues info NAME`, `wrangler r2
 * bucket info NAME`) rather than looking for it in a listing's text, where
 * "edgejobs-jobs-0" is found in "edgejobs-jobs-0-dlq" and `queues list`
 * shows one page. Only wrangler's answer that it does not exist (`Queue "…"
 * does not exist.`; the R2 API's code 10006) leads to a create. Throws if
 * `queues info` answers about another queue (its lookup takes the first
 * queue the API lists for the name). `run`: as for `unlessMissing`.
 */
export function createMissing(resources, run) {
  for (const name of resources.queues) {
    const info = unlessMissing(run, ["queues", "info", name], /does not exist/i);
    if (info === null) run("queues", "create", name);
    else if (!info.split("\n").includes(`Queue Name: ${name}`)) {
      throw new Error(`wrangler queues info ${name} answered about another queue:\n${info}`);
    }
  }
  for (const name of resources.buckets) {
    if (unlessMissing(run, ["r2", "bucket", "info", name], /does not exist|\b10006\b/i) === null) {
      run("r2", "bucket", "create", name);
    }
  }
}

/**
 * wrangler.toml's text with the database_id `from` replaced by `to`. Each
 * binding's id is unique (wrangler.toml's placeholders are, and
 * test/config/deploy-config.test.ts checks it), so the one occurrence is
 * that binding's; every comment and line stays as it was (wrangler's own
 * config patching refuses a .toml with comments). Throws unless `from`
 * occurs exactly once.
 */
export function withDatabaseId(toml, from, to) {
  const line = `database_id = "${from}"`;
  const at = toml.indexOf(line);
  if (at === -1 || toml.indexOf(line, at + 1) !== -1) {
    throw new Error(`wrangler.toml: expected exactly one ${line}`);
  }
  return `${toml.slice(0, at)}database_id = "${to}"${toml.slice(at + line.length)}`;
}

/**
 * Whether the Worker has the ADMIN_TOKEN secret. A Worker not deployed yet
 * has none: wrangler's `secret list` then fails with "Worker … not found …
 * run `wrangler deploy` first", and `secret put` creates it as a draft.
 * `run`: as for `unlessMissing`.
 */
export function hasAdminToken(run) {
  const listed = unlessMissing(run, ["secret", "list", "--format", "json"], /not found[\s\S]*wrangler deploy/i);
  return listed !== null && JSON.parse(listed).some((secret) => secret.name === "ADMIN_TOKEN");
}

function main() {
  const config = unstable_readConfig({ config: CONFIG });
  const resources = resourcesOf(config);
  if (process.argv.includes("--plan")) {
    console.log(JSON.stringify(resources, null, 2));
    return;
  }
  // Its answers are read, its failures judged (`unlessMissing`): stderr is kept, and shown in a thrown error.
  const run = (...args) => execFileSync("wrangler", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  createMissing(resources, run);
  const databases = JSON.parse(wrangler("d1", "list", "--json"));
  for (const db of resources.databases) {
    let found = databases.find((d) => d.name === db.name);
    if (!found) {
      wrangler("d1", "create", db.name);
      found = JSON.parse(wrangler("d1", "list", "--json")).find((d) => d.name === db.name);
    }
    if (isPlaceholder(db.id) || db.id !== found.uuid) {
      writeFileSync(CONFIG, withDatabaseId(readFileSync(CONFIG, "utf8"), db.id, found.uuid));
      console.log(`wrangler.toml: ${db.binding} → database_id ${found.uuid} (commit this)`);
    }
    wrangler("d1", "migrations", "apply", db.binding, "--remote");
  }
  if (!hasAdminToken(run)) {
    const token = randomBytes(32).toString("base64url");
    execFileSync("wrangler", ["secret", "put", "ADMIN_TOKEN"], { input: token, stdio: ["pipe", "ignore", "inherit"] });
    console.log(`\nADMIN_TOKEN was not set; it is now (shown this once, store it safely):\n\n  ${token}\n`);
  }
  execFileSync("wrangler", ["deploy"], { stdio: "inherit" });
}

// Run, not imported (by its test): compared as URLs of real paths, so a path with spaces or through a symlink matches.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
