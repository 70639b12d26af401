import { limits } from "../limits";
import { infraRetryDelaySeconds } from "./backoff";

/**
 * Hands a message back to its queue after the backoff for its delivery count:
 * its work met an infrastructure failure (D1 overloaded or down, a Durable
 * Object unreachable), which is back-pressure, so it waits longer each time.
 */
export function retryLater(message: Message<unknown>): void {
  message.retry({ delaySeconds: infraRetryDelaySeconds(message.attempts) });
}

/**
 * Runs `work` for every message of a batch at once (its body, and how many
 * times the queue has delivered it, this time included), acking each message
 * only when its work succeeded and retrying the rest with growing delays.
 * Never acks failed work: that would lose it silently.
 */
export async function settleEach<Body>(
  batch: { queue: string; messages: readonly Message<Body>[] },
  work: (body: Body, deliveries: number) => Promise<void>,
  failure: string,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await work(message.body, message.attempts);
        message.ack();
      } catch (error) {
        console.error(failure, {
          queue: batch.queue,
          body: message.body,
          attempts: message.attempts,
          error: String(error),
        });
        retryLater(message);
      }
    }),
  );
}

/**
 * Runs `work` once for all the messages, whose work is done together (one
 * round trip for all of them): acks them all when it succeeded, otherwise
 * retries each with growing delays. Never acks failed work.
 */
export async function settleTogether<Body>(
  batch: { queue: string; messages: readonly Message<Body>[] },
  work: (bodies: Body[]) => Promise<void>,
  failure: string,
): Promise<void> {
  if (batch.messages.length === 0) return;
  try {
    await work(batch.messages.map((message) => message.body));
    for (const message of batch.messages) message.ack();
  } catch (error) {
    console.error(failure, {
      queue: batch.queue,
      bodies: batch.messages.map((message) => message.body),
      error: String(error),
    });
    for (const message of batch.messages) retryLater(message);
  }
}

/**
 * A dead-letter queue's consumer: puts every message back on its queue with
 * `send` (a job's on the queue its id names), `infraRetryMaxDelaySeconds`
 * later, so a message that used up its retries (an outage longer than they
 * last, or an older deployment's fixed retries) only waits longer; its work
 * decides nothing here. The delay keeps the round trip from looping hot;
 * duplicates are harmless (a job's tracker answers a second message `skip`,
 * a callback attempt is claimed once). Failed sends are retried with
 * growing delays.
 */
export function requeueDeadLetters<Body>(
  batch: MessageBatch<Body>,
  send: (messages: MessageSendRequest<Body>[]) => Promise<unknown>,
): Promise<void> {
  return settleTogether(
    batch,
    async (bodies) => {
      await send(bodies.map((body) => ({ body, delaySeconds: limits.infraRetryMaxDelaySeconds })));
    },
    "dead-lettered messages could not be put back on their queue; retrying",
  );
}
