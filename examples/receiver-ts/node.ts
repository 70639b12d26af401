// The receiver on Node (22.18 or later, which runs TypeScript as is):
//   EDGEJOBS_WEBHOOK_SECRET=whsec_… PORT=8000 npx node examples/receiver-ts/node.ts
import { serve } from "@hono/node-server";
import { receiver, webhookSecret } from "./receiver.ts";

const app = receiver(webhookSecret(process.env.EDGEJOBS_WEBHOOK_SECRET)); // throws at start without it
const port = Number(process.env.PORT ?? 8000);
serve({ fetch: app.fetch, port }, () => console.log(`receiving callbacks on http://localhost:${port}/hooks/jobs`));
