#!/usr/bin/env node
// Builds what the dashboard and /docs load, into public/vendor/ (not committed):
// the TypeScript client as a browser module, and Scalar's API reference bundle,
// so both work offline, from the Worker's own static assets.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "public", "vendor");
mkdirSync(vendor, { recursive: true });

await build({
  entryPoints: [join(root, "src", "client", "index.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  outfile: join(vendor, "edgejobs-client.js"),
  logLevel: "warning",
});

// The package does not export its browser bundle, so it is found on disk.
const scalar = join(root, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
copyFileSync(scalar, join(vendor, "scalar-api-reference.js"));
