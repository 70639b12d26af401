import type { Env } from "../env";
import { newId } from "../platform/ids";
import { getText, inputKey } from "../store/blobs";
import { DomainError } from "./errors";
import { isRetryable, rerunOf } from "./lifecycle";
import type { JobRecord } from "./model";
import { getJob } from "./queries";
import { createJobs, type Idempotency, type SubmitOutcome } from "./submit";

/**
 * `POST /v1/jobs/{id}/retry`: runs the tenant's failed or canceled job again
 * as a new job (`rerunOf`), created like a submitted one — with
 * `idempotency` (scope `retry`, the target job's id as its request), a
 * repeat answers the job the first retry created. The original is only
 * read. An input kept in R2 is copied for the new job, so each job's input
 * lives and is purged with that job. Throws 404 for another tenant's job (or
 * an input already purged), 409 `job_not_retryable` for any other status.
 */
export function retryJob(
  env: Env,
  tenantId: string,
  id: string,
  idempotency: Idempotency | null,
): Promise<SubmitOutcome> {
  return createJobs(env, tenantId, { idempotency }, async (shard, now) => {
    const original = await getJob(env, tenantId, id);
    if (!isRetryable(original)) throw notRetryable(original);
    const newJobId = newId.job(shard);
    if (original.inputKey === null) {
      return [{ job: rerunOf(original, newJobId, now, null), largeInput: null, inputBytes: 0 }];
    }
    const largeInput = await getText(env.BLOBS, original.inputKey);
    if (largeInput === null) throw new DomainError(404, "no_input", "This job's input is no longer stored.");
    const job = rerunOf(original, newJobId, now, inputKey(newJobId));
    return [{ job, largeInput, inputBytes: new TextEncoder().encode(largeInput).byteLength }];
  });
}

const notRetryable = (job: JobRecord) =>
  new DomainError(409, "job_not_retryable", `The job is ${job.status}; only a failed or canceled job can be retried.`);
