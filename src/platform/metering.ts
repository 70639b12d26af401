import { parseConfig, type SettingVariables } from "../config";
import type { Env } from "../env";

/**
 * Counts the operations the service causes, for `npm run bench`'s cost per
 * job and its capacity model. Off unless METERING is "true" (the benchmark
 * sets it): then the bindings are wrapped and every call is counted where it
 * happens; otherwise nothing is wrapped and nothing is counted. The counters
 * live in the isolate; under `wrangler dev` the Worker and its Durable Objects
 * share one, so one read sees everything.
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

const counts = new Map<string, number>();
/** Requests per Durable Object, keyed "<binding>\u0000<name or id>": the busiest one's load. */
const objectRequests = new Map<string, number>();
/** Per D1 binding: the database's size (bytes) when first and last seen since the reset. */
const databaseSizes = new Map<string, { first: number; last: number }>();
/** Outbound fetches in flight per origin now, and the most seen at once. */
const inFlight = new Map<string, number>();
let peakInFlightPerOrigin = 0;

function add(key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** Counts a billable operation (priced by bench/prices.json). */
export function countOperation(operation: Operation, n = 1): void {
  add(operation, n);
}

/**
 * Everything counted since the last reset, flat: the billable operations by
 * their `Operation` name (totals over all bindings), and per binding
 * (`wrangler.toml`'s names):
 * - `d1:<binding>:round_trips` (calls that reach the database: a batch is one),
 *   `…:statements`, `…:rows_read`, `…:rows_written`, `…:bytes_stored` (growth
 *   of the database's size, from D1's `size_after`);
 * - `queue:<binding>:messages`, `…:operations` (billed: 3 per message of ≤ 64 KiB);
 * - `do:<binding>:requests`, `…:busiest_object_requests` (the one object with most);
 * - `r2:<binding>:bytes_put`;
 * - `outbound:requests` and `outbound:peak_in_flight_per_origin`: `fetch`es
 *   to other origins (callbacks), and the most in flight at once to one
 *   origin. Locally a queue runs one batch at a time, so that is one
 *   invocation's (production caps it at 6 simultaneous connections).
 */
export function readMeter(): Record<string, number> {
  const result = Object.fromEntries(counts);
  const busiest = new Map<string, number>();
  for (const [key, n] of objectRequests) {
    const binding = key.slice(0, key.indexOf("\u0000"));
    busiest.set(binding, Math.max(busiest.get(binding) ?? 0, n));
  }
  for (const [binding, n] of busiest) result[`do:${binding}:busiest_object_requests`] = n;
  for (const [binding, size] of databaseSizes) result[`d1:${binding}:bytes_stored`] = size.last - size.first;
  if (peakInFlightPerOrigin > 0) result["outbound:peak_in_flight_per_origin"] = peakInFlightPerOrigin;
  return result;
}

export function resetMeter(): void {
  counts.clear();
  objectRequests.clear();
  databaseSizes.clear();
  peakInFlightPerOrigin = Math.max(0, ...inFlight.values());
}

export const meteringOn = (env: SettingVariables) => parseConfig(env).metering;

const wrapped = new WeakMap<object, Env>();

/**
 * The bindings, counted when metering is on; the same object otherwise.
 * Every D1 database, R2 bucket, queue and Durable Object namespace in `env`
 * is counted under its binding name, however many there are. Turning it on
 * also counts the isolate's outbound `fetch`es.
 */
export function metered(env: Env): Env {
  if (!meteringOn(env)) return env;
  const known = wrapped.get(env);
  if (known) return known;
  meterOutboundFetch();
  const result = Object.fromEntries(
    Object.entries(env).map(([name, binding]) => [name, meterBinding(name, binding)]),
  ) as unknown as Env;
  wrapped.set(env, result);
  return result;
}

/** Tells bindings apart by their methods: `env` carries no types at run time. */
function meterBinding(name: string, binding: unknown): unknown {
  if (typeof binding !== "object" || binding === null) return binding;
  const has = (method: string) => typeof (binding as Record<string, unknown>)[method] === "function";
  if (has("prepare") && has("batch")) return meterD1(name, binding as D1Database);
  if (has("sendBatch")) return meterQueue(name, binding as Queue<unknown>);
  if (has("createMultipartUpload")) return meterR2(name, binding as R2Bucket);
  if (has("idFromName")) return meterNamespace(name, binding as DurableObjectNamespace);
  return binding;
}

type D1Meta = { rows_read?: number; rows_written?: number; size_after?: number };

function countMeta(binding: string, meta: D1Meta | undefined) {
  countOperation("d1_rows_read", meta?.rows_read ?? 0);
  countOperation("d1_rows_written", meta?.rows_written ?? 0);
  add(`d1:${binding}:rows_read`, meta?.rows_read ?? 0);
  add(`d1:${binding}:rows_written`, meta?.rows_written ?? 0);
  if (typeof meta?.size_after === "number") {
    const size = databaseSizes.get(binding);
    if (size) size.last = meta.size_after;
    else databaseSizes.set(binding, { first: meta.size_after, last: meta.size_after });
  }
}

function countRoundTrip(binding: string, statements: number) {
  add(`d1:${binding}:round_trips`, 1);
  add(`d1:${binding}:statements`, statements);
}

const originals = new WeakMap<object, D1PreparedStatement>();

function meterStatement(binding: string, statement: D1PreparedStatement): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, property) {
      if (property === "bind") {
        return (...values: unknown[]) => meterStatement(binding, target.bind(...values));
      }
      if (property === "run" || property === "all") {
        return async () => {
          countRoundTrip(binding, 1);
          const result = await target[property]();
          countMeta(binding, result.meta);
          return result;
        };
      }
      // first() and raw() do not report their meta: read through all(), which does.
      if (property === "first") {
        return async (column?: string) => {
          countRoundTrip(binding, 1);
          const result = await target.all<Record<string, unknown>>();
          countMeta(binding, result.meta);
          const row = result.results[0] ?? null;
          return column === undefined ? row : (row?.[column] ?? null);
        };
      }
      if (property === "raw") {
        return async (options?: { columnNames?: boolean }) => {
          countRoundTrip(binding, 1);
          return options?.columnNames ? target.raw({ columnNames: true }) : target.raw();
        };
      }
      return Reflect.get(target, property, target);
    },
  });
  originals.set(proxy, statement);
  return proxy;
}

