#!/usr/bin/env node
// `npm run dev [-- wrangler dev args]`: applies the D1 migrations to every
// local database (scripts/migrate-local.mjs) in the state `wrangler dev` will use, then starts it with the local-only
// settings (admin token `dev-admin-token`, http/loopback callbacks allowed)
// passed as --var, so they can never reach a deployed Worker. Cron triggers do
// not fire under `wrangler dev`, so this also runs the sweep once a minute
// through wrangler's /__scheduled route, as production's cron would, and once
// 30 s after it starts (or once the server is up, if later): a server started
// on the state of one that died (its in-memory queues lost) then finds the lost
// work at once, since everything the dead server started has by then passed
// its 30 s lease or grace (src/limits.ts: attemptLeaseSeconds, enqueueGraceSeconds).
// Once the server is up it prints a ready local API key and its webhook secret,
// made on the first start and kept beside the local state (readyKeyFile), and
// the dashboard and docs URLs.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { migrateLocal } from "./migrate-local.mjs";

const args = process.argv.slice(2);
const persistIndex = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persistArgs =
  persistIndex === -1
    ? []
    : args[persistIndex].includes("=")
      ? [args[persistIndex]]
      : args.slice(persistIndex, persistIndex + 2);
const portIndex = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
const port =
  portIndex === -1 ? "8787" : args[portIndex].includes("=") ? args[portIndex].split("=")[1] : args[portIndex + 1];
// wrangler's own default state directory, unless --persist-to names another.
const stateDir =
  persistIndex === -1 ? join(".wrangler", "state") : (persistArgs.at(-1) ?? "").replace(/^--persist-to=/, "");
const readyKeyFile = join(stateDir, "edgejobs-dev-key.json");
const adminToken = "dev-admin-token";
const sweepEverySeconds = Number(process.env.EDGEJOBS_DEV_SWEEP_SECONDS ?? 60);
// A sweep rarer than the cron's minute (the bench's 3600: none while it measures) delays the first one too.
const firstSweepAfterSeconds = sweepEverySeconds > 60 ? sweepEverySeconds : 30;

const persistTo = persistArgs.length === 0 ? undefined : (persistArgs[1] ?? persistArgs[0].split("=")[1]);
const applied = await migrateLocal(persistTo);
const count = Object.values(applied).reduce((sum, n) => sum + n, 0);
console.log(`D1: ${Object.keys(applied).length} local databases migrated (${count} migrations applied)`);

const dev = spawn(
  "wrangler",
  [
    "dev",
    "--var",
    `ADMIN_TOKEN:${adminToken}`,
    "--var",
    "ALLOW_LOCAL_CALLBACKS:true",
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    ...args,
  ],
  { stdio: "inherit" },
);

const base = `http://127.0.0.1:${port}`;
const sweep = () =>
  fetch(`${base}/__scheduled?cron=*+*+*+*+*`).catch(() => {
    // not listening yet (or shutting down): the next tick tries again
  });
const sweeper = setInterval(sweep, sweepEverySeconds * 1000);

const isUp = () =>
  fetch(`${base}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
/** Resolves once the server answers, polling every half second. */
async function untilUp() {
  while (!(await isUp())) await new Promise((resolve) => setTimeout(resolve, 500));
}
const firstSweep = setTimeout(() => untilUp().then(sweep), firstSweepAfterSeconds * 1000);

/**
 * The local API key kept in readyKeyFile, `{ id, api_key, webhook_secret }`
 * as POST /v1/keys answered it, if the server still accepts it; else a new
 * one, created with the local admin token and kept there.
 */
async function readyKey() {
  if (existsSync(readyKeyFile)) {
    const kept = JSON.parse(readFileSync(readyKeyFile, "utf8"));
    const check = await fetch(`${base}/v1/jobs?limit=1`, { headers: { authorization: `Bearer ${kept.api_key}` } });
    if (check.ok) return kept;
    if (check.status !== 401) throw new Error(`checking the kept key answered ${check.status}: ${await check.text()}`);
  }
  const created = await fetch(`${base}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "local-dev" }),
  });
  if (created.status !== 201) throw new Error(`POST /v1/keys answered ${created.status}: ${await created.text()}`);
  const key = await created.json();
  mkdirSync(dirname(readyKeyFile), { recursive: true });
  writeFileSync(readyKeyFile, `${JSON.stringify(key, null, 2)}\n`);
  return key;
}

untilUp()
  .then(readyKey)
  .then(
    (key) => {
      const shown = `http://localhost:${port}`;
      console.log(
        [
          "",
          `edgejobs is ready on ${shown}`,
          `  API key:         ${key.api_key}`,
          `  webhook secret:  ${key.webhook_secret}`,
          `  dashboard:       ${shown}/`,
          `  API docs:        ${shown}/docs (OpenAPI: ${shown}/openapi.json)`,
          `  admin token:     ${adminToken}`,
          `(the key is kept in ${readyKeyFile} and reused on the next start)`,
          "",
        ].join("\n"),
      );
    },
    (error) => console.error(`edgejobs: no ready API key (${error.message}); create one with POST /v1/keys`),
  );

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => {
  clearInterval(sweeper);
  clearTimeout(firstSweep);
  process.exit(code ?? 0);
});
