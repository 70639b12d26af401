import type { TestProject } from "vitest/node";
import { startDevServer } from "../support/dev-server";

declare module "vitest" {
  export interface ProvidedContext {
    devUrl: string;
    /** The ready API key and webhook secret that `npm run dev` printed. */
    devKey: { apiKey: string; webhookSecret: string };
  }
}

/** One `npm run dev` for the e2e files, which run one after another. */
export default async function setup(project: TestProject) {
  const server = await startDevServer();
  project.provide("devUrl", server.url);
  project.provide("devKey", server.readyKey);
  return () => server.stop();
}
