// The baseline Worker (bench/baseline/) with extra platform operations per
// job, to price each under `wrangler dev` in CPU ms (`npm run bench --
// --op-costs`). Each job's consumer first makes `EXTRA_D1_READS` D1 round
// trips (a one-row read by key) and calls `EXTRA_NEW_OBJECTS` Durable
// Objects it names afresh, `CALLS_PER_OBJECT` times each (the first call
// creates the object, as a job's first call to its own tracker does); then
// the baseline's consumer runs as it is.
import { DurableObject } from "cloudflare:workers";
import baseline, { type JobMessage } from "../../baseline/src/index";

interface Env {
  DB: D1Database;
  JOBS: Queue<JobMessage>;
  WEBHOOK_SECRET: string;
  PROBE: DurableObjectNamespace<Probe>;
  /** Counts, as decimal text; absent: 0 (1 for CALLS_PER_OBJECT). */
  EXTRA_D1_READS?: string;
  EXTRA_NEW_OBJECTS?: string;
  CALLS_PER_OBJECT?: string;
}

/** An object that stores nothing and answers at once: what is left is the call and the object's creation. */
export class Probe extends DurableObject {
  touch(): boolean {
    return true;
  }
}

/** Makes a job's extra operations, one after another as a job's calls are. */
async function extraOperations(env: Env, jobId: string): Promise<void> {
  for (let i = 0; i < Number(env.EXTRA_D1_READS ?? 0); i++) {
    await env.DB.prepare("SELECT id FROM jobs WHERE id = ?").bind(jobId).first();
  }
  for (let i = 0; i < Number(env.EXTRA_NEW_OBJECTS ?? 0); i++) {
    const probe = env.PROBE.getByName(`${jobId}/${i}`);
    for (let call = 0; call < Number(env.CALLS_PER_OBJECT ?? 1); call++) await probe.touch();
  }
}

export default {
  fetch: (request, env) => baseline.fetch(request, env),
  async queue(batch, env) {
    await Promise.all(batch.messages.map((m) => extraOperations(env, m.body.id)));
    await baseline.queue(batch, env);
  },
} satisfies ExportedHandler<Env, JobMessage>;
