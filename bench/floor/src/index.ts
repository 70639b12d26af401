// The shape's floor: the core of edgejobs' shape for an echo job with a
// callback, to tell what that core costs from what the product adds. It is
// the baseline (bench/baseline/: its submit and poll as they are) plus what
// the shape and the contract ask of every job's data path:
// - a Durable Object per job tracks its state: the consumer asks the job's
//   object to begin it and to complete it (two requests), and the object
//   stores each change in D1 before it answers;
// - lists by status (`GET /v1/jobs?status=`) read only that status's jobs:
//   here through a status index entry beside the job's row (migrations/; the
//   product keys its rows by status instead, one row written fewer a change);
// - the start is stored (`running` is a status a list shows), and the end
//   before the callback that tells of it;
// - the callback's outcome is stored (the delivery log): one D1 batch per
//   consumer batch, as the baseline writes its results.
// Nothing else, so it is a lower bound, not a compliant service: no auth or
// per-tenant secrets, no tenant limits or origin gate, no retries, leases or
// recovery after a crash, no events table.

import { DurableObject } from "cloudflare:workers";
import baseline, { type JobMessage, sendCallback } from "../../baseline/src/index";

interface Env {
  DB: D1Database;
  JOBS: Queue<JobMessage>;
  TRACKER: DurableObjectNamespace<Tracker>;
  WEBHOOK_SECRET: string;
}

/** One job's tracker: its begin and complete, each stored in D1 before it answers. */
export class Tracker extends DurableObject<Env> {
  /** Marks the job running; answers false if it was not queued (another attempt has it). */
  async begin(id: string): Promise<boolean> {
    const started = await this.env.DB.prepare(
      "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'",
    )
      .bind(Date.now(), id)
      .run();
    return started.meta.changes === 1;
  }

  /** Stores the job's result (JSON text) and its end. */
  async complete(id: string, result: string): Promise<void> {
    await this.env.DB.prepare(
      "UPDATE jobs SET status = 'succeeded', result = ?, finished_at = ? WHERE id = ? AND status = 'running'",
    )
      .bind(result, Date.now(), id)
      .run();
  }
}

export default {
  fetch: baseline.fetch,

  async queue(batch: MessageBatch<JobMessage>, env: Env) {
    const outcomes = await Promise.all(
      batch.messages.map(async ({ body }) => {
        const tracker = env.TRACKER.get(env.TRACKER.idFromName(body.id));
        if (!(await tracker.begin(body.id))) return [];
        await tracker.complete(body.id, body.input); // echo: the result is the input
        if (!body.callback_url) return [];
        // A failed send is an outcome to record, not a reason to give up the batch's other jobs.
        const delivered = await sendCallback(env.WEBHOOK_SECRET, body.callback_url, body.id, body.input).then(
          async (res) => {
            await res.body?.cancel();
            return res.ok;
          },
          () => false,
        );
        return [{ id: body.id, status: delivered ? "delivered" : "failed" }];
      }),
    );
    const recorded = outcomes.flat();
    if (recorded.length > 0) {
      await env.DB.batch(
        recorded.map(({ id, status }) =>
          env.DB.prepare("UPDATE jobs SET callback_status = ? WHERE id = ?").bind(status, id),
        ),
      );
    }
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, JobMessage>;
