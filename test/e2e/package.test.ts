import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readmeBlock } from "../support/readme";
import { base, createTenant, type Tenant } from "./client";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
/**
 * The machine's own Node and npm, as a user has them: npm scripts put this
 * project's `node` devDependency (Node 24) first on PATH, so it is taken off.
 */
const userEnv = {
  ...process.env,
  PATH: (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !dir.includes("node_modules"))
    .join(delimiter),
};

let folder: string;
let tenant: Tenant;

/** `npm pack` of the project, installed into an empty folder with nothing but the tarball. */
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "edgejobs-package-"));
  tenant = await createTenant("package");
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", folder], { cwd: root, env: userEnv });
  const tarball = join(folder, stdout.trim().split("\n").at(-1) ?? "");
  await writeFile(join(folder, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // --offline: a dependency of the package would have to come from the registry, and fail here.
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: folder, env: userEnv });
}, 120_000);
afterAll(() => rm(folder, { recursive: true, force: true }));

describe("the packed edgejobs package", () => {
  it("installs the client alone: compiled JavaScript and declarations, no dependencies", async () => {
    expect(await readdir(join(folder, "node_modules"))).toEqual([".package-lock.json", "edgejobs"]);
    const installed = join(folder, "node_modules", "edgejobs");
    expect((await readdir(join(installed, "dist", "client"))).sort()).toEqual([
      "contract.d.ts",
      "errors.d.ts",
      "index.d.ts",
      "index.js",
      "retry.d.ts",
      "verify.d.ts",
    ]);
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
    expect(manifest.dependencies).toBeUndefined();
    expect(await readdir(installed)).not.toContain("src");
  });

  it("submits, waits and verifies a real callback from a plain .mjs script on the machine's Node", async () => {
    // A user's script: no build step, the receiver on Node's http with req.headers and a Buffer body.
    const script = `
      import { createServer } from "node:http";
      import { EdgejobsClient, verifyWebhook } from "edgejobs/client";

      const client = new EdgejobsClient({ baseUrl: process.env.EDGEJOBS_URL, apiKey: process.env.EDGEJOBS_KEY });
      let received;
      const callback = new Promise((resolve) => (received = resolve));
      const server = createServer(async (req, res) => {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        res.writeHead(204).end();
        received({ headers: req.headers, body: Buffer.concat(chunks) });
      });
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      const callback_url = "http://127.0.0.1:" + server.address().port + "/hook";
      const job = await client.submit({ type: "echo", input: { from: "tarball" }, callback_url });
      const done = await client.wait(job.id, { timeout: 20000 });
      const { headers, body } = await callback;
      server.close();
      const event = await verifyWebhook(process.env.EDGEJOBS_WEBHOOK_SECRET, body, headers);
      console.log(JSON.stringify({ node: process.version, status: done.status, result: await client.result(job.id), event }));
    `;
    await writeFile(join(folder, "use.mjs"), script);
    const { stdout } = await run("node", ["use.mjs"], {
      cwd: folder,
      env: {
        ...userEnv,
        EDGEJOBS_URL: base,
        EDGEJOBS_KEY: tenant.apiKey,
        EDGEJOBS_WEBHOOK_SECRET: tenant.webhookSecret,
      },
    });
    const ran = JSON.parse(stdout);
    expect(ran).toMatchObject({
      status: "succeeded",
      result: { from: "tarball" },
      event: { type: "job.succeeded", data: { status: "succeeded", result: { from: "tarball" } } },
    });
    expect(ran.node).not.toBe(process.version); // the machine's Node, not the devDependency's
  });

  it("types a consumer with tsc: submit checks each job type's input, verifyWebhook takes Node's headers", async () => {
    const consumer = `
      import { EdgejobsClient, EdgejobsError, type Job, verifyWebhook, type WebhookEvent } from "edgejobs/client";

      const client = new EdgejobsClient({ baseUrl: "http://localhost:8787", apiKey: "ejk_x", retry: { attempts: 2 } });
      export async function use(): Promise<Job["status"]> {
        const job = await client.submit({ type: "sleep", input: { seconds: 1, steps: 2 } }, { idempotencyKey: "k" });
        await client.submit({ type: "echo" });
        await client.submitBatch([{ type: "fail", input: { fail_attempts: 1 } }, { type: "echo", input: [1, "two"] }]);
        // @ts-expect-error seconds is a number
        await client.submit({ type: "sleep", input: { seconds: "1" } });
        // @ts-expect-error sleep needs its input
        await client.submit({ type: "sleep" });
        // @ts-expect-error no such job type
        await client.submit({ type: "slep", input: { seconds: 1 } });
        const headers: Record<string, string | string[] | undefined> = { "webhook-id": "evt_x" };
        const event: WebhookEvent = await verifyWebhook("whsec_x", new Uint8Array(), headers);
        const version: number = event.data.version;
        const retryAfter: number | null = new EdgejobsError(429, "rate_limited", "slow down").retryAfter;
        return version > 0 && retryAfter === null ? job.status : "failed";
      }
    `;
    await writeFile(join(folder, "consumer.ts"), consumer);
    await expect(typecheck(["consumer.ts"])).resolves.toBe("");
  });

  it("runs the README's client snippet as written", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Dashboard, API reference, client"));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(snippet).toContain('from "edgejobs/client"');
    await writeFile(join(folder, "readme.ts"), snippet);
    await expect(typecheck(["readme.ts"], { node: true })).resolves.toBe("");
    // Node 24 (this project's) strips the types; the machine's Node 20 cannot run .ts.
    const { stdout } = await run(process.execPath, ["readme.ts"], {
      cwd: folder,
      env: { ...process.env, EDGEJOBS_URL: base, EDGEJOBS_KEY: tenant.apiKey },
    });
    expect(stdout).toContain("progress running");
    expect(stdout).toContain("succeeded { slept_seconds: 3, steps: 3 }");
    expect(stdout).toContain("1 info step 3 of 3");
    expect(stdout).toContain("already done");
  });

  it("runs the README's fan-in snippet as written", async () => {
    const { code } = readmeBlock("fan-in");
    await writeFile(join(folder, "fan-in.ts"), code);
    await expect(typecheck(["fan-in.ts"], { node: true })).resolves.toBe("");
    const { stdout } = await run(process.execPath, ["fan-in.ts"], {
      cwd: folder,
      env: { ...process.env, EDGEJOBS_URL: base, EDGEJOBS_KEY: tenant.apiKey },
    });
    expect(stdout).toContain("completed 3 of 3");
    expect(stdout).toMatch(/job_\w+ \{ n: 3 \}/);
  });
});

/**
 * `tsc --noEmit` over `files` in the consumer folder, strict, resolving
 * `edgejobs/client` as Node does; its output. The package's declarations are
 * checked too, except with Node's types (`@types/node` is not ours to check).
 */
async function typecheck(files: string[], options: { node?: boolean } = {}): Promise<string> {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2022", "DOM", "DOM.Iterable", "DOM.AsyncIterable"],
      types: options.node ? ["node"] : [],
      typeRoots: [join(root, "node_modules", "@types")],
      skipDefaultLibCheck: true,
      skipLibCheck: options.node === true,
    },
    files,
  };
  await writeFile(join(folder, "tsconfig.json"), JSON.stringify(tsconfig));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  return run(process.execPath, [tsc, "-p", folder]).then(
    ({ stdout }) => stdout,
    (error: { stdout: string }) => error.stdout,
  );
}
