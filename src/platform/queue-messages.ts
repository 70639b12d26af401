/**
 * Runs `work` for every message of a batch at once, acking each message only
 * when its work succeeded and leaving the rest to the queue's retries (and,
 * after them, the dead-letter queue). Never acks failed work: that would lose
 * it silently.
 */
export async function settleEach<Body>(
  batch: { queue: string; messages: readonly Message<Body>[] },
  work: (body: Body) => Promise<void>,
  failure: string,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await work(message.body);
        message.ack();
      } catch (error) {
        console.error(failure, {
          queue: batch.queue,
          body: message.body,
          attempts: message.attempts,
          error: String(error),
        });
        message.retry();
      }
    }),
  );
}

/**
 * Runs `work` once for all the messages, whose work is done together (one
 * round trip for all of them): acks them all when it succeeded, otherwise
 * leaves them all to the queue's retries. Never acks failed work.
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
    for (const message of batch.messages) message.retry();
  }
}
