/**
 * The bindings `<prefix>0`, `<prefix>1`, … in order, up to the first number
 * not bound: how wrangler.toml states a count of like resources (the job
 * shards `SHARD_<k>`, the jobs queues `JOBS_<k>`). Empty when `<prefix>0`
 * is not bound; the caller decides whether that may start.
 */
export function numberedBindings<T>(env: object, prefix: string): T[] {
  const bindings = env as Record<string, T | undefined>;
  const found: T[] = [];
  for (let k = 0; bindings[`${prefix}${k}`] !== undefined; k++) found.push(bindings[`${prefix}${k}`] as T);
  return found;
}