function meterD1(binding: string, db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (sql: string) => meterStatement(binding, target.prepare(sql));
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          countRoundTrip(binding, statements.length);
          const results = await target.batch(statements.map((s) => originals.get(s) ?? s));
          for (const result of results) countMeta(binding, result.meta);
          return results;
        };
      }
      if (property === "exec") {
        return async (sql: string) => {
          const result = await target.exec(sql);
          countRoundTrip(binding, result.count);
          return result;
        };
      }
      return Reflect.get(target, property, target);
    },
  });
}

/**
 * R2's billed classes by binding method: `DeleteObject` is a free operation,
 * so `delete` counts in neither (developers.cloudflare.com/r2/pricing, "Free
 * operations", read 2026-12-01).
 */
function meterR2(binding: string, bucket: R2Bucket): R2Bucket {
  const classA = new Set(["put", "list", "createMultipartUpload"]);
  const classB = new Set(["get", "head"]);
  return new Proxy(bucket, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        if (classA.has(property)) countOperation("r2_class_a");
        if (classB.has(property)) countOperation("r2_class_b");
        const result = Reflect.apply(value, target, args);
        if (property !== "put") return result;
        // The stored object's size, whatever the body was (string, buffer or stream).
        return (result as Promise<R2Object | null>).then((object) => {
          add(`r2:${binding}:bytes_put`, object?.size ?? 0);
          return object;
        });
      };
    },
  });
}

/** A message costs three operations (write, read, delete) per 64 KiB; ours are tiny. */
function meterQueue<Body>(binding: string, queue: Queue<Body>): Queue<Body> {
  const count = (messages: number) => {
    countOperation("queue_operations", 3 * messages);
    add(`queue:${binding}:messages`, messages);
    add(`queue:${binding}:operations`, 3 * messages);
  };
  return new Proxy(queue, {
    get(target, property) {
      if (property === "send") {
        return (body: Body, options?: QueueSendOptions) => {
          count(1);
          return target.send(body, options);
        };
      }
      if (property === "sendBatch") {
        return (messages: Iterable<MessageSendRequest<Body>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          count(list.length);
          return target.sendBatch(list, options);
        };
      }
      return Reflect.get(target, property, target);
    },
  });
}

/** Every call on a stub (an RPC method or fetch) is one Durable Object request, counted per object. */
function meterNamespace(binding: string, namespace: DurableObjectNamespace): DurableObjectNamespace {
  const meterStub = (object: string, stub: DurableObjectStub) =>
    new Proxy(stub as unknown as Record<string | symbol, unknown>, {
      get(stubTarget, method) {
        const value = Reflect.get(stubTarget, method);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          countOperation("do_requests");
          add(`do:${binding}:requests`, 1);
          const key = `${binding}\u0000${object}`;
          objectRequests.set(key, (objectRequests.get(key) ?? 0) + 1);
          return Reflect.apply(value as (...a: unknown[]) => unknown, stubTarget, args);
        };
      },
    }) as unknown as DurableObjectStub;
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName") {
        return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
          meterStub(name, target.getByName(name, options));
      }
      if (property === "get") {
        return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
          meterStub(id.toString(), target.get(id, options));
      }
      return Reflect.get(target, property, target);
    },
  });
}

let fetchMetered = false;

/**
 * Wraps the isolate's `fetch` once, counting requests and how many are in
 * flight to one origin at once (until the response's headers arrive, as the
 * platform's connection limit counts them).
 */
function meterOutboundFetch(): void {
  if (fetchMetered) return;
  fetchMetered = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const origin = URL.canParse(url) ? new URL(url).origin : url;
    add("outbound:requests", 1);
    const now = (inFlight.get(origin) ?? 0) + 1;
    inFlight.set(origin, now);
    peakInFlightPerOrigin = Math.max(peakInFlightPerOrigin, now);
    try {
      return await original(input, init);
    } finally {
      const left = (inFlight.get(origin) ?? 1) - 1;
      if (left === 0) inFlight.delete(origin);
      else inFlight.set(origin, left);
    }
  };
}
