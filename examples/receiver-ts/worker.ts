// The receiver on Cloudflare Workers (wrangler.toml beside this file):
//   npx wrangler dev -c examples/receiver-ts/wrangler.toml --var EDGEJOBS_WEBHOOK_SECRET:whsec_…
// Deployed, the secret is a Worker secret: `npx wrangler secret put EDGEJOBS_WEBHOOK_SECRET`.
import { env } from "cloudflare:workers";
import { receiver, webhookSecret } from "./receiver.ts";

// Read when the Worker starts: without its secret it fails to start.
export default receiver(webhookSecret((env as { EDGEJOBS_WEBHOOK_SECRET?: string }).EDGEJOBS_WEBHOOK_SECRET));
