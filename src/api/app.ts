import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { meteringOn, readMeter, resetMeter } from "../platform/metering";
import { batchCompletedWebhook, batchesApi } from "./batches";
import { consoleApi } from "./console";
import { deliveriesApi } from "./deliveries";
import { docsPage } from "./docs";
import { errorResponse, onError } from "./errors";
import { eventsApi } from "./events";
import { jobTypesApi } from "./job-types";
import { jobsApi } from "./jobs";
import { keysApi } from "./keys";
import { requireApiKey } from "./middleware/auth";
import { rateLimit } from "./middleware/rate-limit";
import { documentConfig, registerWebhooks, signedWebhook } from "./openapi";
import { schedulesApi } from "./schedules";
import { tenantsApi } from "./tenants";
import { validationHook } from "./validation";
import { webhookSecretApi } from "./webhook-secret";

export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

app.onError(onError);
app.notFound(() => errorResponse(404, "not_found", "No such route."));

app.get("/healthz", (c) => c.json({ ok: true }));

// The benchmark's operation counters; absent unless METERING is on.
app.get("/__metrics", (c) => (meteringOn(c.env) ? c.json(readMeter()) : c.notFound()));
app.post("/__metrics/reset", (c) => {
  if (!meteringOn(c.env)) return c.notFound();
  resetMeter();
  return c.body(null, 204);
});

// Admin routes authenticate themselves; every other /v1 route needs an API key and is rate limited.
app.route("/v1/keys", keysApi);
app.route("/v1/tenants", tenantsApi);
const isAdminPath = (path: string) => path.startsWith("/v1/keys") || path.startsWith("/v1/tenants");
app.use("/v1/*", async (c, next) => (isAdminPath(c.req.path) ? next() : requireApiKey(c, next)));
app.use("/v1/*", async (c, next) => (isAdminPath(c.req.path) ? next() : rateLimit(c, next)));
app.route("/v1/jobs", jobsApi);
app.route("/v1/jobs", deliveriesApi);
app.route("/v1/jobs", eventsApi);
app.route("/v1/webhook-secret", webhookSecretApi);
app.route("/v1/job-types", jobTypesApi);
app.route("/v1", consoleApi);
app.route("/v1/batches", batchesApi);
app.route("/v1/schedules", schedulesApi);

app.get("/docs", (c) => c.html(docsPage));

app.doc31("/openapi.json", (c) => documentConfig(new URL(c.req.url).origin));
registerWebhooks(app);
app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
app.openAPIRegistry.registerWebhook(signedWebhook(batchCompletedWebhook));
