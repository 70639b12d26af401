// The receiver on Node (22.18 or later, which runs TypeScript as is):
//   EDGEJOBS_WEBHOOK_SECRET=whsec_… PORT=8000 npx node examples/receiver-ts/node.ts
import { serve } from "@hono/node-server";
import { receiver, webhookSecret } from "./receiver.ts";

let secret: ReturnType<typeof webhookSecret>;
try {
  secret = webhookSecret(process.env.EDGEJOBS_WEBHOOK_SECRET);
} catch (error) {
  // A setup mistake, not a bug: say what to set, without a stack trace.
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
const app = receiver(secret);
const port = Number(process.env.PORT ?? 8000);
serve({ fetch: app.fetch, port }, () => console.log(`receiving callbacks on http://localhost:${port}/hooks/jobs`));
