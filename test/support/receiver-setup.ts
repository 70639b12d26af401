import type { TestProject } from "vitest/node";
import { startReceiver } from "./receiver";

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
    otherReceiverPort: number;
  }
}

/**
 * Starts the receivers for the workers project; tests reach them at
 * env.RECEIVER_URL and env.OTHER_RECEIVER_URL (a second origin).
 */
export default async function setup(project: TestProject) {
  const receiver = await startReceiver();
  const other = await startReceiver();
  project.provide("receiverPort", receiver.port);
  project.provide("otherReceiverPort", other.port);
  return async () => {
    await Promise.all([receiver.close(), other.close()]);
  };
}
