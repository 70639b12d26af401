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
import { spawn } from "node:child_process";
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
const sweepEverySeconds = Number(process.env.EDGEJOBS_DEV_SWEEP_SECONDS ?? 60);
const firstSweepAfterSeconds = 30;

const persistTo = persistArgs.length === 0 ? undefined : (persistArgs[1] ?? persistArgs[0].split("=")[1]);
const applied = await migrateLocal(persistTo);
const count = Object.values(applied).reduce((sum, n) => sum + n, 0);
console.log(`D1: ${Object.keys(applied).length} local databases migrated (${count} migrations applied)`);

const dev = spawn(
  "wrangler",
  [
    "dev",
    "--var",
    "ADMIN_TOKEN:dev-admin-token",
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

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => {
  clearInterval(sweeper);
  clearTimeout(firstSweep);
  process.exit(code ?? 0);
});
