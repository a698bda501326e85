// The routers the simulator compares. The Mesh policies run as they do in production: the real
// Mesh.route() and Mesh.report() on a Mesh whose clock is the simulation's, so what the simulator
// measures is what ships. `random` is the baseline of the published comparisons; `oracle` knows
// every engine's cache and queue exactly and picks the least predicted time to first token, an
// upper bound no real router reaches.
import { Mesh, type Route } from '../mesh/Mesh.js';
import { seededRandom } from '../mesh/random.js';
import type { Engine, SeqResult } from './Engine.js';
import type { Fleet } from './fleets.js';
import type { SimRequest } from './workloads.js';

/** A routing policy under simulation. */
export interface SimRouter {
  readonly name: string;
  /** The endpoint (index into the fleet) for a request arriving at `nowS`. */
  pick(request: SimRequest, nowS: number): number;
  /** The request ended (answered, or dropped by its client). */
  done(index: number, result: SeqResult, nowS: number): void;
  /** Wall-clock microseconds of each decision (its route and its report), in order. */
  readonly micros: number[];
  readonly decisions: number;
}

/** The Mesh policies the simulator runs through Mesh.route. */
export const kMeshPolicies = ['swrr', 'p2c', 'ring-hash'] as const;
/** Every policy name the simulator knows. */
export const kSimPolicies = [...kMeshPolicies, 'random', 'oracle'] as const;
export type SimPolicy = (typeof kSimPolicies)[number];

class MeshRouter implements SimRouter {
  readonly name: string;
  readonly micros: number[] = [];
  decisions = 0;
  readonly #mesh: Mesh;
  readonly #index = new Map<string, number>();
  // Each request's route, and the index of its decision in `micros` (its report's time is added there).
  readonly #routes = new Map<number, { route: Route; decision: number }>();
  readonly #ring: boolean;
  #nowMs = 0;

  constructor(policy: (typeof kMeshPolicies)[number], fleet: Fleet, seed: number) {
    this.name = policy;
    this.#ring = policy === 'ring-hash';
    this.#mesh = new Mesh({ clock: () => this.#nowMs, random: seededRandom(seed) });
    fleet.endpoints.forEach((e, i) => this.#index.set(e.id, i));
    this.#mesh.apply({
      services: [
        {
          name: 'llm',
          policy,
          // Prompt-prefix affinity: the key is the prompt's first KV block (as a sidecar keyed on the prompt's start).
          ...(this.#ring ? { ring: { boundedLoad: 1.25 } } : {}),
          // Clients time out on slow endpoints; that is no reason to eject one from a simulated fleet.
          outlier: { consecutiveFailures: 1_000_000 },
          endpoints: fleet.endpoints.map((e, i) => ({ id: e.id, address: `127.0.0.1:${10_000 + i}`, resources: { accelerator: e.accelerator, count: e.count ?? 1 } })),
        },
      ],
    });
  }

  pick(request: SimRequest, nowS: number): number {
    this.#nowMs = nowS * 1000;
    const start = performance.now();
    const route = this.#mesh.route(this.#ring ? { service: 'llm', key: request.key } : { service: 'llm' });
    this.micros.push((performance.now() - start) * 1000);
    this.#routes.set(request.id, { route, decision: this.decisions++ });
    return this.#index.get(route.endpoint.id)!;
  }

  done(_index: number, result: SeqResult, nowS: number): void {
    this.#nowMs = nowS * 1000;
    const { route, decision } = this.#routes.get(result.request.id)!;
    this.#routes.delete(result.request.id);
    const start = performance.now();
    this.#mesh.report(route, result.ok ? { status: 200, latencyMs: (result.endS - result.request.arrivalS) * 1000 } : { status: 504, latencyMs: (nowS - result.request.arrivalS) * 1000 });
    this.micros[decision]! += (performance.now() - start) * 1000;
  }
}

class RandomRouter implements SimRouter {
  readonly name = 'random';
  readonly micros: number[] = [];
  decisions = 0;
  readonly #random;
  constructor(readonly size: number, seed: number) {
    this.#random = seededRandom(seed);
  }
  pick(): number {
    const start = performance.now();
    this.decisions++;
    const pick = Math.floor(this.#random() * this.size);
    this.micros.push((performance.now() - start) * 1000);
    return pick;
  }
  done(): void {}
}

/**
 * Least predicted time to first token, from the engines' true state: the prompt tokens queued
 * ahead of it plus its own uncached ones, at the engine's prefill rate, plus an iteration's fixed
 * cost per batch they fill.
 */
class OracleRouter implements SimRouter {
  readonly name = 'oracle';
  readonly micros: number[] = [];
  decisions = 0;
  constructor(readonly engines: readonly Engine[]) {}
  pick(request: SimRequest): number {
    const start = performance.now();
    let best = 0, bestS = Infinity;
    for (let i = 0; i < this.engines.length; i++) {
      const e = this.engines[i]!;
      const tokens = e.pendingPrefillTokens() + request.promptTokens - e.cachedTokensOf(request);
      const s = tokens * e.speed.betaS + (Math.ceil(tokens / e.maxBatchTokens) + 1) * e.speed.alphaS;
      if (s < bestS) [best, bestS] = [i, s];
    }
    this.micros.push((performance.now() - start) * 1000);
    this.decisions++;
    return best;
  }
  done(): void {}
}

export function makeRouter(policy: string, fleet: Fleet, engines: readonly Engine[], seed: number): SimRouter {
  if ((kMeshPolicies as readonly string[]).includes(policy)) return new MeshRouter(policy as (typeof kMeshPolicies)[number], fleet, seed);
  if (policy === 'random') return new RandomRouter(fleet.endpoints.length, seed);
  if (policy === 'oracle') return new OracleRouter(engines);
  throw new Error(`unknown policy ${policy}`);
}
