// The model check's Worker (`npm run bench -- --model`): the product,
// unchanged, with every D1 database behind a gate that admits one query at a
// time for a fixed service time, so the database, not this machine's CPU,
// bounds throughput — as D1's single thread does in production. Its config
// is generated from wrangler.toml by bench/model/config.ts.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";
import product, {
  BatchTracker as ProductBatchTracker,
  JobTracker as ProductJobTracker,
  KeyStreams as ProductKeyStreams,
  OriginGate as ProductOriginGate,
  RateLimiter as ProductRateLimiter,
  ScheduleTimer as ProductScheduleTimer,
  TenantSlots as ProductTenantSlots,
} from "../../src/index";
import { FifoServer } from "./queue";

interface ModelEnv extends Env {
  D1_GATE: DurableObjectNamespace<D1Gate>;
  /** Milliseconds each query holds its database's gate. */
  MODEL_SERVICE_MS: string;
  /** Gates: D1 binding i goes through gate i mod MODEL_SHARDS. */
  MODEL_SHARDS: string;
}

/**
 * One emulated database: a single-server FIFO queue (bench/model/queue.ts)
 * serving one query at a time for the service time. It holds no timers: it
 * answers each query's slot end and the caller sleeps until then (`admit`
 * below), so the slots follow arrivals, not how late this busy thread wakes
 * a chain of timers. Why no timers here: workerd's `Date.now()` is the event
 * loop's clock, re-read at the start of each request to a Durable Object,
 * but never past the object's earliest pending `setTimeout` (IoContext::now),
 * so a gate holding overdue timers would stamp arrivals late and push every
 * later slot back. Without timers, an arrival is stamped when its request
 * is taken up: never before the query arrived.
 */
export class D1Gate extends DurableObject {
  #server = new FifoServer();
  #admitted = 0;
  #mostWaiting = 0;

  /** The end (Unix ms) of the slot of `serviceMs` given to a query arriving now. */
  slot(serviceMs: number): number {
    const arrival = Date.now();
    const { end } = this.#server.admit(arrival, serviceMs);
    this.#admitted++;
    this.#mostWaiting = Math.max(this.#mostWaiting, Math.round((end - arrival) / serviceMs));
    return end;
  }

  /** Queries admitted and the most that were waiting or served at once (this one included), for the check's report. */
  stats(): { admitted: number; mostWaiting: number } {
    return { admitted: this.#admitted, mostWaiting: this.#mostWaiting };
  }
}

/**
 * Waits for a slot at the gate, then until it ends. The delay is taken from
 * the same `Date.now()` that setTimeout counts from, so the timer is due at
 * the slot's end on the loop's clock even when this context's clock lags.
 */
async function admit(gate: DurableObjectStub<D1Gate>, serviceMs: number): Promise<void> {
  const end = await gate.slot(serviceMs);
  await new Promise((resolve) => setTimeout(resolve, end - Date.now()));
}

const gatedEnvs = new WeakMap<object, Env>();

/** The env with each D1 database behind its gate; the same object for the same env. */
function gated(env: Env): Env {
  const known = gatedEnvs.get(env);
  if (known) return known;
  const model = env as ModelEnv;
  const serviceMs = Number(model.MODEL_SERVICE_MS);
  const shards = Number(model.MODEL_SHARDS);
  let index = 0;
  const result = Object.fromEntries(
    Object.entries(env).map(([name, binding]) => {
      if (!isD1(binding)) return [name, binding];
      const gate = `gate-${index++ % shards}`;
      // A stub belongs to the request that made it: one per query.
      return [name, gatedD1(binding, () => admit(model.D1_GATE.getByName(gate), serviceMs))];
    }),
  ) as unknown as Env;
  gatedEnvs.set(env, result);
  return result;
}

const isD1 = (binding: unknown): binding is D1Database =>
  typeof binding === "object" &&
  binding !== null &&
  typeof (binding as D1Database).prepare === "function" &&
  typeof (binding as D1Database).batch === "function";

const ungated = new WeakMap<object, D1PreparedStatement>();

/** Every call that reaches the database (a statement's run/all/first/raw, a batch, exec) waits for the gate first. */
function gatedD1(db: D1Database, admit: () => Promise<void>): D1Database {
  const statement = (inner: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === "bind") return (...values: unknown[]) => statement(target.bind(...values));
        if (typeof value !== "function" || !["run", "all", "first", "raw"].includes(String(property))) return value;
        return async (...args: unknown[]) => {
          await admit();
          return Reflect.apply(value, target, args);
        };
      },
    });
    ungated.set(proxy, inner);
    return proxy;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (sql: string) => statement(target.prepare(sql));
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await admit();
          return target.batch(statements.map((s) => ungated.get(s) ?? s));
        };
      }
      if (property === "exec") {
        return async (sql: string) => {
          await admit();
          return target.exec(sql);
        };
      }
      return Reflect.get(target, property, target);
    },
  });
}

/** A Durable Object class of the product whose instances are handed the gated env. */
function withGatedEnv<C extends new (ctx: DurableObjectState, env: Env) => object>(Product: C): C {
  const Base = Product as new (ctx: DurableObjectState, env: Env) => object;
  return class extends Base {
    constructor(ctx: DurableObjectState, env: Env) {
      super(ctx, gated(env));
    }
  } as C;
}

// The product's Durable Objects, handed the gated env.
export const JobTracker = withGatedEnv(ProductJobTracker);
export const OriginGate = withGatedEnv(ProductOriginGate);
export const RateLimiter = withGatedEnv(ProductRateLimiter);
export const TenantSlots = withGatedEnv(ProductTenantSlots);
export const BatchTracker = withGatedEnv(ProductBatchTracker);
export const ScheduleTimer = withGatedEnv(ProductScheduleTimer);
export const KeyStreams = withGatedEnv(ProductKeyStreams);

/** The gates' counters, for the check's report (a path the product does not serve). */
async function gateStats(env: Env): Promise<Response> {
  const model = env as ModelEnv;
  const shards = Number(model.MODEL_SHARDS);
  const stats = await Promise.all(
    Array.from({ length: shards }, (_, i) => model.D1_GATE.getByName(`gate-${i}`).stats()),
  );
  return Response.json(stats);
}

export default {
  fetch: (request, env, ctx) =>
    new URL(request.url).pathname === "/__model/gates" ? gateStats(env) : product.fetch(request, gated(env), ctx),
  queue: (batch, env) => product.queue(batch, gated(env)),
  scheduled: (controller, env) => product.scheduled(controller, gated(env)),
} satisfies ExportedHandler<Env, never>;
