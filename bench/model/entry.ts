// The model check's Worker (`npm run bench -- --model`): the product,
// unchanged, with every D1 database behind a gate that admits one query at a
// time for a fixed service time, so the database, not this machine's CPU,
// bounds throughput — as D1's single thread does in production. Its config
// is generated from wrangler.toml by bench/model/config.ts.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";
import product, {
  JobTracker as ProductJobTracker,
  OriginGate as ProductOriginGate,
  RateLimiter as ProductRateLimiter,
  TenantSlots as ProductTenantSlots,
} from "../../src/index";

interface ModelEnv extends Env {
  D1_GATE: DurableObjectNamespace<D1Gate>;
  /** Milliseconds each query holds its database's gate. */
  MODEL_SERVICE_MS: string;
  /** Gates: D1 binding i goes through gate i mod MODEL_SHARDS. */
  MODEL_SHARDS: string;
}

/**
 * One emulated database: admits one query at a time, each for the service
 * time. Turns are chained timers, not wall-clock arithmetic: inside a
 * Durable Object `Date.now()` only moves with I/O, so it can lag.
 */
export class D1Gate extends DurableObject {
  #tail: Promise<void> = Promise.resolve();
  #admitted = 0;
  #waiting = 0;
  #mostWaiting = 0;

  /** Resolves when this caller's turn of `serviceMs` is over. */
  admit(serviceMs: number): Promise<void> {
    this.#admitted++;
    this.#mostWaiting = Math.max(this.#mostWaiting, ++this.#waiting);
    const turn = this.#tail.then(() => new Promise<void>((resolve) => setTimeout(resolve, serviceMs)));
    this.#tail = turn;
    return turn.then(() => {
      this.#waiting--;
    });
  }

  /** Queries admitted and the most that were waiting at once, for the check's report. */
  stats(): { admitted: number; mostWaiting: number } {
    return { admitted: this.#admitted, mostWaiting: this.#mostWaiting };
  }
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
      return [name, gatedD1(binding, () => model.D1_GATE.getByName(gate).admit(serviceMs))];
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

// The product's Durable Objects, handed the gated env.
export class JobTracker extends ProductJobTracker {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, gated(env));
  }
}
export class OriginGate extends ProductOriginGate {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, gated(env));
  }
}
export class RateLimiter extends ProductRateLimiter {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, gated(env));
  }
}
export class TenantSlots extends ProductTenantSlots {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, gated(env));
  }
}

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
