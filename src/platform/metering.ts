import type { Env } from "../env";

/**
 * Counts the billable operations the service causes, for `npm run bench`'s
 * cost per job. Off unless METERING is "true" (the benchmark sets it): then
 * the bindings are wrapped and every call is counted where it happens. The
 * counters live in the isolate; under `wrangler dev` the Worker and its
 * Durable Objects share one, so one read sees everything.
 */
export type Operation =
  | "worker_requests"
  | "queue_operations"
  | "d1_rows_read"
  | "d1_rows_written"
  | "do_requests"
  | "do_storage_writes"
  | "r2_class_a"
  | "r2_class_b";

const counts = new Map<Operation, number>();

export function countOperation(operation: Operation, n = 1): void {
  counts.set(operation, (counts.get(operation) ?? 0) + n);
}

export function readMeter(): Record<string, number> {
  return Object.fromEntries(counts);
}

export function resetMeter(): void {
  counts.clear();
}

export const meteringOn = (env: Pick<Env, "METERING">) => env.METERING === "true";

const wrapped = new WeakMap<object, Env>();

/** The bindings, counted when metering is on; the same object otherwise. */
export function metered(env: Env): Env {
  if (!meteringOn(env)) return env;
  const known = wrapped.get(env);
  if (known) return known;
  const result: Env = {
    ...env,
    DB: meterD1(env.DB),
    BLOBS: meterR2(env.BLOBS),
    JOBS: meterQueue(env.JOBS),
    CALLBACKS: meterQueue(env.CALLBACKS),
    JOB_TRACKER: meterNamespace(env.JOB_TRACKER),
    ORIGIN_GATE: meterNamespace(env.ORIGIN_GATE),
    RATE_LIMITER: meterNamespace(env.RATE_LIMITER),
  };
  wrapped.set(env, result);
  return result;
}

function countMeta(meta: { rows_read?: number; rows_written?: number } | undefined) {
  countOperation("d1_rows_read", meta?.rows_read ?? 0);
  countOperation("d1_rows_written", meta?.rows_written ?? 0);
}

const originals = new WeakMap<object, D1PreparedStatement>();

function meterStatement(statement: D1PreparedStatement): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, property) {
      if (property === "bind") return (...values: unknown[]) => meterStatement(target.bind(...values));
      if (property === "run" || property === "all") {
        return async () => {
          const result = await target[property]();
          countMeta(result.meta);
          return result;
        };
      }
      // first() does not report its meta: read through all(), which does.
      if (property === "first") {
        return async (column?: string) => {
          const result = await target.all<Record<string, unknown>>();
          countMeta(result.meta);
          const row = result.results[0] ?? null;
          return column === undefined ? row : (row?.[column] ?? null);
        };
      }
      return Reflect.get(target, property, target);
    },
  });
  originals.set(proxy, statement);
  return proxy;
}

function meterD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (sql: string) => meterStatement(target.prepare(sql));
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => originals.get(s) ?? s));
          for (const result of results) countMeta(result.meta);
          return results;
        };
      }
      return Reflect.get(target, property, target);
    },
  });
}

function meterR2(bucket: R2Bucket): R2Bucket {
  const classA = new Set(["put", "delete", "list", "createMultipartUpload"]);
  const classB = new Set(["get", "head"]);
  return new Proxy(bucket, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        if (classA.has(property)) countOperation("r2_class_a");
        if (classB.has(property)) countOperation("r2_class_b");
        return Reflect.apply(value, target, args);
      };
    },
  });
}

/** A message costs three operations (write, read, delete) per 64 KiB; ours are tiny. */
function meterQueue<Body>(queue: Queue<Body>): Queue<Body> {
  return new Proxy(queue, {
    get(target, property) {
      if (property === "send") {
        return (body: Body, options?: QueueSendOptions) => {
          countOperation("queue_operations", 3);
          return target.send(body, options);
        };
      }
      if (property === "sendBatch") {
        return (messages: Iterable<MessageSendRequest<Body>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          countOperation("queue_operations", 3 * list.length);
          return target.sendBatch(list, options);
        };
      }
      return Reflect.get(target, property, target);
    },
  });
}

/** Every call on a stub (an RPC method or fetch) is one Durable Object request. */
function meterNamespace<T extends object>(namespace: T): T {
  return new Proxy(namespace, {
    get(target, property) {
      if (property !== "getByName") return Reflect.get(target, property, target);
      const getByName = Reflect.get(target, property, target) as (name: string) => object;
      return (name: string) => {
        const stub = getByName.call(target, name) as Record<string | symbol, unknown>;
        return new Proxy(stub, {
          get(stubTarget, method) {
            const value = Reflect.get(stubTarget, method);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
              countOperation("do_requests");
              return Reflect.apply(value as (...a: unknown[]) => unknown, stubTarget, args);
            };
          },
        });
      };
    },
  });
}
