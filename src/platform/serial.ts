/**
 * A runner that starts each call's work after every earlier call's work has
 * settled, in call order. A Durable Object admits new requests while one
 * awaits I/O, so work that reads, decides and writes must be queued to see
 * what the work before it wrote. A failure goes to that work's caller; the
 * next work still runs.
 */
export function serialRunner(): <T>(work: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
}
